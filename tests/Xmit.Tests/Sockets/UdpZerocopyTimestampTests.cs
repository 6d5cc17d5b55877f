using Xmit.Link.Drivers;
using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Sockets;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Sockets;

/// <summary>
/// MSG_ZEROCOPY and SO_TIMESTAMPING on UDP (__ip_append_data): a datagram goes from the user's pages only to a
/// scatter-gather device that also finishes the checksum, and its notification arrives once the driver freed it;
/// every timestamped datagram takes the next OPT_ID key, reported for its first skb (and a UDP_SEGMENT send's first
/// segment).
/// </summary>
public class UdpZerocopyTimestampTests
{
    private static (Syscalls S, int Fd) Sender(TwoHosts net)
    {
        var s = new Syscalls(net.A);
        int fd = s.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, s.Connect(fd, new SockAddrIn(TwoHosts.AddrB, 9)));
        return (s, fd);
    }

    private static List<ErrQueueMessage> Drain(Syscalls s, int fd)
    {
        var all = new List<ErrQueueMessage>();
        while (s.RecvErrorQueue(fd, Span<byte>.Empty, out var m) >= 0) all.Add(m);
        return all;
    }

    [Theory]
    [InlineData("ring", false, SockExtendedErr.CodeZerocopyCopied)] // no checksum offload: copied at the send
    [InlineData("ring", true, 0)] // scatter-gather and checksum offload: the NIC reads the pages
    [InlineData("veth", true, SockExtendedErr.CodeZerocopyCopied)] // the peer gets a copy
    public void A_datagram_is_reported_once_the_driver_freed_it(string device, bool checksumOffload, byte code)
    {
        using var net = device == "veth" ? new TwoHosts(veth: true) : new TwoHosts(ring: new RingDriverConfig { ChecksumOffload = checksumOffload });
        net.WarmUp();
        var (s, fd) = Sender(net);
        Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_ZEROCOPY, 1));
        for (int i = 0; i < 3; i++) Assert.Equal(1000, s.Send(fd, new byte[1000], MsgFlags.Zerocopy));
        if (device == "ring") Assert.Empty(Drain(s, fd)); // still on the TX ring
        net.RunForMs(10);
        var msgs = Drain(s, fd);
        // One notification per datagram (a datagram cannot extend another's), merged as the ranges follow each other.
        var m = Assert.Single(msgs);
        Assert.Equal(new SockExtendedErr(0, ErrOrigin.Zerocopy, 0, code, 0, 2), m.Ee);
        var sk = ((UdpSocketFile)s.File(fd)!).Sk;
        Assert.Equal(0, sk.OmemAlloc);
        Assert.Equal(0, sk.WmemAlloc);
        s.CloseAll();
    }

    [Fact]
    public void A_send_refused_for_a_full_buffer_gives_its_id_back()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 1_000_000 }, new RingDriverConfig { ChecksumOffload = true });
        net.WarmUp();
        var (s, fd) = Sender(net);
        Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_ZEROCOPY, 1));
        int sent = 0, rc;
        while ((rc = s.Send(fd, new byte[1400], MsgFlags.Zerocopy)) > 0) sent++;
        Assert.Equal(-(int)Errno.EAGAIN, rc);
        var sk = ((UdpSocketFile)s.File(fd)!).Sk;
        Assert.Equal((uint)sent, sk.ZcKey);
        net.RunForMs(2000);
        uint covered = 0;
        foreach (var m in Drain(s, fd))
        {
            Assert.Equal(covered, m.Ee.Info);
            covered = m.Ee.Data + 1;
        }
        Assert.Equal((uint)sent, covered);
        s.CloseAll();
    }

    [Fact]
    public void Each_datagram_takes_the_next_key_and_reports_entering_the_qdisc_and_the_driver()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 10_000_000 });
        net.WarmUp();
        var (s, fd) = Sender(net);
        var flags = TimestampingFlags.TxSched | TimestampingFlags.TxSoftware | TimestampingFlags.Software | TimestampingFlags.OptId;
        Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_TIMESTAMPING, (int)flags));
        var t0 = net.Sim.Now;
        for (int i = 0; i < 4; i++) Assert.Equal(1400, s.Send(fd, new byte[1400]));
        net.RunForMs(20);
        var msgs = Drain(s, fd);
        Assert.Equal(8, msgs.Count);
        for (uint k = 0; k < 4; k++)
        {
            var sched = msgs.Single(m => m.Ee.Info == (uint)TstampType.Sched && m.Ee.Data == k);
            var snd = msgs.Single(m => m.Ee.Info == (uint)TstampType.Snd && m.Ee.Data == k);
            Assert.Equal(t0, sched.Timestamp);
            Assert.True(snd.Timestamp >= sched.Timestamp);
        }
        // BQL held the later datagrams in the qdisc behind the first one's 1.1 ms on the wire.
        Assert.True(msgs.Where(m => m.Ee.Info == (uint)TstampType.Snd).Max(m => m.Timestamp!.Value) - t0 >= Duration.FromMicroseconds(1000));
        Assert.Equal(0, ((UdpSocketFile)s.File(fd)!).Sk.RmemAlloc);
        s.CloseAll();
    }

    [Fact]
    public void A_UDP_SEGMENT_send_is_timestamped_on_its_first_segment_and_notified_when_its_last_is_freed()
    {
        using var net = new TwoHosts(ring: new RingDriverConfig { ChecksumOffload = true }); // UDP GSO needs it (else EIO)
        net.WarmUp();
        var (s, fd) = Sender(net);
        Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_UDP, SockOpt.UDP_SEGMENT, 1000));
        Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_ZEROCOPY, 1));
        Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_TIMESTAMPING,
            (int)(TimestampingFlags.TxSoftware | TimestampingFlags.Software | TimestampingFlags.OptId)));
        Assert.Equal(8000, s.Send(fd, new byte[8000], MsgFlags.Zerocopy));
        net.RunForMs(20);
        var msgs = Drain(s, fd);
        Assert.Single(msgs, m => m.Ee.Origin == ErrOrigin.Timestamping && m.Ee.Info == (uint)TstampType.Snd); // eight segments, one timestamp
        Assert.Single(msgs, m => m.Ee.Origin == ErrOrigin.Zerocopy && m.Ee.Info == 0 && m.Ee.Data == 0);
        s.CloseAll();
    }
}
