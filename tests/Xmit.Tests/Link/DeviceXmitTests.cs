using Xmit.Buffers;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Link.Qdiscs;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Link;

public class DeviceXmitTests
{
    [Fact]
    public void Empty_idle_qdisc_is_bypassed_and_counted_as_sent()
    {
        using var rig = new LinkRig(new RingDriverConfig { Bql = false });
        rig.Send(100);
        Assert.Single(rig.Port.Sent); // handed to the hardware synchronously
        Assert.Equal(1, rig.Txq.Qdisc.Stats.Packets);
        Assert.Equal(0, rig.Softirq.Runs);
    }

    [Fact]
    public void Tx_completion_frees_after_the_frame_left_the_wire_with_coalescing()
    {
        var ring = new RingDriverConfig { Bql = false, CoalesceFrames = 3, CoalesceDelay = Duration.FromMilliseconds(10) };
        using var rig = new LinkRig(ring, bitsPerSecond: 8_000_000); // 1 byte per microsecond
        var owner = new TestSock();
        for (int i = 0; i < 4; i++)
        {
            var skb = rig.Frame(1000);
            owner.SetOwnerW(skb);
            rig.Device.QueueXmit(skb);
        }
        long charged = owner.WmemAlloc;
        rig.Run(Duration.FromMicroseconds(2999));
        Assert.Equal(charged, owner.WmemAlloc); // frames 1-2 have left, but no interrupt yet (3 frames or 10 ms)
        rig.Run(Duration.FromMicroseconds(1));
        Assert.Equal(charged / 4, owner.WmemAlloc); // the third left at 3000 us: the interrupt frees three
        rig.Run(Duration.FromMicroseconds(10_999));
        Assert.Equal(charged / 4, owner.WmemAlloc); // the fourth left at 4000 us; its interrupt waits 10 ms
        rig.Run(Duration.FromMicroseconds(1));
        Assert.Equal(0, owner.WmemAlloc);
        Assert.Equal(2, rig.Driver.Interrupts);
        Assert.Equal(4, rig.Device.Stats.TxPackets);
        Assert.Equal(4000, rig.Device.Stats.TxBytes);
    }

    [Fact]
    public void Ring_stops_when_a_maximal_packet_no_longer_fits_and_wakes_above_the_threshold()
    {
        var ring = new RingDriverConfig { RingSize = 32, StopThreshold = 19, WakeThreshold = 24, Bql = false, CoalesceFrames = 1, CoalesceDelay = Duration.Zero };
        using var rig = new LinkRig(ring, bitsPerSecond: 8_000_000);
        for (int i = 0; i < 20; i++) rig.Send(1000);
        // 14 posted: 18 free < 19 stops the queue; the other 6 wait in the qdisc.
        Assert.True(rig.Txq.DriverStopped);
        Assert.Equal(1, rig.Txq.Stops);
        Assert.Equal(14, rig.Driver.RingPackets());
        Assert.Equal(6, rig.Txq.Qdisc.QLen);
        // Each completion frees one descriptor; at 24 free (6 done) the queue wakes and the qdisc refills the ring.
        rig.Run(Duration.FromMicroseconds(5999));
        Assert.True(rig.Txq.DriverStopped);
        rig.Run(Duration.FromMicroseconds(1));
        Assert.Equal(1, rig.Txq.Wakes);
        Assert.Equal(0, rig.Txq.Qdisc.QLen);
        rig.Run(Duration.FromMilliseconds(50));
        Assert.Equal(20, rig.Port.Sent.Count);
        Assert.Equal(0, rig.Driver.BusyReturns);
    }

    [Fact]
    public void Busy_driver_makes_the_qdisc_requeue_and_retry_when_woken()
    {
        using var rig = new LinkRig(new RingDriverConfig { Bql = false });
        var busy = new BusyOnceDriver(rig.Driver);
        rig.Device.AttachDriver(busy);
        Assert.Equal(NetXmit.Success, rig.Send(100));
        Assert.Equal(1, rig.Txq.Qdisc.Stats.Requeues);
        Assert.Equal(1, rig.Txq.Qdisc.QLen); // requeued packets count in qlen/backlog
        Assert.Empty(rig.Port.Sent);
        rig.Txq.Wake();
        rig.Run(Duration.FromMicroseconds(10));
        Assert.Single(rig.Port.Sent);
        Assert.Equal(0, rig.Txq.Qdisc.QLen);
    }

