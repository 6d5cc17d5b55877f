using Xmit.Buffers;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Tests.Support;
using Xmit.Time;
using Timer = Xmit.Time.Timer;

namespace Xmit.Tests.Link;

/// <summary>
/// The receive side of the ring driver and the NET_RX softirq: RX descriptors refilled by NAPI, the weight of a poll,
/// netdev_budget and netdev_budget_usecs per round (time_squeeze), and frames missed in the ring (rx_missed_errors)
/// when the receiver's per-packet cost makes it slower than the link.
/// </summary>
public class RxRingTests
{
    /// <summary>A sends a 1000-byte datagram to B every <paramref name="interval"/> (1066 wire bytes: 85 µs at 100 Mbit/s).</summary>
    private static Timer Pace(TwoHosts net, Duration interval)
    {
        Timer? t = null;
        t = new Timer(net.Sim.Scheduler, () =>
        {
            net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[1000]);
            t!.ArmAfter(interval);
        }, "pace");
        t.ArmAfter(Duration.Zero);
        return t;
    }

    [Fact]
    public void A_receiver_slower_than_the_link_misses_frames_in_the_ring_and_squeezes_the_softirq()
    {
        using var net = new TwoHosts(trackAllocations: false);
        net.B.Udp.Bind(TwoHosts.AddrB, 9, rcvBuf: 64 << 20);
        net.WarmUp();
        net.B.RxSoftirq.PacketCost = Duration.FromMicroseconds(150); // 6667 packets/s against 10000 arriving
        var pace = Pace(net, Duration.FromMicroseconds(100));
        var ring = net.Connection.RingB;

        net.RunForMs(100);
        long missedAt100 = net.DevB.Stats.RxMissedErrors;
        long squeezeAt100 = net.B.RxSoftirq.TimeSqueeze;
        net.RunForMs(100);
        pace.Disarm();
        long missedAt200 = net.DevB.Stats.RxMissedErrors;

        Assert.True(missedAt100 > 0, "the ring overran");
        Assert.True(missedAt200 > missedAt100, $"rx_missed_errors keeps rising: {missedAt100} then {missedAt200}");
        Assert.True(squeezeAt100 > 0 && net.B.RxSoftirq.TimeSqueeze > squeezeAt100, "polls of 64 × 150 µs outrun netdev_budget_usecs");
        Assert.True(ring.NapiFullPolls > 0);
        Assert.Equal(ring.Config.RxRingSize, ring.RxRingFilledMax); // every descriptor was in use when frames were missed
        // Missed frames are the NIC's, not the stack's: neither rx_dropped nor rx_errors count them.
        Assert.Equal(0, net.DevB.Stats.RxDropped);
        Assert.Equal(0, net.DevB.Stats.RxErrors);
        Assert.Contains($" {missedAt200} ", net.DevB.Stats.FormatIpSLink());

        net.RunForMs(500); // the backlog on the ring drains: every frame that arrived was either missed or handed up
        Assert.Equal(ring.RxArrivals, net.DevB.Stats.RxPackets + net.DevB.Stats.RxMissedErrors);
        Assert.Equal(0, ring.RxRingFilled);
        Assert.Equal(ring.Config.RxRingSize, ring.RxRingPosted); // refilled
        Assert.False(net.B.RxSoftirq.Running);
    }

    [Fact]
    public void A_receiver_faster_than_the_link_misses_nothing()
    {
        using var net = new TwoHosts(trackAllocations: false);
        net.B.Udp.Bind(TwoHosts.AddrB, 9, rcvBuf: 64 << 20);
        net.WarmUp();
        net.B.RxSoftirq.PacketCost = Duration.FromMicroseconds(50);
        var pace = Pace(net, Duration.FromMicroseconds(100));
        net.RunForMs(200);
        pace.Disarm();
        net.RunForMs(10);
        var ring = net.Connection.RingB;
        Assert.True(net.DevB.Stats.RxPackets > 1900);
        Assert.Equal(0, net.DevB.Stats.RxMissedErrors);
        Assert.Equal(0, net.B.RxSoftirq.TimeSqueeze);
        Assert.Equal(0, ring.NapiFullPolls);
        Assert.Equal(ring.RxArrivals, net.DevB.Stats.RxPackets);
        Assert.Equal(ring.RxArrivals, ring.RxInterrupts); // each frame was handed up before the next came: an interrupt each
    }

    [Fact]
    public void Rx_frames_coalescing_raises_one_interrupt_for_several_frames()
    {
        var config = new RingDriverConfig { RxCoalesceFrames = 8, RxCoalesceDelay = Duration.FromMilliseconds(2) };
        using var net = new TwoHosts(ring: config, trackAllocations: false);
        net.B.Udp.Bind(TwoHosts.AddrB, 9, rcvBuf: 64 << 20);
        net.WarmUp();
        var ring = net.Connection.RingB;
        long arrivals = ring.RxArrivals, irqs = ring.RxInterrupts;
        var pace = Pace(net, Duration.FromMicroseconds(100));
        net.RunFor(Duration.FromMicroseconds(100 * 64 - 50)); // 64 frames
        pace.Disarm();
        net.RunForMs(5);
        Assert.Equal(64, ring.RxArrivals - arrivals);
        Assert.Equal(8, ring.RxInterrupts - irqs); // rx-frames 8 comes before rx-usecs (2 ms = 20 frames)
        Assert.Equal(0, ring.RxRingFilled);
    }

    [Fact]
    public void Rx_usecs_raises_the_interrupt_for_a_frame_that_waits_alone()
    {
        var config = new RingDriverConfig { RxCoalesceFrames = 8, RxCoalesceDelay = Duration.FromMicroseconds(300) };
        using var net = new TwoHosts(ring: config, trackAllocations: false);
        net.B.Udp.Bind(TwoHosts.AddrB, 9, rcvBuf: 64 << 20);
        net.WarmUp();
        var ring = net.Connection.RingB;
        long irqs = ring.RxInterrupts, rx = net.DevB.Stats.RxPackets;
        net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[1000]);
        // 85 µs on the wire and 50 µs of propagation: the frame is on B's ring at ~135 µs, handed up 300 µs later.
        net.RunFor(Duration.FromMicroseconds(400));
        Assert.Equal(rx, net.DevB.Stats.RxPackets);
        Assert.Equal(1, ring.RxRingFilled);
        net.RunFor(Duration.FromMicroseconds(100));
        Assert.Equal(rx + 1, net.DevB.Stats.RxPackets);
        Assert.Equal(irqs + 1, ring.RxInterrupts);
    }

    /// <summary>A NAPI context with <see cref="Pending"/> packets; it records the softirq round each one was handed up in.</summary>
    private sealed class CountingNapi(NetRxSoftirq softirq) : Napi
    {
        public int Pending;
        public readonly List<long> HandedUpInRound = [];
        private bool _holding;

        protected internal override bool Take()
        {
            if (Pending == 0) return false;
            Pending--;
            _holding = true;
            return true;
        }

        protected internal override void HandUp()
        {
            Assert.True(_holding);
            _holding = false;
            HandedUpInRound.Add(softirq.Rounds);
        }

        protected internal override void DropTaken() => _holding = false;
    }

    [Fact]
    public void One_poll_processes_the_weight_and_the_rest_waits_for_the_next_round()
    {
        var scheduler = new VirtualScheduler();
        var softirq = new NetRxSoftirq(scheduler);
        var napi = new CountingNapi(softirq) { Pending = 100 };

        softirq.Schedule(napi, fromIrq: true); // the softirq runs at the interrupt's exit
        Assert.Equal(64, napi.HandedUpInRound.Count);
        Assert.True(napi.Scheduled); // used its whole weight: still scheduled, re-raised
        Assert.Equal(1, napi.FullPolls);
        Assert.Equal(0, softirq.TimeSqueeze); // one NAPI polled once: 64 of the 300 budget

        scheduler.RunUntilIdle(scheduler.Now + Duration.FromMilliseconds(1));
        Assert.Equal(100, napi.HandedUpInRound.Count);
        Assert.Equal(36, napi.HandedUpInRound.Count(r => r == 2));
        Assert.False(napi.Scheduled); // 36 < 64: napi_complete_done
        Assert.Equal(2, napi.Polls);
        Assert.Equal(2, softirq.Rounds);
        Assert.Equal(100, softirq.Processed);
    }

    [Fact]
    public void A_round_stops_once_netdev_budget_is_spent_and_counts_a_time_squeeze()
    {
        var scheduler = new VirtualScheduler();
        var softirq = new NetRxSoftirq(scheduler);
        var napis = Enumerable.Range(0, 6).Select(_ => new CountingNapi(softirq) { Pending = 100 }).ToList();
        foreach (var n in napis) softirq.Schedule(n, fromIrq: false);
        Assert.Equal(0, softirq.Rounds); // raised from outside an interrupt: runs later, at the same instant

        scheduler.RunUntilIdle(scheduler.Now + Duration.FromMilliseconds(1));
        // Round 1: five polls of 64 = 320 ≥ 300, then the round ends; the sixth NAPI waits for round 2.
        Assert.Equal(320, napis.Sum(n => n.HandedUpInRound.Count(r => r == 1)));
        Assert.All(napis.Take(5), n => Assert.Equal(64, n.HandedUpInRound.Count(r => r == 1)));
        Assert.Equal(0, napis[5].HandedUpInRound.Count(r => r == 1));
        Assert.Equal(64, napis[5].HandedUpInRound.Count(r => r == 2)); // first in the next round's list
        Assert.All(napis, n => Assert.Equal(100, n.HandedUpInRound.Count));
        Assert.True(softirq.TimeSqueeze >= 1);
        Assert.All(napis, n => Assert.False(n.Scheduled));
    }

    [Fact]
    public void Netdev_budget_is_a_sysctl()
    {
        var scheduler = new VirtualScheduler();
        var sysctls = new Xmit.Configuration.Sysctls();
        Assert.True(sysctls.TrySet("net.core.netdev_budget", "100", out _));
        var softirq = new NetRxSoftirq(scheduler, sysctls);
        var napis = Enumerable.Range(0, 3).Select(_ => new CountingNapi(softirq) { Pending = 64 }).ToList();
        foreach (var n in napis) softirq.Schedule(n, fromIrq: false);
        scheduler.RunUntilIdle(scheduler.Now + Duration.FromMilliseconds(1));
        // 64 + 64 = 128 ≥ 100 ends round 1 after two polls; the third NAPI goes in round 2.
        Assert.Equal(128, napis.Sum(n => n.HandedUpInRound.Count(r => r == 1)));
        Assert.Equal(64, napis[2].HandedUpInRound.Count(r => r == 2));
        Assert.Equal(1, softirq.TimeSqueeze);
    }

    [Fact]
    public void A_round_stops_once_netdev_budget_usecs_have_passed()
    {
        var scheduler = new VirtualScheduler();
        var softirq = new NetRxSoftirq(scheduler) { PacketCost = Duration.FromMicroseconds(150) };
        var napis = Enumerable.Range(0, 3).Select(_ => new CountingNapi(softirq) { Pending = 10 }).ToList();
        foreach (var n in napis) softirq.Schedule(n, fromIrq: true);
        scheduler.RunUntilIdle(scheduler.Now + Duration.FromSeconds(1));
        // Polls of 10 × 150 µs: after the first 1.5 ms < 2 ms, after the second 3 ms ≥ 2 ms: the round ends (30 packets, far from 300).
        Assert.Equal(20, napis.Sum(n => n.HandedUpInRound.Count(r => r == 1)));
        Assert.Equal(10, napis[2].HandedUpInRound.Count(r => r == 2));
        Assert.Equal(1, softirq.TimeSqueeze);
        Assert.Equal(Duration.FromMicroseconds(150 * 30), scheduler.Now - new VirtualScheduler().Now);
    }

    [Fact]
    public void Netif_rx_beyond_netdev_max_backlog_drops_and_counts_softnet_dropped()
    {
        using var net = new TwoHosts(trackAllocations: false);
        var host = net.A;
        Assert.True(host.Sysctls.TrySet("net.core.netdev_max_backlog", "10", out _));
        Assert.Equal(10, host.Backlog.MaxBacklog);
        host.Udp.Bind(Xmit.Wire.Ipv4Address.Loopback, 9, rcvBuf: 64 << 20);
        // 25 datagrams to ourselves within one instant: lo's netif_rx queues them on the backlog, which the softirq
        // only empties after the sender returns.
        for (int i = 0; i < 25; i++) host.Udp.SendDatagram(null, Xmit.Wire.Ipv4Address.Loopback, 7000, Xmit.Wire.Ipv4Address.Loopback, 9, new byte[100]);
        Assert.Equal(10, host.Backlog.Count);
        Assert.Equal(15, host.Backlog.Dropped);
        Assert.Equal(15, host.Loopback.Stats.RxDropped);
        net.RunForMs(1);
        Assert.Equal(10, host.Backlog.Processed);
        Assert.Equal(10, host.Mib.Udp.InDatagrams + host.Udp.Sockets.Sum(s => s.ReceiveQueue.Count));
    }

    [Fact]
    public void A_tcp_transfer_to_a_slow_receiver_recovers_what_its_ring_missed_byte_exact()
    {
        // A small RX ring: with 256 descriptors the receive window (tcp_rmem's 128 KiB) would hold fewer segments in flight
        // than the ring has room for, and ACK clocking alone would pace the sender to the receiver.
        using var net = new TwoHosts(ring: new RingDriverConfig { RxRingSize = 16 }, trackAllocations: false);
        net.WarmUp();
        net.B.RxSoftirq.PacketCost = Duration.FromMicroseconds(200); // 5000 packets/s against the link's 8100
        var c = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        var data = new byte[3 << 20];
        new Random(7).NextBytes(data);
        var got = new MemoryStream();
        var buf = new byte[65536];
        int sent = 0;
        var deadline = net.Sim.Now + Duration.FromSeconds(60);
        while (got.Length < data.Length && net.Sim.Now < deadline)
        {
            while (sent < data.Length && c.A.Write(c.Client, data.AsSpan(sent, Math.Min(65536, data.Length - sent))) is > 0 and var n) sent += n;
            int r;
            while ((r = c.B.Read(c.Server, buf)) > 0) got.Write(buf, 0, r);
            net.RunForMs(1);
        }
        Assert.Equal(data, got.ToArray());
        Assert.True(net.DevB.Stats.RxMissedErrors > 0, "the ring overran");
        Assert.True(net.A.Tcp.Mib.RetransSegs > 0, "and TCP resent what it missed");
        c.Close();
    }
}
