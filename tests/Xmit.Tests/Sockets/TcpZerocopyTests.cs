using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Sockets;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Sockets;

/// <summary>
/// MSG_ZEROCOPY over TCP between two simulated hosts: when the notification arrives (after the ACK, not the send), what
/// it says on a NIC that sends from the user's pages (the ring driver) and on one whose peer copies them (veth), how
/// ranges merge, how a send that sent nothing gives its id back, optmem's limit, and the accounting under faults.
/// The packetdrill corpus (tcp/zerocopy, passing on Linux 6.18 and on Xmit) covers the tun-device cases.
/// </summary>
public class TcpZerocopyTests
{
    private static void EnableZerocopy(Syscalls s, int fd) => Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_ZEROCOPY, 1));

    private static ErrQueueMessage? Next(Syscalls s, int fd)
    {
        int rc = s.RecvErrorQueue(fd, Span<byte>.Empty, out var m);
        if (rc == -(int)Errno.EAGAIN) return null;
        Assert.Equal(0, rc);
        return m;
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, SockExtendedErr.CodeZerocopyCopied)]
    public void The_notification_comes_with_the_ACK_and_says_whether_the_pages_were_copied(bool veth, byte code)
    {
        using var net = new TwoHosts(new LinkConfig { Propagation = Duration.FromMilliseconds(5) }, veth: veth);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, configureClient: EnableZerocopy);
        var data = new byte[4000];
        for (int i = 0; i < 3; i++) Assert.Equal(4000, tcp.A.Send(tcp.Client, data, MsgFlags.Zerocopy));
        Assert.Null(Next(tcp.A, tcp.Client)); // the pages are still the kernel's until the peer acknowledges them
        Assert.Equal(Ev.EPOLLOUT | Ev.EPOLLWRNORM, tcp.A.File(tcp.Client)!.PollMask() & (Ev.EPOLLERR | Ev.EPOLLOUT | Ev.EPOLLWRNORM));
        Assert.True(tcp.ClientSock.OmemAlloc > 0, "the notification's skb is charged to optmem from the send");
        net.RunForMs(50);
        Assert.NotEqual(0u, tcp.A.File(tcp.Client)!.PollMask() & Ev.EPOLLERR);
        var m = Next(tcp.A, tcp.Client);
        Assert.NotNull(m);
        // The three sends joined one skb's notification (msg_zerocopy_realloc extends the tail's): ids 0 to 2.
        Assert.Equal(new SockExtendedErr(0, ErrOrigin.Zerocopy, 0, code, 0, 2), m.Value.Ee);
        Assert.Equal(MsgFlags.ErrQueue, m.Value.Flags);
        Assert.Null(m.Value.Timestamp);
        Assert.Null(Next(tcp.A, tcp.Client));
        Assert.Equal(0, tcp.ClientSock.OmemAlloc);
        Assert.Equal(0u, tcp.A.File(tcp.Client)!.PollMask() & Ev.EPOLLERR);
        tcp.Close();
    }

    [Fact]
    public void Sends_acknowledged_one_by_one_get_ids_of_their_own_and_their_ranges_merge_on_the_queue()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, configureClient: EnableZerocopy);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(1000, tcp.A.Send(tcp.Client, new byte[1000], MsgFlags.Zerocopy));
            net.RunForMs(20);
        }
        var m = Next(tcp.A, tcp.Client);
        Assert.Equal((0u, 4u, (byte)0), (m!.Value.Ee.Info, m.Value.Ee.Data, m.Value.Ee.Code));
        Assert.Null(Next(tcp.A, tcp.Client));
        tcp.Close();
    }

    [Fact]
    public void Without_SO_ZEROCOPY_the_flag_is_ignored_and_the_option_takes_only_0_or_1()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        Assert.Equal(-(int)Errno.EINVAL, tcp.A.SetSockOpt(tcp.Client, SockOpt.SOL_SOCKET, SockOpt.SO_ZEROCOPY, 2));
        Assert.Equal(100, tcp.A.Send(tcp.Client, new byte[100], MsgFlags.Zerocopy));
        net.RunForMs(20);
        Assert.Null(Next(tcp.A, tcp.Client));
        Assert.Equal(0, tcp.A.GetSockOpt(tcp.Client, SockOpt.SOL_SOCKET, SockOpt.SO_ZEROCOPY, out int on));
        Assert.Equal(0, on);
        tcp.Close();
    }

    [Fact]
    public void A_send_that_queues_nothing_gives_its_id_back()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 10_000_000 });
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, configureClient: EnableZerocopy);
        // Fill the send buffer: the call that meets a full buffer returns EAGAIN and must not use up an id.
        int sends = 0, rc;
        while ((rc = tcp.A.Send(tcp.Client, new byte[20000], MsgFlags.Zerocopy)) > 0) sends++;
        Assert.Equal(-(int)Errno.EAGAIN, rc);
        Assert.Equal((uint)sends, tcp.ClientSock.ZcKey);
        var buf = new byte[1 << 16];
        for (int i = 0; i < 2000 && tcp.ClientSock.UnackedBytes > 0; i++)
        {
            while (tcp.B.Read(tcp.Server, buf) > 0) { }
            net.RunForMs(1);
        }
        uint covered = 0;
        while (Next(tcp.A, tcp.Client) is { } m)
        {
            Assert.Equal(covered, m.Ee.Info); // contiguous, in order
            covered = m.Ee.Data + 1;
        }
        Assert.Equal((uint)sends, covered);
        tcp.Close();
    }

    [Fact]
    public void Option_memory_bounds_the_notifications_still_outstanding()
    {
        using var net = new TwoHosts(new LinkConfig { Propagation = Duration.FromMilliseconds(5) });
        net.A.Sysctls.OptmemMax = 1000; // sock_omalloc() succeeds while sk_omem_alloc is below it: two 832-byte skbs
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, configureClient: (s, fd) =>
        {
            EnableZerocopy(s, fd);
            Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY, 1)); // each send leaves at once: no tail to extend
        });
        Assert.Equal(100, tcp.A.Send(tcp.Client, new byte[100], MsgFlags.Zerocopy));
        Assert.Equal(100, tcp.A.Send(tcp.Client, new byte[100], MsgFlags.Zerocopy));
        Assert.Equal(2 * 832, tcp.ClientSock.OmemAlloc);
        Assert.Equal(-(int)Errno.ENOBUFS, tcp.A.Send(tcp.Client, new byte[100], MsgFlags.Zerocopy));
        Assert.Equal(100, tcp.A.Send(tcp.Client, new byte[100])); // an ordinary send needs no option memory
        net.RunForMs(50);
        // The second range merged into the first message, whose skb alone is still charged until it is read.
        Assert.Equal(832, tcp.ClientSock.OmemAlloc);
        Assert.Equal((0u, 1u), Next(tcp.A, tcp.Client) is { } m ? (m.Ee.Info, m.Ee.Data) : default);
        Assert.Equal(0, tcp.ClientSock.OmemAlloc);
        Assert.Equal(100, tcp.A.Send(tcp.Client, new byte[100], MsgFlags.Zerocopy));
        net.RunForMs(50);
        Assert.Equal((2u, 2u), Next(tcp.A, tcp.Client) is { } m2 ? (m2.Ee.Info, m2.Ee.Data) : default);
        tcp.Close();
    }

    [Fact]
    public void Closing_with_notifications_unread_returns_their_memory()
    {
        using var net = new TwoHosts(new LinkConfig { Propagation = Duration.FromMilliseconds(5) });
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, configureClient: EnableZerocopy);
        Assert.Equal(3000, tcp.A.Send(tcp.Client, new byte[3000], MsgFlags.Zerocopy));
        net.RunForMs(50);
        Assert.Equal(3000, tcp.A.Send(tcp.Client, new byte[3000], MsgFlags.Zerocopy)); // still unacknowledged at close
        var sk = tcp.ClientSock;
        tcp.Close();
        Assert.Equal(0, sk.OmemAlloc);
        Assert.True(sk.ErrorQueue.IsEmpty);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Under_faults_every_id_is_reported_once_and_nothing_stays_charged(ulong seed)
    {
        using var net = new TwoHosts(FaultyLink.Mixed(), seed: seed, trackAllocations: false);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, configureClient: EnableZerocopy);
        var data = new byte[300_000];
        new Random((int)seed).NextBytes(data);
        var got = new List<byte>();
        var buf = new byte[1 << 16];
        int sent = 0, sends = 0;
        uint covered = 0;
        var deadline = net.Sim.Now + Duration.FromSeconds(60);
        while ((got.Count < data.Length || covered < sends) && net.Sim.Now < deadline)
        {
            if (sent < data.Length && tcp.A.Send(tcp.Client, data.AsSpan(sent, Math.Min(7000, data.Length - sent)), MsgFlags.Zerocopy) is > 0 and var n)
            {
                sent += n;
                sends++;
            }
            int r = tcp.B.Read(tcp.Server, buf);
            if (r > 0) got.AddRange(buf.AsSpan(0, r).ToArray());
            while (Next(tcp.A, tcp.Client) is { } m)
            {
                Assert.Equal(covered, m.Ee.Info);
                covered = m.Ee.Data + 1;
            }
            if (r <= 0) net.RunFor(Duration.FromMicroseconds(200));
        }
        Assert.True(data.AsSpan().SequenceEqual(got.ToArray()), "the stream arrived intact");
        Assert.Equal((uint)sends, covered);
        Assert.True(net.A.Tcp.Mib.RetransSegs > 0, "the faults cost no retransmission");
        Assert.Equal(0, tcp.ClientSock.OmemAlloc);
        tcp.Close();
    }
}