    private sealed class BusyOnceDriver(RingDriver inner) : INetDeviceDriver
    {
        private bool _refused;
        public DeviceFeatures Features => inner.Features;

        public NetdevTx StartXmit(SkBuff skb, NetdevQueue txq)
        {
            if (_refused) return inner.StartXmit(skb, txq);
            _refused = true;
            txq.Stop();
            return NetdevTx.Busy;
        }
    }

    [Fact]
    public void Qdisc_run_sends_at_most_64_then_continues_from_the_softirq()
    {
        using var rig = new LinkRig(new RingDriverConfig { RingSize = 4096, WakeThreshold = 64, Bql = false });
        rig.Device.SetRootQdisc(FifoQdisc.Packets(1000));
        rig.Txq.Stop();
        for (int i = 0; i < 150; i++) rig.Send(64);
        Assert.Equal(150, rig.Txq.Qdisc.QLen);
        rig.Txq.Wake(); // schedules the qdisc on NET_TX
        rig.Scheduler.RunOne(rig.Scheduler.Now);
        Assert.Equal(64, rig.Driver.RingPackets()); // one NET_TX run moves one quota onto the ring
        Assert.Equal(86, rig.Txq.Qdisc.QLen);
        rig.Scheduler.RunOne(rig.Scheduler.Now);
        Assert.Equal(22, rig.Txq.Qdisc.QLen);
        rig.Scheduler.RunOne(rig.Scheduler.Now);
        Assert.Equal(0, rig.Txq.Qdisc.QLen);
        Assert.Equal(150, rig.Driver.RingPackets());
        Assert.Equal(3, rig.Softirq.Runs);
    }

    [Fact]
    public void Noqueue_goes_straight_to_the_driver_and_drops_when_stopped()
    {
        using var rig = new LinkRig(new RingDriverConfig { Bql = false });
        rig.Device.SetRootQdisc(new NoQueueQdisc());
        Assert.Equal(NetXmit.Success, rig.Send(100));
        rig.Txq.Stop();
        Assert.True(rig.Send(100) < 0);
        Assert.Equal(1, rig.Device.Stats.TxDropped);
    }

    [Fact]
    public void Bql_starts_at_zero_and_grows_when_the_hardware_starves()
    {
        using var rig = new LinkRig(new RingDriverConfig { CoalesceFrames = 1, CoalesceDelay = Duration.Zero }, bitsPerSecond: 8_000_000);
        for (int i = 0; i < 50; i++) rig.Send(1000);
        Assert.True(rig.Txq.StackStopped); // limit 0: the first packet already exceeds it
        Assert.Equal(1, rig.Driver.RingPackets());
        rig.Run(Duration.FromMilliseconds(100));
        Assert.Equal(50, rig.Port.Sent.Count);
        Assert.True(rig.Txq.Dql.Limit >= 1000, $"limit {rig.Txq.Dql.Limit}");
        Assert.True(rig.Txq.BqlStops >= 1);
        Assert.Equal(0, rig.Txq.Dql.InFlight);
    }

    [Fact]
    public void Software_checksum_is_completed_before_the_driver_when_the_device_lacks_offload()
    {
        using var rig = new LinkRig(new RingDriverConfig { Bql = false });
        var rec = FrameRecorder.On(rig.Device);
        var skb = rig.Frame(14 + 20 + 8 + 4);
        var data = skb.Data;
        data.Clear();
        data[14] = 0x45;
        // UDP at offset 34, checksum field at +6; seed it with a pseudo-header sum of 0x1234 (as udp4_hwcsum would)
        data[34 + 4] = 0; data[34 + 5] = 12;
        data[34 + 6] = 0x12; data[34 + 7] = 0x34;
        skb.IpSummed = ChecksumState.Partial;
        skb.CsumStart = skb.DataOffset + 34;
        skb.CsumOffset = 6;
        rig.Device.QueueXmit(skb);
        var sent = rec.Sent.Single();
        ushort expected = Xmit.Wire.Checksum.Fold(Xmit.Wire.Checksum.Add(0, [0, 0, 0, 0, 0, 12, 0x12, 0x34, 0, 0, 0, 0]));
        Assert.Equal(expected, (ushort)(sent[40] << 8 | sent[41]));
    }
}

internal sealed class TestSock() : Xmit.Sockets.Sock(212992, 212992);
