using Xmit.Buffers;
using Xmit.Cli;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Link.Qdiscs;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Link;

/// <summary>
/// Bulk dequeue and xmit_more (issue 15 item 2): dequeue_skb() takes several skbs within BQL's budget
/// (try_bulk_dequeue_skb), dev_hard_start_xmit() tells the driver more follow, and the ring driver rings its
/// doorbell once per bulk. Expectations are Linux 6.18's net/sched/sch_generic.c and include/linux/netdevice.h.
/// </summary>
public class BulkDequeueTests
{
    /// <summary>Sees what the stack tells the driver (netdev_xmit_more) and passes everything on.</summary>
    private sealed class MoreRecorder(RingDriver inner) : INetDeviceDriver
    {
        public List<(int Len, bool More)> Calls { get; } = [];
        public DeviceFeatures Features => inner.Features;

        public NetdevTx StartXmit(SkBuff skb, NetdevQueue txq)
        {
            Calls.Add((skb.Len, txq.XmitMore));
            return inner.StartXmit(skb, txq);
        }
    }

    /// <summary>A rig whose BQL lets <paramref name="bqlBytes"/> be in flight from the start (limit_min), <paramref name="n"/> frames queued.</summary>
    private static (LinkRig Rig, MoreRecorder Rec) Queued(int n, long bqlBytes, RingDriverConfig? ring = null, bool sameLength = false)
    {
        var rig = new LinkRig(ring ?? new RingDriverConfig());
        var rec = new MoreRecorder(rig.Driver);
        rig.Device.AttachDriver(rec);
        rig.Txq.Dql.MinLimit = bqlBytes;
        rig.Txq.Dql.Reset();
        for (int i = 0; i < n; i++) Assert.Equal(NetXmit.Success, rig.Txq.Qdisc.Enqueue(rig.Frame(sameLength ? 1000 : 1000 + i)));
        return (rig, rec);
    }

    [Fact]
    public void A_bulk_is_the_first_skb_and_up_to_the_quota_more_with_one_doorbell_each()
    {
        var (rig, rec) = Queued(100, bqlBytes: 1_000_000);
        using (rig)
        {
            QdiscRunner.Run(rig.Txq.Qdisc);
            // 6.18's budget (0345552a653c): the first skb and at most 64 more; 65 > quota 64, so the rest waits for NET_TX.
            Assert.Equal(65, rec.Calls.Count);
            Assert.Equal(1, rig.Driver.Doorbells);
            Assert.All(rec.Calls.Take(64), c => Assert.True(c.More));
            Assert.False(rec.Calls[64].More);
            rig.Run(Duration.Zero);
            Assert.Equal(100, rec.Calls.Count);
            Assert.Equal(2, rig.Driver.Doorbells);
            Assert.Equal(65, rig.Driver.MaxPacketsPerDoorbell);
            Assert.False(rec.Calls[^1].More);
            Assert.Equal(Enumerable.Range(0, 100).Select(i => 1000 + i), rec.Calls.Select(c => c.Len)); // order kept
            rig.Run(Duration.FromMilliseconds(10));
            Assert.Equal(100, rig.Port.Sent.Count);
        }
    }

    [Fact]
    public void A_bulk_stops_once_it_reaches_what_bql_lets_the_queue_hold()
    {
        // dql_avail 5000 and 1000-byte frames: after the first, 4000 more may come; the fourth extra one brings it to 0
        // (not > 0), so the bulk is 5. BQL's avail is then exactly 0 — not negative, the queue stays awake — and the
        // next dequeue starts at -1000: one frame alone, after which BQL stops the queue.
        var (rig, rec) = Queued(20, bqlBytes: 5000, sameLength: true);
        using (rig)
        {
            QdiscRunner.Run(rig.Txq.Qdisc);
            Assert.Equal(new[] { true, true, true, true, false, false }, rec.Calls.Select(c => c.More));
            Assert.Equal(2, rig.Driver.Doorbells);
            Assert.Equal(5, rig.Driver.MaxPacketsPerDoorbell);
            Assert.Equal(5000, rig.Driver.MaxBytesPerDoorbell);
            Assert.True(rig.Txq.StackStopped);
            Assert.Equal(14, rig.Txq.Qdisc.QLen);
        }
    }

    [Fact]
    public void Without_bql_the_bulk_limit_is_zero_and_every_packet_rings_its_own_doorbell()
    {
        // qdisc_avail_bulklimit(): a driver that never reports to BQL keeps dql_avail at 0, so nothing is bulked.
        var (rig, rec) = Queued(40, bqlBytes: 0, new RingDriverConfig { Bql = false });
        using (rig)
        {
            QdiscRunner.Run(rig.Txq.Qdisc);
            rig.Run(Duration.FromMilliseconds(10));
            Assert.Equal(40, rec.Calls.Count);
            Assert.DoesNotContain(rec.Calls, c => c.More);
            Assert.Equal(40, rig.Driver.Doorbells);
            Assert.Equal(1, rig.Driver.MaxPacketsPerDoorbell);
        }
    }

