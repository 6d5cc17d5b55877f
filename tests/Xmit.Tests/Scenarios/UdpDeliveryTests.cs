using Xmit.Tests.Support;
using Xmit.Wire;

namespace Xmit.Tests.Scenarios;

public class UdpDeliveryTests
{
    [Fact]
    public void Datagram_is_delivered_with_its_source_and_counted_when_read()
    {
        using var net = new TwoHosts();
        var sk = net.B.Udp.Bind(Ipv4Address.Any, 9);
        net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, "hello"u8);
        net.RunForMs(5);
        Assert.Equal(0, net.B.Mib.Udp.InDatagrams); // Linux counts InDatagrams in recvmsg
        var buf = new byte[100];
        var r = net.B.Udp.Receive(sk, buf)!.Value;
        Assert.Equal(5, r.Length);
        Assert.Equal("hello"u8.ToArray(), buf[..5]);
        Assert.Equal(TwoHosts.AddrA, r.Source);
        Assert.Equal(7000, r.SourcePort);
        Assert.Equal(1, net.B.Mib.Udp.InDatagrams);
        Assert.Equal(1, net.A.Mib.Udp.OutDatagrams);
        Assert.Equal(0, sk.RmemAlloc);
    }

    [Fact]
    public void Receive_buffer_overflow_drops_and_counts_rcvbuf_errors()
    {
        using var net = new TwoHosts();
        var sk = net.B.Udp.Bind(TwoHosts.AddrB, 9, rcvBuf: 10_000);
        for (int i = 0; i < 20; i++) net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[1000]);
        net.RunForMs(50);
        // A 1042-byte frame lands in a receive buffer of truesize 1728 (netdev_alloc_skb: 1042 + 64 pad, aligned,
        // + 320 shared info + 256). Datagrams are taken while rmem is not over rcvbuf, so the last one overshoots.
        int truesize = Xmit.Buffers.Truesize.ForNetdevAllocSkb(14 + 20 + 8 + 1000);
        Assert.Equal(1728, truesize);
        int queued = sk.ReceiveQueue.Count;
        Assert.Equal(10_000 / truesize + 1, queued);
        Assert.Equal(truesize * queued, sk.RmemAlloc);
        Assert.Equal(20 - queued, net.B.Mib.Udp.RcvbufErrors);
        Assert.Equal(20 - queued, sk.Drops);
    }

    [Fact]
    public void Nobody_listening_gets_port_unreachable_which_a_connected_socket_sees_as_econnrefused()
    {
        using var net = new TwoHosts();
        var sk = net.A.Udp.Bind(TwoHosts.AddrA, 7000);
        net.A.Udp.Connect(sk, TwoHosts.AddrB, 9);
        net.A.Udp.SendDatagram(sk, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[10]);
        net.RunForMs(5);
        Assert.Equal(1, net.B.Mib.Udp.NoPorts);
        Assert.Equal(1, net.B.Mib.Icmp.OutDestUnreachs);
        Assert.Equal(Xmit.Errno.ECONNREFUSED, sk.Error);

        var unconnected = net.A.Udp.Bind(TwoHosts.AddrA, 7001);
        net.A.Udp.SendDatagram(unconnected, TwoHosts.AddrA, 7001, TwoHosts.AddrB, 9, new byte[10]);
        net.RunForMs(5);
        Assert.Equal(Xmit.Errno.OK, unconnected.Error); // without IP_RECVERR, unconnected sockets hear nothing
    }

    [Fact]
    public void Port_unreachable_is_rate_limited_per_destination()
    {
        using var net = new TwoHosts();
        for (int i = 0; i < 20; i++) net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[10]);
        net.RunForMs(50);
        Assert.Equal(20, net.B.Mib.Udp.NoPorts);
        Assert.Equal(6, net.B.Mib.Icmp.OutDestUnreachs); // burst of 6, then one per second
        Assert.Equal(14, net.B.Mib.Icmp.OutRateLimitHost);
        Assert.Equal(0, net.B.Mib.Icmp.OutRateLimitGlobal);
    }

    [Fact]
    public void Bad_udp_checksum_is_counted_and_dropped()
    {
        using var net = new TwoHosts();
        net.B.Udp.Bind(TwoHosts.AddrB, 9);
        var skb = net.Sim.Pool.AllocNetdev(60);
        var f = skb.Put(14 + 20 + 8 + 4);
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(net.DevB.Mac, net.DevA.Mac, EtherType.Ipv4).Emit(eth);
        new UdpRepr(7000, 9, 4).Emit(f[34..], TwoHosts.AddrA, TwoHosts.AddrB);
        f[45] ^= 1;
        new Ipv4Repr(TwoHosts.AddrA, TwoHosts.AddrB, IpProtocol.Udp, 12).Emit(f[14..]);
        net.DevB.Receive(skb);
        Assert.Equal(1, net.B.Mib.Udp.InCsumErrors);
        Assert.Equal(1, net.B.Mib.Udp.InErrors);
    }
}
