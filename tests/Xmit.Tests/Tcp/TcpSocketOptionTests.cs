using Xmit.Network.Ipv4;
using Xmit.Link.Qdiscs;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.Tcp;

/// <summary>
/// TCP_SYNCNT, TCP_USER_TIMEOUT, the keepalive timing options and TCP_INQ (do_tcp_setsockopt): their ranges,
/// and what they change — how long a connection retries, and the TCP_CM_INQ hint recvmsg() reports.
/// </summary>
public class TcpSocketOptionTests
{
    [Fact]
    public void Options_keep_their_values_and_reject_what_Linux_rejects()
    {
        using var net = new TwoHosts();
        var s = new Syscalls(net.A);
        int fd = s.Socket(Af.AF_INET, SockType.SOCK_STREAM, 0);
        int T(int name) => s.GetSockOpt(fd, SockOpt.IPPROTO_TCP, name, out int v) == 0 ? v : int.MinValue;
        // Defaults: tcp_syn_retries (6), no user timeout, tcp_keepalive_time/intvl/probes, TCP_INQ off.
        Assert.Equal((6, 0, 7200, 75, 9, 0), (T(SockOpt.TCP_SYNCNT), T(SockOpt.TCP_USER_TIMEOUT), T(SockOpt.TCP_KEEPIDLE), T(SockOpt.TCP_KEEPINTVL), T(SockOpt.TCP_KEEPCNT), T(SockOpt.TCP_INQ)));
        foreach (var (name, bad, good) in new[] { (SockOpt.TCP_SYNCNT, 128, 2), (SockOpt.TCP_USER_TIMEOUT, -1, 3000), (SockOpt.TCP_KEEPIDLE, 0, 5),
                     (SockOpt.TCP_KEEPINTVL, 32768, 10), (SockOpt.TCP_KEEPCNT, 0, 3), (SockOpt.TCP_INQ, 2, 1) })
        {
            Assert.Equal(-(int)Errno.EINVAL, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, name, bad));
            Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, name, good));
            Assert.Equal(good, T(name));
        }
    }

    [Fact]
    public void TCP_SYNCNT_bounds_the_SYN_retransmissions()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        net.DevB.SetRootQdisc(FifoQdisc.Packets(0)); // B's SYN-ACKs never leave
        var s = new Syscalls(net.A);
        int fd = s.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, SockOpt.TCP_SYNCNT, 2));
        var sk = ((TcpSocketFile)s.File(fd)!).Sk;
        var listener = new Syscalls(net.B);
        int lfd = listener.Socket(Af.AF_INET, SockType.SOCK_STREAM, 0);
        Assert.Equal(0, listener.Bind(lfd, new SockAddrIn(TwoHosts.AddrB, 5000)));
        Assert.Equal(0, listener.Listen(lfd, 8));
        var start = net.Sim.Now;
        Assert.Equal(-(int)Errno.EINPROGRESS, s.Connect(fd, new SockAddrIn(TwoHosts.AddrB, 5000)));
        // SYN at 0, retransmissions at 1, 2, 3, 4 and 5 s (linear timeouts), and the time bound of TCP_SYNCNT 2
        // (1 + 2 + 4 s) ends it at the sixth timeout, 7 s — each a little later at HZ=250, on the wheel's 32 ms granule
        // after its expiry (level 1), so the last falls within 7.2 s.
        net.Sim.RunUntil(start + Duration.FromMilliseconds(6900));
        Assert.Equal(TcpState.SynSent, sk.State);
        net.Sim.RunUntil(start + Duration.FromMilliseconds(7200));
        Assert.Equal(TcpState.Close, sk.State);
        Assert.Equal(6, net.A.Tcp.Mib.Timeouts);
        Assert.Equal(1, net.A.Tcp.Mib.AbortOnTimeout);
        Assert.Equal(0, s.GetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_ERROR, out int err));
        Assert.Equal((int)Errno.ETIMEDOUT, err);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1500)]
    public void TCP_USER_TIMEOUT_ends_a_connection_whose_data_goes_unacknowledged(int userTimeoutMs)
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB,
            configureClient: (s, fd) => Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, SockOpt.TCP_USER_TIMEOUT, userTimeoutMs)));
        net.RunForMs(100);
        net.DevB.SetRootQdisc(FifoQdisc.Packets(0)); // B's ACKs never leave
        var start = net.Sim.Now;
        Assert.Equal(1000, tcp.A.Write(tcp.Client, new byte[1000]));
        var sk = tcp.ClientSock;
        Instant? died = null, firstRetransmit = null;
        while (net.Sim.Now < start + Duration.FromSeconds(10))
        {
            net.RunForMs(1);
            firstRetransmit ??= sk.RetransStamp; // the RTO's first retransmission (a loss probe does not stamp)
            if (died is null && sk.State == TcpState.Close) died = net.Sim.Now;
        }
        if (userTimeoutMs == 0)
        {
            Assert.Null(died); // tcp_retries2 (15) takes many minutes
            Assert.Equal(TcpState.Established, sk.State);
            return;
        }
        // The last timer is clamped to what is left of the user timeout, counted from the first retransmission
        // (retrans_stamp, as tests/scripts/tcp/user-timeout-retrans-stamp.pkt measures on Linux): the end comes
        // 1.5 s after it, not at the next RTO (a loss probe before it does not stamp it). The clamped timeout is whole
        // jiffies from the current tick and the wheel fires it a tick after: up to two ticks late.
        Assert.NotNull(died);
        Assert.NotNull(firstRetransmit);
        long tickMs = net.A.Jiffies.Tick.Nanoseconds / 1_000_000;
        Assert.InRange((died.Value - firstRetransmit.Value).Nanoseconds / 1_000_000, userTimeoutMs - 1, userTimeoutMs + 2 * tickMs + 2);
        Assert.Equal(-(int)Errno.ETIMEDOUT, tcp.A.Write(tcp.Client, new byte[1]));
    }

    [Fact]
    public void TCP_USER_TIMEOUT_ends_probing_when_the_qdisc_drops_every_attempt()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        net.RunForMs(100);
        Assert.Equal(0, tcp.A.SetSockOpt(tcp.Client, SockOpt.IPPROTO_TCP, SockOpt.TCP_USER_TIMEOUT, 2000));
        net.DevA.SetRootQdisc(FifoQdisc.Packets(0)); // nothing A sends leaves: the probe timer retries every 500 ms
        var start = net.Sim.Now;
        Assert.Equal(24, tcp.A.Write(tcp.Client, new byte[24]));
        var sk = tcp.ClientSock;
        Instant? died = null;
        int probes = 0;
        while (died is null && net.Sim.Now < start + Duration.FromSeconds(10))
        {
            net.RunForMs(1);
            if (sk.State == TcpState.Close) died = net.Sim.Now;
            else probes = sk.ProbesOut;
        }
        // Counted from the first (dropped) attempt: the first probe timer after 2 s ends it, with no backoff.
        Assert.NotNull(died);
        long ms = (died.Value - start).Nanoseconds / 1_000_000;
        Assert.InRange(ms, 2001, 2500);
        Assert.True(probes >= 3, $"{probes} probes");
        Assert.Equal(0, sk.Backoff);
        Assert.Equal(1, net.A.Tcp.Mib.AbortOnTimeout);
        Assert.Equal(-(int)Errno.ETIMEDOUT, tcp.A.Write(tcp.Client, new byte[1]));
    }

    [Fact]
    public void TCP_INQ_reports_the_bytes_left_and_one_for_the_FIN()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        net.RunForMs(100);
        var buf = new byte[4000];
        Assert.Equal(-(int)Errno.EAGAIN, tcp.B.RecvMsg(tcp.Server, buf, MsgFlags.None, out int inq));
        Assert.Equal(-1, inq); // the option is off: no control message
        Assert.Equal(0, tcp.B.SetSockOpt(tcp.Server, SockOpt.IPPROTO_TCP, SockOpt.TCP_INQ, 1));
        Assert.Equal(3000, tcp.A.Write(tcp.Client, new byte[3000]));
        net.RunForMs(100);
        Assert.Equal(1000, tcp.B.RecvMsg(tcp.Server, buf.AsSpan(0, 1000), MsgFlags.None, out inq));
        Assert.Equal(2000, inq);
        Assert.Equal(0, tcp.A.Shutdown(tcp.Client, Shut.SHUT_WR));
        net.RunForMs(100);
        Assert.Equal(2000, tcp.B.RecvMsg(tcp.Server, buf, MsgFlags.None, out inq));
        Assert.Equal(1, inq); // the FIN: one more read sees the end
        Assert.Equal(0, tcp.B.RecvMsg(tcp.Server, buf, MsgFlags.None, out _));
        tcp.Close();
    }
}
