using Xmit.Network.Ipv4;
using Xmit.Tests.Support;
using Xmit.Wire;

namespace Xmit.Tests.Network;

/// <summary>Fragment layout at MTU 1500 as linux-truth measured it ("UDP: fragmentation at MTU 1500").</summary>
public class FragmentationTests
{
    private static List<(int Offset, int DataLen, bool Mf, bool Df, ushort Id)> Ipv4Sent(FrameRecorder rec) =>
        rec.Sent.Where(f => f[12] == 0x08 && f[13] == 0x00).Select(f =>
        {
            Ipv4Packet.TryCreate(f.AsSpan(14), out var ip);
            return (ip.FragmentOffset, ip.TotalLength - ip.HeaderLength, ip.MoreFragments, ip.DontFragment, ip.Identification);
        }).ToList();

    [Fact]
    public void Largest_datagram_is_45_fragments_of_1480_with_the_last_415_at_65120()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var rec = FrameRecorder.On(net.DevA);
        var sink = net.B.Udp.Bind(TwoHosts.AddrB, 9);
        var payload = new byte[65507];
        new Random(3).NextBytes(payload);
        Assert.Equal(0, net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, payload));
        net.RunForMs(100);
        var frags = Ipv4Sent(rec);
        Assert.Equal(45, frags.Count);
        for (int i = 0; i < 44; i++)
        {
            Assert.Equal(i * 1480, frags[i].Offset);
            Assert.Equal(1480, frags[i].DataLen);
            Assert.True(frags[i].Mf);
        }
        // "the last 415 bytes at offset 65120": its IP length is 415 (395 bytes of data).
        Assert.Equal((65120, 415 - 20, false), (frags[44].Offset, frags[44].DataLen, frags[44].Mf));
        Assert.All(frags, f => Assert.False(f.Df));
        Assert.Single(frags.Select(f => f.Id).Distinct());
        Assert.Equal(1, net.A.Mib.Ip.FragOKs);
        Assert.Equal(45, net.A.Mib.Ip.FragCreates);
        Assert.Equal(1, net.A.Mib.Ip.OutRequests - 1); // one datagram (the warm-up ping was the other)
        // B reassembles it byte for byte.
        var buf = new byte[70000];
        var got = net.B.Udp.Receive(sink, buf);
        Assert.Equal(65507, got!.Value.Length);
        Assert.Equal(payload, buf[..65507]);
        Assert.Equal(1, net.B.Mib.Ip.ReasmOKs);
        Assert.Equal(45, net.B.Mib.Ip.ReasmReqds);
    }

    [Theory]
    [InlineData(PmtuDisc.Want, true)]
    [InlineData(PmtuDisc.Do, true)]
    [InlineData(PmtuDisc.Dont, false)]
    public void Df_on_unfragmented_packets_follows_the_pmtu_mode(PmtuDisc mode, bool df)
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var rec = FrameRecorder.On(net.DevA);
        net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[100], mode);
        Assert.Equal(df, Ipv4Sent(rec).Single().Df);
    }

    [Fact]
    public void Df_with_do_mode_is_never_fragmented()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        int rc = net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[2000], PmtuDisc.Do);
        Assert.Equal(-(int)Xmit.Errno.EMSGSIZE, rc);
        Assert.Equal(1, net.A.Mib.Ip.FragFails);
    }

    [Fact]
    public void Route_mtu_below_the_device_mtu_decides_the_fragment_size()
    {
        using var net = new TwoHosts();
        var far = new Ipv4Address(198, 19, 0, 1);
        net.A.Routes.Add(new Route(new Ipv4Address(198, 19, 0, 0), 24, net.DevA, TwoHosts.AddrB, Mtu: 576));
        net.WarmUp();
        var rec = FrameRecorder.On(net.DevA);
        net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, far, 9, new byte[1000]);
        net.RunForMs(10);
        var frags = Ipv4Sent(rec);
        Assert.Equal([552, 456], frags.Select(f => f.DataLen));
        Assert.Equal(552, frags[1].Offset);
    }

    [Fact]
    public void A_frag_list_built_to_size_leaves_as_is_with_each_fragment_charged_on_its_own()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var rec = FrameRecorder.On(net.DevA);
        var sk = net.A.Udp.Bind(TwoHosts.AddrA, 7000);
        // What ip_append_data builds for 2000 bytes: a head with the IP header and 1480 bytes, then a 528-byte skb.
        var pool = net.Sim.Pool;
        var head = pool.Alloc(1500 + 31);
        head.Reserve(16);
        var h = head.Put(1500);
        new Ipv4Repr(TwoHosts.AddrA, TwoHosts.AddrB, 253, 2008).Emit(h);
        var tail = pool.Alloc(528 + 20 + 31);
        tail.Reserve(16 + 20);
        tail.Put(528).Fill(0x5A);
        head.AppendToFragList(tail);
        sk.SetOwnerW(head);
        long charged = sk.WmemAlloc;
        Assert.Equal(head.Truesize, charged);
        var route = net.A.Routes.Lookup(TwoHosts.AddrB)!;
        Assert.Equal(0, net.A.Output.LocalOut(head, route));
        Assert.True(sk.WmemAlloc > 0);
        net.RunForMs(10);
        var frags = Ipv4Sent(rec);
        Assert.Equal([(0, 1480, true), (1480, 528, false)], frags.Select(f => (f.Offset, f.DataLen, f.Mf)));
        Assert.Equal(1, net.A.Mib.Ip.FragOKs);
        Assert.Equal(0, sk.WmemAlloc);
    }
}
