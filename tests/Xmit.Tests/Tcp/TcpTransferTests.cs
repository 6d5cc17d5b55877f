using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.Tcp;

/// <summary>TCP between two Xmit hosts over a simulated link: the whole life of connections, end to end.</summary>
public class TcpTransferTests
{
    private const int NonBlockingStream = SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK;

    private static (Syscalls A, Syscalls B, int Client, int Server) Connect(TwoHosts net, ushort port = 5000)
    {
        var sa = new Syscalls(net.A);
        var sb = new Syscalls(net.B);
        int listener = sb.Socket(Af.AF_INET, NonBlockingStream, 0);
        Assert.Equal(0, sb.Bind(listener, new SockAddrIn(TwoHosts.AddrB, port)));
        Assert.Equal(0, sb.Listen(listener, 8));
        int client = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
        Assert.Equal(-(int)Errno.EINPROGRESS, sa.Connect(client, new SockAddrIn(TwoHosts.AddrB, port)));
        net.RunForMs(20);
        Assert.Equal(0, sa.Connect(client, new SockAddrIn(TwoHosts.AddrB, port))); // the handshake finished
        Assert.Equal(-(int)Errno.EISCONN, sa.Connect(client, new SockAddrIn(TwoHosts.AddrB, port)));
        int server = sb.Accept(listener, out var peer);
        Assert.True(server >= 0, $"accept: {server}");
        // Like Linux, the accepted descriptor does not inherit O_NONBLOCK.
        Assert.Equal(Fcntl.O_RDWR, sb.Fcntl(server, Fcntl.F_GETFL));
        Assert.Equal(0, sb.Fcntl(server, Fcntl.F_SETFL, Fcntl.O_RDWR | Fcntl.O_NONBLOCK));
        Assert.Equal(TwoHosts.AddrA, peer.Address);
        Assert.Equal(0, sb.Close(listener));
        return (sa, sb, client, server);
    }

