using System.Text.Json;
using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Tcp;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// A listener's queues against Linux 6.18 measured by scripts/linux-tcp-listen-overflow.sh
/// (linux-truth/tcp-listen-overflow.json): 300 clients connecting one after the other to a backlog of 128 that is
/// not accepted, and 1,000 spoofed SYNs followed by a real client — the same counters, accept queue and SYN queue.
/// </summary>
public class TcpListenOverflowTests
{
    private const int NonBlockingStream = SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK;

    private static readonly JsonElement Truth = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "tcp-listen-overflow.json"))).RootElement;

    private static readonly string[] Counters =
        ["ListenOverflows", "ListenDrops", "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed", "TCPReqQFullDoCookies",
         "TCPReqQFullDrop", "EmbryonicRsts", "TCPSynRetrans", "PassiveOpens", "RetransSegs"];

    private static void AssertCounters(JsonElement expected, TcpMib mib, Dictionary<string, long> before, string when)
    {
        var now = mib.All().ToDictionary(c => c.Item1, c => c.Item2);
        foreach (var name in Counters)
        {
            long want = expected.GetProperty(name).GetInt64();
            long got = now.GetValueOrDefault(name) - before.GetValueOrDefault(name);
            Assert.True(want == got, $"{when}: {name} is {got}, Linux {want}");
        }
    }

    private static (Syscalls Sb, int Fd, TcpSock Sk) Listen(TwoHosts net, ushort port, int backlog)
    {
        var sb = new Syscalls(net.B);
        int fd = sb.Socket(Af.AF_INET, NonBlockingStream, 0);
        Assert.Equal(0, sb.Bind(fd, new SockAddrIn(TwoHosts.AddrB, port)));
        Assert.Equal(0, sb.Listen(fd, backlog));
        return (sb, fd, ((TcpSocketFile)sb.File(fd)!).Sk);
    }

    [Fact]
    public void Clients_beyond_a_full_accept_queue_are_dropped_at_the_SYN_as_Linux_drops_them()
    {
        var run = Truth.GetProperty("accept_overflow");
        int clients = run.GetProperty("clients").GetInt32(), backlog = run.GetProperty("listen_backlog").GetInt32();
        var first = run.GetProperty("after_connects");
        using var net = new TwoHosts(LinkConfig.Veth, trackAllocations: false);
        net.WarmUp();
        var (sb, lfd, listener) = Listen(net, 7000, backlog);
        var before = net.B.Tcp.Mib.All().ToDictionary(c => c.Item1, c => c.Item2);
        var sa = new Syscalls(net.A);
        var cs = new int[clients];
        // One after the other at the pace of Linux's loop; on a veth each handshake completes before the next connect.
        var pace = Duration.FromMicroseconds((long)(first.GetProperty("connect_loop_ms").GetDouble() * 1000 / clients));
        for (int i = 0; i < clients; i++)
        {
            cs[i] = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
            Assert.Equal(-(int)Errno.EINPROGRESS, sa.Connect(cs[i], new SockAddrIn(TwoHosts.AddrB, 7000)));
            net.RunFor(pace);
        }
        net.RunForMs(500);
        AssertCounters(first.GetProperty("counters"), net.B.Tcp.Mib, before, "after the connects");
        Assert.Equal(first.GetProperty("accept_queue").GetInt32(), listener.AcceptQueueLength);
        Assert.Equal(first.GetProperty("syn_queue").GetInt32(), listener.SynQueueLength);
        Assert.Equal(first.GetProperty("clients_connected").GetInt32(),
            cs.Count(c => ((TcpSocketFile)sa.File(c)!).Sk.State == TcpState.Established));

        // Then every client writes 100 bytes once connected and the server accepts and reads: all get through.
        var done = run.GetProperty("after_accepting");
        var accepted = new List<int>();
        var unsent = new HashSet<int>(cs);
        var payload = new byte[100];
        var buf = new byte[4096];
        long got = 0;
        var deadline = net.Sim.Now + Duration.FromSeconds(60);
        while ((accepted.Count < clients || got < clients * 100L) && net.Sim.Now < deadline)
        {
            foreach (int c in unsent.ToArray())
                if (((TcpSocketFile)sa.File(c)!).Sk.State == TcpState.Established)
                {
                    Assert.Equal(100, sa.Write(c, payload));
                    unsent.Remove(c);
                }
            for (int fd; (fd = sb.Accept(lfd, out _)) >= 0;) accepted.Add(fd);
            foreach (int fd in accepted)
                for (int r; (r = sb.Recv(fd, buf, MsgFlags.DontWait)) > 0;) got += r;
            net.RunForMs(1);
        }
        Assert.Equal(done.GetProperty("accepted").GetInt32(), accepted.Count);
        Assert.Equal(done.GetProperty("bytes").GetInt64(), got);
        Assert.Equal(net.B.Tcp.Mib.ListenOverflows, net.B.Tcp.Mib.ListenDrops);
    }

    [Fact]
    public void A_SYN_flood_fills_the_SYN_queue_to_backlog_plus_one_and_the_rest_get_cookies_as_on_Linux()
    {
        var run = Truth.GetProperty("syn_flood");
        int syns = run.GetProperty("syns").GetInt32(), backlog = run.GetProperty("listen_backlog").GetInt32();
        using var net = new TwoHosts(LinkConfig.Veth, trackAllocations: false);
        ListenFrames.RouteSpoofedSourcesViaA(net);
        net.WarmUp();
        var (sb, lfd, listener) = Listen(net, 7001, backlog);
        var before = net.B.Tcp.Mib.All().ToDictionary(c => c.Item1, c => c.Item2);
        for (int i = 0; i < syns; i++)
        {
            var (src, port) = ListenFrames.Source(i);
            ListenFrames.Inject(net, src, port, 7001, (uint)i * 7919u, TcpFlags.Syn);
            if (i % 100 == 99) net.RunForMs(1);
        }
        net.RunForMs(500);
        var flood = run.GetProperty("after_flood");
        AssertCounters(flood.GetProperty("counters"), net.B.Tcp.Mib, before, "after the flood");
        Assert.Equal(flood.GetProperty("syn_queue").GetInt32(), listener.SynQueueLength);
        Assert.Equal(flood.GetProperty("accept_queue").GetInt32(), listener.AcceptQueueLength);

        var real = run.GetProperty("after_real_client");
        var sa = new Syscalls(net.A);
        int c = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
        sa.Connect(c, new SockAddrIn(TwoHosts.AddrB, 7001));
        net.RunForMs(5);
        var data = new byte[20_000];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 31);
        Assert.Equal(data.Length, sa.Write(c, data));
        net.RunForMs(5);
        int s = sb.Accept(lfd, out _);
        Assert.True(s >= 0);
        var got = new byte[data.Length];
        int n = 0;
        for (int r; n < data.Length && (r = sb.Recv(s, got.AsSpan(n), MsgFlags.DontWait)) > 0;) n += r;
        Assert.Equal(real.GetProperty("bytes").GetInt32(), n);
        Assert.Equal(real.GetProperty("intact").GetBoolean(), data.AsSpan().SequenceEqual(got));
        AssertCounters(real.GetProperty("counters"), net.B.Tcp.Mib, before, "after the real client");
        Assert.Equal(real.GetProperty("syn_queue").GetInt32(), listener.SynQueueLength);
    }
}
