using System.Diagnostics;
using System.Globalization;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Benchmarks;

/// <summary>
/// Cost per packet as work grows: N TCP connections between two simulated hosts, each writing one full segment
/// per round and the reader on epoll, for 1, 100 and 10,000 connections; simulated segments (both directions, ACKs included) per wall second.
/// A flat cost means the figure stays within 2× of the single connection's. A last row keeps 1,000 idle connections
/// beside the one busy connection, each with a timer armed two hours out (keepalive_time: Xmit does not model keepalive
/// probes, so a plain timer stands in for each idle connection's keepalive timer): what 1,000 armed timers that never
/// fire cost the busy connection's events.
/// </summary>
public static class TcpScaling
{
    public static void Run(TextWriter o)
    {
        Measure(1, totalWrites: 100_000); // warm-up: the JIT's tiers are not charged to the first row
        foreach (int n in new[] { 1, 100, 10_000 })
        {
            var (segments, seconds) = Measure(n, totalWrites: 400_000);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{n,6} connections: {segments / seconds / 1e6:0.000} M segments per wall second ({segments:N0} segments in {seconds:0.00} s)"));
        }
        var (s1, t1) = Measure(1, totalWrites: 400_000, idle: 1_000);
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"     1 connection + 1,000 idle with a timer each: {s1 / t1 / 1e6:0.000} M segments per wall second ({s1:N0} segments in {t1:0.00} s)"));
    }

    /// <summary>
    /// Opens <paramref name="connections"/> busy and <paramref name="idle"/> idle connections (a timer armed two hours out
    /// for each idle one), then writes <paramref name="totalWrites"/> segments round-robin over the busy ones.
    /// </summary>
    private static (long Segments, double Seconds) Measure(int connections, int totalWrites, int idle = 0)
    {
        var net = new BenchNet(new LinkConfig { RateBitsPerSecond = 100_000_000_000, Propagation = Duration.FromMicroseconds(10) });
        using var sim = net.Sim;
        var (a, b, sa, sb) = (net.A, net.B, net.SysA, net.SysB);
        int listener = net.Listen(5201, backlog: 4096);
        int all = connections + idle;
        var clients = new int[all];
        var servers = new List<int>(all);
        for (int i = 0; i < all; i++)
        {
            clients[i] = sa.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
            sa.Connect(clients[i], new SockAddrIn(BenchNet.AddrB, 5201));
            if (i % 256 == 255 || i == all - 1)
            {
                sim.RunFor(Duration.FromMilliseconds(1));
                int s;
                while ((s = sb.Accept(listener, out _)) >= 0) servers.Add(s);
            }
        }
        while (servers.Count < all)
        {
            sim.RunFor(Duration.FromMilliseconds(1));
            int s;
            while ((s = sb.Accept(listener, out _)) >= 0) servers.Add(s);
        }
        var keepalive = Duration.FromSeconds(7200); // tcp_keepalive_time
        for (int i = 0; i < idle; i++) new Timer(sim.Scheduler, static () => { }, "keepalive").ArmAfter(keepalive);
        // The reader waits on epoll like a server with many clients: only the connections with data are read.
        int epfd = sb.EpollCreate();
        foreach (int s in servers) sb.EpollCtl(epfd, Ev.EPOLL_CTL_ADD, s, new EpollEvent(Ev.EPOLLIN, (ulong)s));
        var events = new EpollEvent[1024];
        var segment = new byte[1448];
        var sink = new byte[65536];
        long segs0 = a.Tcp.Mib.OutSegs + b.Tcp.Mib.OutSegs;
        var sw = Stopwatch.StartNew();
        for (int written = 0; written < totalWrites;)
        {
            for (int i = 0; i < connections && written < totalWrites; i++, written++) sa.Write(clients[i], segment);
            sim.RunFor(Duration.FromMicroseconds(50));
            int ready;
            while ((ready = sb.EpollWait(epfd, events, 0)) > 0)
                for (int k = 0; k < ready; k++) while (sb.Read((int)events[k].Data, sink) > 0) { }
        }
        sim.RunFor(Duration.FromMilliseconds(5));
        sw.Stop();
        long segments = a.Tcp.Mib.OutSegs + b.Tcp.Mib.OutSegs - segs0;
        sim.Shutdown();
        return (segments, sw.Elapsed.TotalSeconds);
    }
}