    [Fact]
    public void A_megabyte_crosses_intact_and_both_ends_close_cleanly()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMilliseconds(1) });
        net.WarmUp();
        var (sa, sb, client, server) = Connect(net);
        var data = new byte[1 << 20];
        new Random(7).NextBytes(data);
        var got = new MemoryStream();
        var buf = new byte[65536];
        int sent = 0;
        var deadline = net.Sim.Now + Duration.FromSeconds(5);
        while (got.Length < data.Length && net.Sim.Now < deadline)
        {
            if (sent < data.Length)
            {
                int n = sa.Write(client, data.AsSpan(sent));
                if (n > 0) sent += n;
                else Assert.Equal(-(int)Errno.EAGAIN, n);
            }
            int r = sb.Read(server, buf);
            if (r > 0) got.Write(buf, 0, r);
            else net.RunFor(Duration.FromMicroseconds(500));
        }
        var ta = ((TcpSocketFile)sa.File(client)!).Sk;
        Assert.True(data.Length == got.Length, $"received {got.Length} of {data.Length}: A {ta.State} una {ta.SndUna - ta.Iss} nxt {ta.SndNxt - ta.Iss} cwnd {ta.SndCwnd} wnd {ta.SndWnd}");
        Assert.True(data.AsSpan().SequenceEqual(got.ToArray()), "the bytes differ");

        // 1 MiB at 100 Mbit/s is at least 84 ms of serialization; slow start and 2 ms RTT add a little.
        var elapsed = net.Sim.Now.Nanoseconds / 1e9;
        Assert.InRange(elapsed, 0.084, 0.5);

        var tcpA = ((TcpSocketFile)sa.File(client)!).Sk;
        Assert.Equal(0, sa.Close(client));           // FIN from A
        net.RunForMs(10);
        Assert.Equal(0, sb.Read(server, buf));       // B reads end of file
        Assert.Equal(TcpState.FinWait2, tcpA.State);
        Assert.Equal(0, sb.Close(server));           // FIN from B
        net.RunForMs(10);
        Assert.Equal(TcpState.TimeWait, tcpA.State);
        Assert.Single(net.A.Tcp.Sockets);            // only the TIME-WAIT socket is left
        Assert.Empty(net.B.Tcp.Sockets);
        net.RunFor(Duration.FromSeconds(63)); // TCP_TIMEWAIT_LEN, on the wheel's level 3 (2.048 s granules at HZ=250)
        Assert.Empty(net.A.Tcp.Sockets);
        Assert.Equal(0, tcpA.WmemQueued);
    }

    /// <summary>
    /// tshark reads our TCP the way it reads Linux's: every segment A sent is in the capture with correct IP
    /// and TCP checksums, nothing is malformed, and on a clean link it sees no retransmission, no lost
    /// segment, no zero window — a transfer as unremarkable as it should be.
    /// </summary>
    [Fact]
    public void A_capture_of_a_transfer_reads_cleanly_in_tshark()
    {
        var pcap = Path.Combine(Path.GetTempPath(), $"xmit-tcp-{Environment.ProcessId}.pcap");
        try
        {
            using (var file = File.Create(pcap))
            {
                using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMilliseconds(1) });
                net.Sim.Capture(net.DevA, file);
                net.WarmUp();
                var (sa, sb, client, server) = Connect(net);
                var data = new byte[200_000];
                int sent = 0, got = 0;
                var buf = new byte[65536];
                while (got < data.Length)
                {
                    if (sent < data.Length && sa.Write(client, data.AsSpan(sent)) is > 0 and var n) sent += n;
                    int r = sb.Read(server, buf);
                    if (r > 0) got += r;
                    else net.RunFor(Duration.FromMicroseconds(500));
                }
                sa.Close(client);
                sb.Close(server);
                net.RunForMs(20);
                long outSegs = net.A.Tcp.Mib.OutSegs;
                net.Sim.Shutdown();
                file.Flush();
                Assert.Equal(outSegs, Tshark.Matching(pcap, "tcp && ip.src == 198.18.0.1").Length);
            }
            // Port 5000 would otherwise be dissected as some application protocol: take the payload as plain data.
            Tshark.AssertNone(pcap, "_ws.malformed || ip.checksum.status == 0 || tcp.checksum.status == 0 || " +
                "tcp.analysis.retransmission || tcp.analysis.lost_segment || tcp.analysis.zero_window || tcp.analysis.out_of_order", "-d", "tcp.port==5000,data");
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [Fact]
    public void Connecting_to_a_port_nobody_listens_on_is_refused()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var sa = new Syscalls(net.A);
        int fd = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
        Assert.Equal(-(int)Errno.EINPROGRESS, sa.Connect(fd, new SockAddrIn(TwoHosts.AddrB, 9)));
        net.RunForMs(10);
        Assert.Equal(-(int)Errno.ECONNREFUSED, sa.Connect(fd, new SockAddrIn(TwoHosts.AddrB, 9)));
        Assert.Equal(1, net.B.Tcp.Mib.OutRsts);
        Assert.Equal(1, net.A.Tcp.Mib.AttemptFails);
        sa.Close(fd);
    }

    [Fact]
    public void An_unanswered_syn_is_resent_then_times_out()
    {
        // Everything A sends is lost: the SYN goes at 0, 1, 2, 3, 4, 5 s (tcp_syn_linear_timeouts = 4 keeps the
        // RTO at 1 s for four timeouts, the fifth doubles it), and with tcp_syn_retries = 2 the attempt fails at 7 s
        // with ETIMEDOUT: the time two backed-off retransmissions from 1 s would take (1 + 2 + 4). At HZ=250 each of these
        // timers lands on the wheel's level 1 and fires on the next 8-jiffy (32 ms) granule after its expiry: at 1.024,
        // 2.048, 3.072, 4.096, 5.120 s, and the one that gives up at 7.136 s.
        using var net = new TwoHosts(new LinkConfig { LossRate = 1.0 });
        net.A.Neighbours.AddPermanent(net.DevA, TwoHosts.AddrB, net.DevB.Mac);
        Assert.True(net.A.Sysctls.TrySet("net.ipv4.tcp_syn_retries", "2", out _));
        var sa = new Syscalls(net.A);
        int fd = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
        Assert.Equal(-(int)Errno.EINPROGRESS, sa.Connect(fd, new SockAddrIn(TwoHosts.AddrB, 80)));
        var sk = ((TcpSocketFile)sa.File(fd)!).Sk;
        net.RunFor(Duration.FromMilliseconds(6990));
        Assert.Equal(TcpState.SynSent, sk.State);
        Assert.Equal(6, net.A.Tcp.Mib.OutSegs);
        Assert.Equal(5, net.A.Tcp.Mib.Timeouts);
        net.RunForMs(145);
        Assert.Equal(TcpState.SynSent, sk.State);
        net.RunForMs(2);
        Assert.Equal(TcpState.Close, sk.State);
        Assert.Equal(-(int)Errno.ETIMEDOUT, sa.Connect(fd, new SockAddrIn(TwoHosts.AddrB, 80)));
        sa.Close(fd);
    }

    [Fact]
    public void Closing_with_unread_data_resets_the_connection()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var (sa, sb, client, server) = Connect(net);
        Assert.Equal(100, sa.Write(client, new byte[100]));
        net.RunForMs(10);
        Assert.Equal(0, sb.Close(server)); // 100 bytes unread: RST, not FIN (RFC 2525)
        net.RunForMs(10);
        Assert.Equal(1, net.B.Tcp.Mib.AbortOnClose);
        Assert.Equal(-(int)Errno.ECONNRESET, sa.Read(client, new byte[10]));
        Assert.Equal(-(int)Errno.EPIPE, sa.Write(client, new byte[10]));
        sa.Close(client);
    }
}
