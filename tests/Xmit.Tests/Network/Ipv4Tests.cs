using Xmit.Network.Ipv4;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Network;

public class Ipv4Tests
{
    private static ushort IdOf(byte[] frame) => (ushort)(frame[18] << 8 | frame[19]);

    [Fact]
    public void Ip_id_rules_socket_counter_zero_for_do_mode_shared_otherwise()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var rec = FrameRecorder.On(net.DevA);
        var udp = net.A.Udp;
        // Socket-owned counter (a connected socket passes its own inet_id).
        net.A.Output.Send(Udp(net, 8), new IpSendParams(TwoHosts.AddrA, TwoHosts.AddrB, IpProtocol.Udp, SocketIdent: 500));
        // Unconnected, DO mode: DF set and not ignorable → ID 0.
        udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[8], PmtuDisc.Do);
        // Unconnected, WANT: the shared generator, +1 per datagram within a jiffy.
        udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[8]);
        udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[8]);
        net.RunForMs(5);
        var ids = rec.Sent.Select(IdOf).ToArray();
        Assert.Equal(500, ids[0]);
        Assert.Equal(0, ids[1]);
        Assert.Equal((ushort)(ids[2] + 1), ids[3]);
    }

    private static Xmit.Buffers.SkBuff Udp(TwoHosts net, int payload)
    {
        var skb = net.Sim.Pool.Alloc(64 + payload);
        skb.Reserve(36);
        var b = skb.Put(8 + payload);
        new UdpRepr(1, 9, payload).Emit(b, TwoHosts.AddrA, TwoHosts.AddrB);
        return skb;
    }

    [Fact]
    public void Shared_ids_are_the_same_for_the_same_seed_and_differ_across_seeds()
    {
        ushort First(ulong seed)
        {
            using var net = new TwoHosts(seed: seed);
            net.WarmUp();
            var rec = FrameRecorder.On(net.DevA);
            net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[8]);
            return IdOf(rec.Sent.First());
        }
        Assert.Equal(First(5), First(5));
        Assert.NotEqual(First(5), First(6));
    }

    [Fact]
    public void No_route_counts_out_no_routes_and_returns_enetunreach()
    {
        using var net = new TwoHosts();
        int rc = net.A.Icmp.SendEchoRequest(new Ipv4Address(203, 0, 113, 1), 1, 1, 8);
        Assert.Equal(-(int)Xmit.Errno.ENETUNREACH, rc);
        Assert.Equal(1, net.A.Mib.Ip.OutNoRoutes);
    }

    [Fact]
    public void Longest_prefix_then_metric_wins()
    {
        using var net = new TwoHosts();
        var routes = new RouteTable();
        var def = new Route(Ipv4Address.Any, 0, net.DevA, TwoHosts.AddrB);
        var wide = new Route(new Ipv4Address(198, 18, 0, 0), 15, net.DevA, Metric: 10);
        var narrowHigh = new Route(new Ipv4Address(198, 18, 0, 0), 24, net.DevA, Metric: 5);
        var narrowLow = new Route(new Ipv4Address(198, 18, 0, 0), 24, net.DevA, Metric: 1);
        routes.Add(def); routes.Add(wide); routes.Add(narrowHigh); routes.Add(narrowLow);
        Assert.Same(narrowLow, routes.Lookup(new Ipv4Address(198, 18, 0, 9)));
        Assert.Same(wide, routes.Lookup(new Ipv4Address(198, 19, 1, 1)));
        Assert.Same(def, routes.Lookup(new Ipv4Address(8, 8, 8, 8)));
    }

    [Fact]
    public void Hooks_drop_with_a_counter_and_eperm_and_accept_hooks_see_everything()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var drop = new DropHook(skb => skb.Len > 100);
        var seen = new AcceptHook();
        net.A.Hooks.Register(NfHook.LocalOut, seen);
        net.A.Hooks.Register(NfHook.PostRouting, drop);
        int small = net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[10]);
        int big = net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[500]);
        Assert.Equal(0, small);
        Assert.Equal(-(int)Xmit.Errno.EPERM, big);
        Assert.Equal(1, drop.Dropped);
        Assert.Equal(2, seen.Seen);
        net.RunForMs(1);
        var inDrop = new DropHook();
        net.B.Hooks.Register(NfHook.LocalIn, inDrop);
        net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[10]);
        net.RunForMs(1);
        Assert.Equal(1, inDrop.Dropped);
    }

    [Fact]
    public void Input_rejects_bad_checksums_and_packets_for_other_hosts()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        // A frame with a corrupted header checksum, injected at B's device as if it came off the wire.
        var skb = net.Sim.Pool.AllocNetdev(60);
        var f = skb.Put(60);
        new EthernetRepr(net.DevB.Mac, net.DevA.Mac, EtherType.Ipv4).Emit(Eth(f));
        new Ipv4Repr(TwoHosts.AddrA, TwoHosts.AddrB, IpProtocol.Udp, 8).Emit(f[14..]);
        f[14 + 10] ^= 0xFF;
        net.DevB.Receive(skb);
        Assert.Equal(1, net.B.Mib.Ip.InHdrErrors);
        Assert.Equal(1, net.B.Mib.Ip.InCsumErrors);

        var other = net.Sim.Pool.AllocNetdev(60);
        var g = other.Put(60);
        new EthernetRepr(net.DevB.Mac, net.DevA.Mac, EtherType.Ipv4).Emit(Eth(g));
        new Ipv4Repr(TwoHosts.AddrA, new Ipv4Address(198, 18, 0, 50), IpProtocol.Udp, 8).Emit(g[14..]);
        net.DevB.Receive(other);
        Assert.Equal(1, net.B.Mib.Ip.InAddrErrors);
    }

    private static EthernetFrame Eth(Span<byte> b)
    {
        EthernetFrame.TryCreate(b, out var f);
        return f;
    }

    [Fact]
    public void Unknown_protocol_gets_protocol_unreachable()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var skb = net.Sim.Pool.Alloc(100);
        skb.Reserve(40);
        skb.Put(8);
        net.A.Output.Send(skb, new IpSendParams(TwoHosts.AddrA, TwoHosts.AddrB, 253));
        net.RunForMs(1);
        Assert.Equal(1, net.B.Mib.Ip.InUnknownProtos);
        Assert.Equal(1, net.B.Mib.Icmp.OutDestUnreachs);
        Assert.Equal(1, net.A.Mib.Icmp.InDestUnreachs);
    }
}
