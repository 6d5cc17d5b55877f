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
/// A flat cost means the figure stays within 2× of the single connection's.
/// </summary>
public static class TcpScaling
{
    public static void Run(TextWriter o)
    {
        foreach (int n in new[] { 1, 100, 10_000 })
        {
            var (segments, seconds) = Measure(n, totalWrites: 400_000);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{n,6} connections: {segments / seconds / 1e6:0.000} M segments per wall second ({segments:N0} segments in {seconds:0.00} s)"));
        }
    }

    private static (long Segments, double Seconds) Measure(int connections, int totalWrites)
    {
        var net = new BenchNet(new LinkConfig { RateBitsPerSecond = 100_000_000_000, Propagation = Duration.FromMicroseconds(10) });
        using var sim = net.Sim;
        var (a, b, sa, sb) = (net.A, net.B, net.SysA, net.SysB);
        int listener = net.Listen(5201, backlog: 4096);
        var clients = new int[connections];
        var servers = new List<int>(connections);
        for (int i = 0; i < connections; i++)
        {
            clients[i] = sa.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
            sa.Connect(clients[i], new SockAddrIn(BenchNet.AddrB, 5201));
            if (i % 256 == 255 || i == connections - 1)
            {
                sim.RunFor(Duration.FromMilliseconds(1));
                int s;
                while ((s = sb.Accept(listener, out _)) >= 0) servers.Add(s);
            }
        }
        while (servers.Count < connections)
        {
            sim.RunFor(Duration.FromMilliseconds(1));
            int s;
            while ((s = sb.Accept(listener, out _)) >= 0) servers.Add(s);
        }
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
