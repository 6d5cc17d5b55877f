using Xmit.Buffers;
using Xmit.Link;
using Xmit.Link.Qdiscs;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Link;

/// <summary>
/// sch_fq as net/sched/sch_fq.c defines it (this kernel has no fq to measure): the fast path, round robin with an
/// initial quantum of 10 and a quantum of 2 packets, departure times, horizon, flow limit, maxrate; and TCP through it —
/// paced by the departure times TCP stamps once fq marks the socket, and two flows sharing a bottleneck fairly.
/// </summary>
public class FqQdiscTests
{
    private const int Psched = 1514; // an Ethernet device with MTU 1500: quantum 3028, initial quantum 15140

    /// <summary>A connected socket as fq sees one: its own flow, unlimited pacing rate.</summary>
    private sealed class Owner(string name) : ISkbOwner
    {
        public void SetOwnerW(SkBuff skb) => skb.Sk = this;
        public int TxQueueMapping { get; set; } = -1;
        public bool CachesTxQueue => true;
        public ulong SkPacingRate => ulong.MaxValue;
        public SkPacingStatus PacingStatus { get; set; }
        public override string ToString() => name;
    }

    private static SkBuff Packet(SkBuffPool pool, Owner owner, int id, Instant deliveryTime = default)
    {
        var skb = pool.Alloc(Psched);
        skb.Put(Psched);
        skb.Sk = owner;
        skb.Mark = (uint)id;
        skb.DeliveryTime = deliveryTime;
        return skb;
    }

    private static List<string> DequeueAll(FqQdisc fq)
    {
        var order = new List<string>();
        while (fq.Dequeue() is { } skb)
        {
            order.Add($"{skb.Sk}{skb.Mark}");
            skb.Consume();
        }
        return order;
    }

