using Xmit.Buffers;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Network;

/// <summary>Reassembly at B, fed hand-made fragments through B's device as if they came off the wire.</summary>
public class ReassemblyTests
{
    private static void Inject(TwoHosts net, ushort id, int offset, bool more, byte[] data, byte fill = 0)
    {
        int ipLen = 20 + data.Length;
        var skb = net.Sim.Pool.AllocNetdev(14 + ipLen);
        var f = skb.Put(14 + ipLen);
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(net.DevB.Mac, net.DevA.Mac, EtherType.Ipv4).Emit(eth);
        data.CopyTo(f[34..]);
        new Ipv4Repr(TwoHosts.AddrA, TwoHosts.AddrB, IpProtocol.Udp, data.Length, Identification: id, MoreFragments: more, FragmentOffset: offset).Emit(f[14..]);
        _ = fill;
        net.DevB.Receive(skb);
    }

    /// <summary>A UDP datagram of <paramref name="payload"/> bytes (header + payload) ready to cut into fragments.</summary>
    private static byte[] Datagram(int payload)
    {
        var d = new byte[8 + payload];
        for (int i = 0; i < payload; i++) d[8 + i] = (byte)(i * 7);
        new UdpRepr(7000, 9, payload).Emit(d, TwoHosts.AddrA, TwoHosts.AddrB);
        return d;
    }

    [Fact]
    public void Out_of_order_fragments_are_reassembled_and_charged_with_their_truesize()
    {
        using var net = new TwoHosts();
        var sk = net.B.Udp.Bind(TwoHosts.AddrB, 9);
        var d = Datagram(2992); // 3000 bytes of UDP: 1480 + 1480 + 40
        Inject(net, 7, 2960, false, d[2960..]);
        Inject(net, 7, 0, true, d[..1480]);
        Assert.Empty(sk.ReceiveQueue.ToEnumerable());
        Inject(net, 7, 1480, true, d[1480..2960]);
        Assert.Equal(1, net.B.Mib.Ip.ReasmOKs);
        Assert.Equal(3, net.B.Mib.Ip.ReasmReqds);
        var buf = new byte[3000];
        var r = net.B.Udp.Receive(sk, buf);
        Assert.Equal(2992, r!.Value.Length);
        Assert.Equal(d[8..], buf[..2992]);
        Assert.Equal(0, net.B.Reassembler.Memory);
    }

    [Fact]
    public void A_fragment_set_longer_than_an_ipv4_datagram_is_dropped_not_reassembled()
    {
        using var net = new TwoHosts();
        var sk = net.B.Udp.Bind(TwoHosts.AddrB, 9);
        // 44 fragments of 1480 bytes and a last one of 1408 from offset 65,120 (the field still holds it), ending
        // at byte 66,528 of payload: 66,548 bytes with the header.
        var chunk = new byte[1480];
        for (int i = 0; i < 44; i++) Inject(net, 9, i * 1480, true, chunk);
        Inject(net, 9, 44 * 1480, false, new byte[1408]);
        Assert.Equal(0, net.B.Mib.Ip.ReasmOKs);
        Assert.Equal(1, net.B.Mib.Ip.ReasmFails);
        Assert.Empty(sk.ReceiveQueue.ToEnumerable());
        Assert.Equal(0, net.B.Reassembler.Queues);
        Assert.Equal(0, net.B.Reassembler.Memory);
    }

    [Fact]
    public void Overlapping_fragments_kill_the_queue_and_duplicates_are_ignored()
    {
        using var net = new TwoHosts();
        var sk = net.B.Udp.Bind(TwoHosts.AddrB, 9);
        var d = Datagram(2992);
        Inject(net, 8, 0, true, d[..1480]);
        Inject(net, 8, 0, true, d[..1480]); // exact duplicate: dropped alone
        Assert.Equal(1, net.B.Reassembler.Queues);
        Inject(net, 8, 1472, true, d[1472..2952]); // overlaps the first
        Assert.Equal(0, net.B.Reassembler.Queues);
        Assert.Equal(1, net.B.Reassembler.Overlaps);
        Inject(net, 8, 2960, false, d[2960..]);
        Assert.Equal(0, net.B.Mib.Ip.ReasmOKs);
        net.RunFor(Duration.FromSeconds(31)); // the new queue (last fragment only) times out
        Assert.Equal(0, sk.ReceiveQueue.Count);
    }

    [Fact]
    public void A_queue_killed_by_an_overlap_or_a_contradiction_counts_in_ReasmFails_a_duplicate_does_not()
    {
        // ip_frag_queue(): overlaps (ReasmOverlaps) and inconsistent lengths go to discard_qp, which counts ReasmFails;
        // an IPFRAG_DUP fragment is only dropped.
        using var net = new TwoHosts();
        var d = Datagram(2992);
        Inject(net, 20, 0, true, d[..1480]);
        Inject(net, 20, 0, true, d[..1480]);                 // duplicate
        Assert.Equal(0, net.B.Mib.Ip.ReasmFails);
        Inject(net, 20, 1472, true, d[1472..2952]);          // overlap
        Assert.Equal(1, net.B.Mib.Ip.ReasmFails);
        Inject(net, 21, 1480, false, d[1480..]);             // the last fragment fixes the end …
        Inject(net, 21, 3000, true, d[..16]);                // … and this one goes past it
        Assert.Equal(2, net.B.Mib.Ip.ReasmFails);
        Inject(net, 22, 8, true, d[..4]);                    // a middle fragment with no whole 8-byte block: end == offset
        Assert.Equal(3, net.B.Mib.Ip.ReasmFails);
        Assert.Equal(0, net.B.Reassembler.Queues);
    }

    [Fact]
    public void Incomplete_datagram_times_out_after_30s_with_icmp_time_exceeded_when_the_first_arrived()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        net.B.Udp.Bind(TwoHosts.AddrB, 9);
        var d = Datagram(2992);
        Inject(net, 9, 0, true, d[..1480]);
        Inject(net, 10, 1480, true, d[1480..2960]); // another datagram without its first fragment
        net.RunFor(Duration.FromSeconds(29));
        Assert.Equal(0, net.B.Mib.Ip.ReasmTimeout);
        net.RunFor(Duration.FromSeconds(2));
        Assert.Equal(2, net.B.Mib.Ip.ReasmTimeout);
        Assert.Equal(2, net.B.Mib.Ip.ReasmFails);
        Assert.Equal(1, net.B.Mib.Icmp.OutTimeExcds); // only for the one whose first fragment came
        Assert.Equal(1, net.A.Mib.Icmp.InTimeExcds);
    }

    [Fact]
    public void Fragments_are_refused_while_reassembly_memory_is_over_the_limit()
    {
        using var net = new TwoHosts();
        var d = Datagram(2992);
        // Each queued fragment costs its receive truesize; 4 MiB takes ~2000 of them.
        int n = 0;
        while (net.B.Reassembler.Memory <= net.B.Reassembler.HighThreshold)
            Inject(net, (ushort)(1000 + n++), 0, true, d[..1480]);
        long fails = net.B.Mib.Ip.ReasmFails;
        Inject(net, 60000, 0, true, d[..1480]);
        Assert.Equal(fails + 1, net.B.Mib.Ip.ReasmFails);
        Assert.True(n > 1000);
    }
}

internal static class QueueExtensions
{
    public static IEnumerable<SkBuff> ToEnumerable(this SkBuffQueue q)
    {
        for (var s = q.Peek(); s is not null; s = SkBuffQueue.NextOf(s)) yield return s;
    }
}
