using Xmit.Fuzz;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Network;

/// <summary>
/// A flood of incomplete fragment sets from many sources: reassembly memory stays under ipfrag_high_thresh
/// (inet_frag_find refuses new fragments above it, ReasmFails), every queue dies after ipfrag_time (ip_expire:
/// ReasmFails and ReasmTimeout), and then reassembly works again.
/// </summary>
public class FragmentFloodTests
{
    /// <summary>The first 1480 bytes of a datagram that never completes, from <paramref name="src"/>.</summary>
    private static void FirstFragment(TwoHosts net, Ipv4Address src, ushort id)
    {
        var f = new Frame();
        f.Reset("fragment");
        FrameWriter.Ethernet(f, net.DevB.Mac, net.DevA.Mac, EtherType.Ipv4);
        FrameWriter.Ipv4(f, src, TwoHosts.AddrB, IpProtocol.Udp, 1480, id, fragmentField: 0x2000);
        FrameWriter.FixChecksums(f);
        var skb = net.Sim.Pool.AllocNetdev(f.Length);
        f.Span.CopyTo(skb.Put(f.Length));
        net.DevB.Receive(skb);
    }

    [Fact]
    public void Twenty_thousand_incomplete_sets_stay_under_ipfrag_high_thresh_and_all_expire()
    {
        using var net = new TwoHosts(trackAllocations: false);
        net.WarmUp();
        var r = net.B.Reassembler;
        var ip = net.B.Mib.Ip;
        const int sets = 20_000;
        long peak = 0;
        int peakQueues = 0;
        for (int i = 0; i < sets; i++)
        {
            // Sources off the subnet, so the time-exceeded errors at expiry need no ARP (there is no route back).
            FirstFragment(net, new Ipv4Address(10, (byte)(i >> 16), (byte)(i >> 8), (byte)i), (ushort)i);
            peak = Math.Max(peak, r.Memory);
            peakQueues = Math.Max(peakQueues, r.Queues);
            if (i % 100 == 99) net.RunForMs(10); // 2 s for the whole flood
        }
        // One fragment may go over: the limit is checked before a fragment is queued.
        Assert.True(peak <= r.HighThreshold + 4096, $"reassembly memory peaked at {peak}");
        Assert.True(peakQueues < 4096, $"{peakQueues} queues");
        Assert.Equal(sets, ip.ReasmReqds);
        Assert.Equal(sets - peakQueues, ip.ReasmFails);                        // refused: inet_frag_find returned NULL
        Assert.True(net.Sim.Pool.Outstanding <= peakQueues + 16, $"{net.Sim.Pool.Outstanding} skbs held");

        net.RunFor(Duration.FromSeconds(31));                                  // ipfrag_time
        Assert.Equal(0, r.Queues);
        Assert.Equal(0, r.Memory);
        Assert.Equal(peakQueues, ip.ReasmTimeout);
        Assert.Equal(sets, ip.ReasmFails);
        Assert.Equal(0, ip.ReasmOKs);

        // Reassembly works again: a fragmented datagram from A arrives whole.
        var sk = net.B.Udp.Bind(TwoHosts.AddrB, 9);
        net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[4000]);
        net.RunForMs(10);
        Assert.Equal(1, ip.ReasmOKs);
        Assert.Equal(1, sk.ReceiveQueue.Count);
    }
}