    [Fact]
    public void Flows_are_served_round_robin_new_flows_with_the_initial_quantum_then_a_quantum_each()
    {
        var clock = new VirtualScheduler();
        var pool = new SkBuffPool();
        var fq = new FqQdisc(clock, new FqConfig(), Psched);
        Assert.Equal((3028, 15140), (fq.Quantum, fq.InitialQuantum));
        Owner a = new("A"), b = new("B");
        for (int i = 1; i <= 30; i++) Assert.Equal(NetXmit.Success, fq.Enqueue(Packet(pool, a, i)));
        for (int i = 1; i <= 30; i++) Assert.Equal(NetXmit.Success, fq.Enqueue(Packet(pool, b, i)));
        Assert.True(a.PacingStatus == SkPacingStatus.Fq && b.PacingStatus == SkPacingStatus.Fq); // SK_PACING_FQ: TCP would now stamp departure times
        Assert.Equal(8, fq.FastpathPackets); // A's first 8 found nothing eligible ahead of them
        Assert.Equal(2, fq.Flows);

        var expected = new List<string>();
        for (int i = 1; i <= 8; i++) expected.Add($"A{i}");   // the fast path first
        for (int i = 9; i <= 18; i++) expected.Add($"A{i}");  // new flow A: 15140 bytes of initial quantum
        for (int i = 1; i <= 10; i++) expected.Add($"B{i}");  // new flow B: the same
        int na = 19, nb = 11;
        while (na <= 30 || nb <= 30) // then old flows, 3028 bytes (two packets) a turn
        {
            for (int k = 0; k < 2 && na <= 30; k++) expected.Add($"A{na++}");
            for (int k = 0; k < 2 && nb <= 30; k++) expected.Add($"B{nb++}");
        }
        Assert.Equal(expected, DequeueAll(fq));
        Assert.Equal(0, fq.QLen);
        Assert.Equal(2, fq.InactiveFlows);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_packet_leaves_at_its_departure_time_and_one_beyond_the_horizon_is_dropped()
    {
        var clock = new VirtualScheduler();
        var pool = new SkBuffPool();
        var fq = new FqQdisc(clock, new FqConfig(), Psched);
        var a = new Owner("A");
        Assert.Equal(NetXmit.Success, fq.Enqueue(Packet(pool, a, 1, clock.Now + Duration.FromMilliseconds(2))));
        Assert.Equal(NetXmit.Success, fq.Enqueue(Packet(pool, a, 2, clock.Now + Duration.FromMilliseconds(3))));
        Assert.Null(fq.Dequeue()); // not yet: the flow is throttled until 2 ms
        Assert.Equal(1, fq.ThrottledFlows);
        clock.RunFor(Duration.FromMilliseconds(2));
        var first = fq.Dequeue()!;
        Assert.Equal(1u, first.Mark);
        first.Consume();
        Assert.Null(fq.Dequeue());
        clock.RunFor(Duration.FromMilliseconds(1));
        var second = fq.Dequeue()!;
        Assert.Equal(2u, second.Mark);
        second.Consume();

        Assert.Equal(NetXmit.Drop, fq.Enqueue(Packet(pool, a, 3, clock.Now + Duration.FromSeconds(11))));
        Assert.Equal(1, fq.HorizonDrops);
        Assert.Equal(1, fq.Stats.Drops);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_flow_holds_at_most_flow_limit_packets()
    {
        var clock = new VirtualScheduler();
        var pool = new SkBuffPool();
        var fq = new FqQdisc(clock, new FqConfig(), Psched);
        var a = new Owner("A");
        int dropped = 0;
        for (int i = 0; i < 120; i++) if (fq.Enqueue(Packet(pool, a, i)) == NetXmit.Drop) dropped++;
        // 8 take the fast path, 100 fill the flow, the other 12 are dropped (FQ_FLOW_LIMIT).
        Assert.Equal(12, dropped);
        Assert.Equal(12, fq.FlowsPlimit);
        Assert.Equal(108, fq.QLen);
        fq.Reset();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Maxrate_paces_packets_without_a_departure_time()
    {
        using var rig = new LinkRig(bitsPerSecond: 1_000_000_000);
        var fq = new FqQdisc(rig.Scheduler, new FqConfig(MaxRateBytesPerSecond: 125_000), Psched); // 1 Mbit/s
        rig.Device.SetRootQdisc(fq);
        for (int i = 0; i < 40; i++) Assert.Equal(NetXmit.Success, rig.Send(1514));
        rig.Run(Duration.FromSeconds(2));
        var sent = rig.Port.Sent;
        Assert.Equal(40, sent.Count);
        // Past the initial quantum (10 packets at once), a quantum's worth (two packets) per gap of 3028 bytes at 1 Mbit/s.
        Assert.True(sent[9].Start - sent[0].Start < Duration.FromMicroseconds(150), "the initial quantum left at line rate");
        double seconds = (sent[38].Start - sent[10].Start).TotalSeconds;
        double rate = 14 * 3028 / seconds;
        Assert.InRange(rate, 125_000 * 0.95, 125_000 * 1.05);
        Assert.True(fq.ThrottledEvents >= 14, $"{fq.ThrottledEvents} throttles"); // once per pair
    }

    [Fact]
    public void Tcp_through_fq_is_paced_where_pfifo_fast_sends_in_bursts()
    {
        var fqBurst = Burstiness(dev => new FqQdisc(dev.Scheduler, new FqConfig(), dev.Mtu + dev.HardHeaderLength), out var fqPaced, out long fqThrottled);
        var pfifoBurst = Burstiness(dev => new PfifoFastQdisc(dev.TxQueueLen), out var pfifoPaced, out _);
        Assert.True(fqPaced, "fq did not mark the socket SK_PACING_FQ");
        Assert.False(pfifoPaced);
        Assert.True(fqThrottled > 10, $"fq throttled the flow {fqThrottled} times");
        // The most bytes in any millisecond: fq spreads each window over the RTT; pfifo_fast lets it out at line rate.
        Assert.True(fqBurst * 3 < pfifoBurst, $"largest 1 ms burst: fq {fqBurst} bytes, pfifo_fast {pfifoBurst} bytes");
    }

    /// <summary>
    /// 2 MB over 10 Gbit/s with 5 ms each way: slow start, its pacing rate (twice cwnd per RTT) far below the line rate.
    /// Returns the most bytes A's device sent in any millisecond.
    /// </summary>
    private static long Burstiness(Func<NetDevice, Qdisc> qdisc, out bool paced, out long throttled)
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 10_000_000_000, Propagation = Duration.FromMilliseconds(5) });
        var root = qdisc(net.DevA);
        net.DevA.SetRootQdisc(root);
        var bins = new Dictionary<long, long>();
        net.DevA.AddTap(new BinTap(net.Sim, bins));
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5201);
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 2 << 20, seed: 1));
        paced = tcp.ClientSock.PacingStatus == SkPacingStatus.Fq;
        throttled = (root as FqQdisc)?.ThrottledEvents ?? 0;
        tcp.Close();
        return bins.Values.Max();
    }

    private sealed class BinTap(Simulation.Simulation sim, Dictionary<long, long> bins) : IPacketTap
    {
        public void OnPacket(NetDevice device, SkBuff skb, bool outgoing)
        {
            if (!outgoing || skb.Len < 1000) return;
            long bin = sim.Now.Nanoseconds / 1_000_000;
            bins[bin] = bins.GetValueOrDefault(bin) + skb.Len;
        }
    }

    [Fact]
    public void Two_tcp_flows_share_an_fq_bottleneck_fairly()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMicroseconds(500) });
        var fq = new FqQdisc(net.Sim.Scheduler, new FqConfig(), net.DevA.Mtu + net.DevA.HardHeaderLength);
        net.DevA.SetRootQdisc(fq);
        net.WarmUp();
        var flows = new[] { TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5301), TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5302) };
        var data = new byte[1 << 16];
        var buf = new byte[1 << 17];
        var got = new long[2];
        long[] atMark = [0, 0];
        var mark = net.Sim.Now + Duration.FromMilliseconds(500);
        var end = mark + Duration.FromMilliseconds(500);
        while (net.Sim.Now < end)
        {
            if (net.Sim.Now >= mark && atMark[0] == 0) atMark = [got[0], got[1]];
            for (int i = 0; i < 2; i++)
            {
                flows[i].A.Write(flows[i].Client, data);
                while (flows[i].B.Read(flows[i].Server, buf) is > 0 and var r) got[i] += r;
            }
            net.RunFor(Duration.FromMilliseconds(1));
        }
        long x = got[0] - atMark[0], y = got[1] - atMark[1];
        Assert.True(x + y > 5_500_000, $"{x + y} bytes in the last half second at 100 Mbit/s");
        Assert.InRange(x / (double)y, 0.9, 1.1);
        Assert.True(fq.Flows >= 2, $"{fq.Flows} flows"); // each socket has its own
        foreach (var f in flows) f.Close();
    }
}
