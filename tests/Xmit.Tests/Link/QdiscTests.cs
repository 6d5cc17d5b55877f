using Xmit.Buffers;
using Xmit.Link.Qdiscs;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Link;

public class QdiscTests
{
    private static SkBuff Skb(SkBuffPool pool, int len, uint prio = 0)
    {
        var s = pool.Alloc(len);
        s.Put(len);
        s.Priority = prio;
        return s;
    }

    [Theory]
    [InlineData(0u, 1)] // TC_PRIO_BESTEFFORT
    [InlineData(1u, 2)] // TC_PRIO_FILLER
    [InlineData(2u, 2)] // TC_PRIO_BULK
    [InlineData(4u, 1)] // TC_PRIO_INTERACTIVE_BULK
    [InlineData(6u, 0)] // TC_PRIO_INTERACTIVE
    [InlineData(7u, 0)] // TC_PRIO_CONTROL
    [InlineData(22u, 0)] // only the low 4 bits count
    public void Pfifo_fast_priomap(uint priority, int band) => Assert.Equal(band, PfifoFastQdisc.BandOf(priority));

    [Fact]
    public void Pfifo_fast_serves_bands_strictly_and_limits_each_band()
    {
        var pool = new SkBuffPool(true);
        var q = new PfifoFastQdisc(txQueueLen: 2);
        Assert.Equal(NetXmit.Success, q.Enqueue(Skb(pool, 100, 0)));
        Assert.Equal(NetXmit.Success, q.Enqueue(Skb(pool, 101, 1)));
        Assert.Equal(NetXmit.Success, q.Enqueue(Skb(pool, 102, 6)));
        Assert.Equal(NetXmit.Success, q.Enqueue(Skb(pool, 103, 0)));
        Assert.Equal(NetXmit.Drop, q.Enqueue(Skb(pool, 104, 0))); // band 1 full
        Assert.Equal(1, q.Stats.Drops);
        Assert.Equal(4, q.QLen);
        Assert.Equal(406, q.Backlog);
        var order = new List<int>();
        while (q.Dequeue() is { } s) { order.Add(s.Len); s.Free(); }
        Assert.Equal([102, 100, 103, 101], order);
        Assert.Equal(4, q.Stats.Packets);
        Assert.Equal(406, q.Stats.Bytes);
        Assert.Equal(0, q.Backlog);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Pfifo_limits_packets_and_bfifo_limits_bytes()
    {
        var pool = new SkBuffPool(true);
        var p = FifoQdisc.Packets(2);
        Assert.Equal(NetXmit.Success, p.Enqueue(Skb(pool, 1000)));
        Assert.Equal(NetXmit.Success, p.Enqueue(Skb(pool, 1000)));
        Assert.Equal(NetXmit.Drop, p.Enqueue(Skb(pool, 10)));
        var b = FifoQdisc.Bytes(1500);
        Assert.Equal(NetXmit.Success, b.Enqueue(Skb(pool, 1000)));
        Assert.Equal(NetXmit.Success, b.Enqueue(Skb(pool, 500)));
        Assert.Equal(NetXmit.Drop, b.Enqueue(Skb(pool, 1)));
        Assert.Equal(1, p.Stats.Drops);
        Assert.Equal(1, b.Stats.Drops);
        p.Reset(); b.Reset();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Tc_units_parse_like_tc()
    {
        Assert.Equal(1_000_000, TcUnits.ParseRate("1mbit"));
        Assert.Equal(100_000_000, TcUnits.ParseRate("100Mbit"));
        Assert.Equal(80_000, TcUnits.ParseRate("10kbps"));
        Assert.Equal(1540, TcUnits.ParseSize("1540"));
        Assert.Equal(32 * 1024, TcUnits.ParseSize("32kb"));
        Assert.False(TcUnits.TryParseRate("fast", out _, out var e));
        Assert.Contains("invalid rate", e);
        Assert.False(TcUnits.TryParseRate("10furlongs", out _, out e));
        Assert.Contains("unit", e);
    }

    /// <summary>
    /// tbf rate 1mbit burst 1540: the full bucket passes one 1000-byte frame at once; the bucket then holds
    /// 540 bytes' worth, so the second waits for 460 bytes (3.68 ms); after that one frame per 8 ms.
    /// </summary>
    [Fact]
    public void Tbf_releases_at_the_rate_after_the_burst_and_counts_overlimits()
    {
        using var rig = new LinkRig();
        rig.Device.SetRootQdisc(new TbfQdisc(rig.Scheduler, new TbfConfig(1_000_000, 1540, 10_000_000)));
        for (int i = 0; i < 5; i++) Assert.Equal(NetXmit.Success, rig.Send(1000));
        rig.Run(Duration.FromMilliseconds(100));
        var starts = rig.Port.Sent.Select(s => s.Start.Nanoseconds).ToArray();
        Assert.Equal(5, starts.Length);
        Assert.Equal(0, starts[0]);
        Assert.Equal(3_680_000, starts[1]);
        for (int i = 2; i < 5; i++) Assert.Equal(8_000_000, starts[i] - starts[i - 1]);
        var q = rig.Txq.Qdisc;
        Assert.True(q.Stats.Overlimits >= 4);
        Assert.Equal(5, q.Stats.Packets);
        Assert.Equal(0, q.Backlog);
    }

    [Fact]
    public void Tbf_drops_what_exceeds_its_limit_or_its_bucket()
    {
        using var rig = new LinkRig();
        var tbf = new TbfQdisc(rig.Scheduler, new TbfConfig(1_000_000, 1540, 3000));
        rig.Device.SetRootQdisc(tbf);
        int dropped = 0;
        for (int i = 0; i < 20; i++) if (rig.Send(1000) == NetXmit.Drop) dropped++;
        // One leaves at once, three wait (3000 bytes), sixteen are dropped — the qdisc drop linux-truth shows.
        Assert.Equal(16, dropped);
        Assert.Equal(16, tbf.Stats.Drops);
        Assert.Equal(NetXmit.Drop, rig.Send(1600)); // larger than the bucket: could never leave
        Assert.Throws<ArgumentException>(() => new TbfQdisc(rig.Scheduler, new TbfConfig(0, 1, 1)));
    }

    [Fact]
    public void Tbf_peakrate_spaces_a_burst()
    {
        using var rig = new LinkRig();
        rig.Device.SetRootQdisc(new TbfQdisc(rig.Scheduler, new TbfConfig(1_000_000, 10_000, 100_000, PeakRateBitsPerSecond: 10_000_000, MtuBytes: 1500)));
        for (int i = 0; i < 3; i++) rig.Send(1000);
        rig.Run(Duration.FromMilliseconds(50));
        var starts = rig.Port.Sent.Select(s => s.Start.Nanoseconds).ToArray();
        // The rate bucket holds the whole burst; the peak bucket (1500 bytes at 10 Mbit/s) lets one through, then one per 0.8 ms.
        Assert.Equal(0, starts[0]);
        Assert.Equal(800_000 - (1_200_000 - 800_000), starts[1]); // 500 bytes of peak credit left: wait 400 us
        Assert.Equal(800_000, starts[2] - starts[1]);
    }
}