    [Fact]
    public void A_driver_that_stops_midway_kicks_what_it_has_and_the_rest_is_requeued_then_sent_one_by_one()
    {
        // 32 descriptors, stop below 19 free: the 14th post stops the queue, so it is kicked although more was set;
        // dev_hard_start_xmit() ends the walk and the other 6 go to q->gso_skb, from where dequeue_skb() takes one at a time.
        var ring = new RingDriverConfig { RingSize = 32, StopThreshold = 19, WakeThreshold = 24, CoalesceFrames = 1, CoalesceDelay = Duration.Zero };
        var (rig, rec) = Queued(20, bqlBytes: 1_000_000, ring);
        using (rig)
        {
            QdiscRunner.Run(rig.Txq.Qdisc);
            Assert.Equal(14, rec.Calls.Count);
            Assert.True(rec.Calls[13].More);
            Assert.Equal(1, rig.Driver.Doorbells);
            Assert.Equal(6, rig.Txq.Qdisc.Stats.Requeues);
            Assert.Equal(6, rig.Txq.Qdisc.RequeuedLen);
            rig.Run(Duration.FromMilliseconds(10));
            Assert.Equal(20, rig.Port.Sent.Count);
            Assert.Equal(Enumerable.Range(0, 20).Select(i => 1000 + i), rig.Port.Sent.Select(s => s.Length));
            Assert.All(rec.Calls.Skip(14), c => Assert.False(c.More));
            Assert.Equal(1 + 6, rig.Driver.Doorbells);
        }
    }

    [Fact]
    public void Tbf_bulks_too_because_the_flag_is_one_tx_queue_not_the_kind_of_qdisc()
    {
        // TCQ_F_ONETXQUEUE is set on every root qdisc of a single-queue device (qdisc_create), tbf included: its full
        // bucket releases a burst that leaves as one bulk, and then one packet per token refill.
        var rig = new LinkRig();
        using (rig)
        {
            rig.Device.SetRootQdisc(new TbfQdisc(rig.Scheduler, new TbfConfig(8_000_000, 10_000, 1_000_000)));
            rig.Txq.Dql.MinLimit = 1_000_000;
            rig.Txq.Dql.Reset();
            var q = rig.Txq.Qdisc;
            for (int i = 0; i < 30; i++) q.Enqueue(rig.Frame(1000));
            QdiscRunner.Run(q);
            Assert.Equal(1, rig.Driver.Doorbells);
            Assert.Equal(10, rig.Driver.MaxPacketsPerDoorbell); // burst 10000 bytes = 10 frames
            rig.Run(Duration.FromMilliseconds(100));
            Assert.Equal(30, rig.Port.Sent.Count);
            Assert.Equal(1 + 20, rig.Driver.Doorbells);
        }
    }

    [Fact]
    public void Udp_flood_through_pfifo_fast_rings_fewer_doorbells_than_packets_within_bql_and_delivers_the_same()
    {
        // 100 Mbit/s with TX interrupts coalesced over up to 1 ms: several completions per interrupt let BQL's limit
        // grow, so the qdisc's backlog leaves in bulks.
        var bulky = new UdpFlood(new UdpFloodConfig { Duration = Duration.FromMilliseconds(300), Device = new DeviceKnobs { TxUsecs = Duration.FromMilliseconds(1), TxFrames = 64 } }).Run();
        var d = bulky.Device;
        Assert.Equal(d.TxPackets, d.DoorbellPackets);
        Assert.True(d.Doorbells < d.TxPackets / 2, $"{d.Doorbells} doorbells for {d.TxPackets} packets");
        Assert.InRange(d.MaxPacketsPerDoorbell, 2, QdiscRunner.Quota + 1);
        Assert.True(d.MaxBytesPerDoorbell <= d.BqlLimit + 1514, $"{d.MaxBytesPerDoorbell} bytes in one doorbell, BQL limit {d.BqlLimit}");
        Assert.Equal(0, bulky.LeakedSkbs);
        foreach (var layer in bulky.Ledger) Assert.True(layer.Balanced, layer.Describe());

        // The default ring interrupts after every frame at this rate: BQL stays at two frames and nothing bulks.
        var single = new UdpFlood(new UdpFloodConfig { Duration = Duration.FromMilliseconds(300) }).Run();
        Assert.Equal(single.Device.TxPackets, single.Device.Doorbells);

        var text = new StringWriter();
        TextReport.Write(bulky, text);
        Assert.Contains($"doorbells {d.Doorbells} for {d.TxPackets} packets", text.ToString(), StringComparison.Ordinal);
    }
}
