using Xmit.Network.Ipv4;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Network;

/// <summary>Path MTU discovery: an ICMP fragmentation-needed lowers the MTU towards one destination for 10 minutes.</summary>
public class PmtuTests
{
    private static void FragNeeded(TwoHosts net, byte[] sentFrame, ushort mtu)
    {
        // B answers like a router on the path: type 3 code 4 with the next-hop MTU, quoting A's datagram.
        var quoted = sentFrame.AsSpan(14, 28);
        int icmpLen = 8 + quoted.Length;
        var skb = net.Sim.Pool.AllocNetdev(14 + 20 + icmpLen);
        var f = skb.Put(14 + 20 + icmpLen);
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(net.DevA.Mac, net.DevB.Mac, EtherType.Ipv4).Emit(eth);
        quoted.CopyTo(f[(34 + 8)..]);
        IcmpRepr.DestinationUnreachable(IcmpCode.FragmentationNeeded, mtu, quoted.Length).Emit(f[34..]);
        new Ipv4Repr(TwoHosts.AddrB, TwoHosts.AddrA, IpProtocol.Icmp, icmpLen).Emit(f[14..]);
        net.DevA.Receive(skb);
    }

    private static List<(int Len, bool Df, bool Mf)> Ip(FrameRecorder rec) => rec.Sent.Where(f => f[13] == 0x00 && f[23] == IpProtocol.Udp)
        .Select(f => { Ipv4Packet.TryCreate(f.AsSpan(14), out var ip); return ((int)ip.TotalLength, ip.DontFragment, ip.MoreFragments); }).ToList();

    [Fact]
    public void Frag_needed_lowers_the_path_mtu_which_df_fragments_and_emsgsize_then_follow()
    {
        using var net = new TwoHosts();
        net.B.Udp.Bind(TwoHosts.AddrB, 9); // someone listens: no port unreachable in the way
        net.WarmUp();
        var rec = FrameRecorder.On(net.DevA);
        var sk = net.A.Udp.Create();
        net.A.Udp.Connect(sk, TwoHosts.AddrB, 9);
        Assert.Equal(1400, net.A.Udp.SendMsg(sk, new byte[1400], null, MsgFlags.None));
        net.RunForMs(1);
        Assert.Equal([(1428, true, false)], Ip(rec)); // PMTUDISC_WANT: DF on a datagram that fits

        FragNeeded(net, rec.Sent.Last(), 1000);
        Assert.Equal(1000, net.A.Routes.Lookup(TwoHosts.AddrB)!.EffectiveMtu);
        Assert.Equal(1500, net.A.Routes.Lookup(new Ipv4Address(198, 18, 0, 77))!.EffectiveMtu); // only that destination
        Assert.Equal(Errno.EMSGSIZE, sk.TakeError()); // a connected socket hears it once

        rec.Frames.Clear();
        Assert.Equal(1400, net.A.Udp.SendMsg(sk, new byte[1400], null, MsgFlags.None));
        net.RunForMs(5);
        Assert.Equal([(996, false, true), (452, false, false)], Ip(rec)); // (1000 − 20) & ~7 = 976 bytes, then 432
        sk.PmtuDisc = PmtuDisc.Do;
        Assert.Equal(-(int)Errno.EMSGSIZE, net.A.Udp.SendMsg(sk, new byte[973], null, MsgFlags.None)); // 1000 − 28 = 972 fits
        Assert.Equal(972, net.A.Udp.SendMsg(sk, new byte[972], null, MsgFlags.None));

        net.RunFor(Duration.FromSeconds(600));
        Assert.Equal(1500, net.A.Routes.Lookup(TwoHosts.AddrB)!.EffectiveMtu); // mtu_expires
        net.A.Udp.Close(sk);
    }

    [Fact]
    public void A_tiny_advertised_mtu_is_raised_to_min_pmtu_and_pmtudisc_dont_sockets_hear_nothing()
    {
        using var net = new TwoHosts();
        net.B.Udp.Bind(TwoHosts.AddrB, 9); // someone listens: no port unreachable in the way
        net.WarmUp();
        var rec = FrameRecorder.On(net.DevA);
        var sk = net.A.Udp.Create();
        sk.PmtuDisc = PmtuDisc.Dont;
        net.A.Udp.Connect(sk, TwoHosts.AddrB, 9);
        net.A.Udp.SendMsg(sk, new byte[1400], null, MsgFlags.None);
        net.RunForMs(1);
        FragNeeded(net, rec.Sent.Last(), 300);
        Assert.Equal(552, net.A.Routes.Lookup(TwoHosts.AddrB)!.EffectiveMtu);
        Assert.Equal(Errno.OK, sk.Error);
        net.A.Udp.Close(sk);
    }
}
