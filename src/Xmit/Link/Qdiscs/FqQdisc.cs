using System.Globalization;
using Xmit.Buffers;
using Xmit.Time;

namespace Xmit.Link.Qdiscs;

/// <summary>fq's parameters as `tc qdisc add … fq [limit P] [flow_limit P] [quantum B] [initial_quantum B] [maxrate R] [horizon T]` gives them.</summary>
/// <param name="Limit">packets per band (sch->limit, default 10000).</param>
/// <param name="FlowLimit">packets per flow (flow_plimit, default 100).</param>
/// <param name="Quantum">credit a flow gets per round (default 2 × the device's MTU + link header).</param>
/// <param name="InitialQuantum">credit of a new flow (default 10 × that).</param>
/// <param name="MaxRateBytesPerSecond">a cap on every flow's rate (maxrate), 0 for none.</param>
public sealed record FqConfig(int Limit = 10000, int FlowLimit = 100, int Quantum = 0, int InitialQuantum = 0, long MaxRateBytesPerSecond = 0)
{
    /// <summary>How far ahead a departure time may be (horizon 10 s); beyond it the packet is dropped (horizon_drop).</summary>
    public Duration Horizon { get; init; } = Duration.FromSeconds(10);

    /// <summary>An idle flow that comes back after this long gets at least a quantum of credit (refill_delay 40 ms).</summary>
    public Duration RefillDelay { get; init; } = Duration.FromMilliseconds(40);

    public string? Validate()
    {
        if (Limit < 1) return "fq: limit must be at least 1 packet";
        if (FlowLimit < 1) return "fq: flow_limit must be at least 1 packet";
        if (Quantum is < 0 or > 1 << 20) return "fq: quantum must be 1 to 1048576 bytes";
        if (InitialQuantum < 0) return "fq: initial_quantum must not be negative";
        if (MaxRateBytesPerSecond < 0) return "fq: maxrate must not be negative";
        return null;
    }
}

/// <summary>
/// The fair queue: one FIFO per socket (or per flow hash for packets without a connected socket), served round robin
/// with a byte credit per flow (quantum, a larger initial quantum for new flows, new flows before old ones), three
/// priority bands by weight, and pacing — each packet waits until its departure time (the EDT TCP stamps on it once
/// fq has marked the socket SK_PACING_FQ, or the flow's rate for packets without one), a throttled flow waking by the
/// qdisc watchdog. Packets that find the qdisc idle and are due take the fast path.
/// </summary>
/// <remarks>Linux: net/sched/sch_fq.c fq_enqueue(), fq_classify(), fq_fastpath_check(), fq_dequeue(), fq_check_throttled(), fq_gc()</remarks>
public sealed class FqQdisc : Qdisc
{
    private const int Bands = 3;
    private const int Buckets = 1024; // fq_trees_log 10: only printed; flows are found by dictionary
    private const uint OrphanMask = Buckets - 1;
    private static readonly Duration GcAge = Duration.FromSeconds(3); // FQ_GC_AGE
    private static readonly int[] BandWeights = [9 << 16, 3 << 16, 1 << 16];
    private const long LowRateThreshold = 550_000 / 8; // bytes per second

    private readonly IScheduler _clock;
    private readonly Timer _watchdog;
    private readonly Dictionary<ISkbOwner, Flow> _socketFlows = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<uint, Flow> _orphanFlows = [];
    private readonly List<Flow> _gcVictims = [];
    private readonly Band[] _bands = [new(BandWeights[0]), new(BandWeights[1]), new(BandWeights[2])];
    private readonly int[] _bandPackets = new int[Bands];
    private readonly Flow _internal = new(null, 0); // the fast path's FIFO
    private readonly List<Flow> _throttled = []; // sorted by TimeNextPacket (q->delayed)
    private Instant _timeNextDelayedFlow = Instant.Never;
    private int _bandNr;

    /// <param name="clock">the host's clock (departure times, the watchdog).</param>
    /// <param name="config">tc's parameters.</param>
    /// <param name="pschedMtu">psched_mtu() of the device: its MTU plus its link header (1514 for Ethernet, 1500 for a TUN device).</param>
    public FqQdisc(IScheduler clock, FqConfig config, int pschedMtu)
    {
        if (config.Validate() is { } error) ThrowHelper.Argument(error, nameof(config));
        _clock = clock;
        Config = config;
        Quantum = config.Quantum > 0 ? config.Quantum : 2 * pschedMtu;
        InitialQuantum = config.InitialQuantum > 0 ? config.InitialQuantum : 10 * pschedMtu;
        _watchdog = new Timer(clock, Schedule, "fq-watchdog");
    }

    public FqConfig Config { get; }
    public int Quantum { get; }
    public int InitialQuantum { get; }
    public override string Kind => "fq";

    /// <summary>Flows known (q->flows), those with nothing queued, and those waiting for their departure time.</summary>
    public int Flows { get; private set; }
    public int InactiveFlows { get; private set; }
    public int ThrottledFlows => _throttled.Count;

    /// <summary>stat_throttled, stat_gc_flows, stat_flows_plimit, stat_horizon_drops, stat_band_drops, fastpath packets.</summary>
    public long ThrottledEvents { get; private set; }
    public long GcFlows { get; private set; }
    public long FlowsPlimit { get; private set; }
    public long HorizonDrops { get; private set; }
    public long BandDrops { get; private set; }
    public long FastpathPackets { get; private set; }

    public override string Parameters =>
        string.Create(CultureInfo.InvariantCulture, $"limit {Config.Limit}p flow_limit {Config.FlowLimit}p quantum {Quantum}b initial_quantum {InitialQuantum}b")
        + (Config.MaxRateBytesPerSecond > 0 ? " maxrate " + TcUnits.FormatRate(Config.MaxRateBytesPerSecond * 8) : "");

    /// <remarks>iproute2 6.1 tc/q_fq.c fq_print_opt()</remarks>
    public override string TcOptions =>
        string.Create(CultureInfo.InvariantCulture, $"limit {Config.Limit}p flow_limit {Config.FlowLimit}p buckets {Buckets} orphan_mask {OrphanMask} quantum {Quantum}b initial_quantum {InitialQuantum}b ")
        + (Config.MaxRateBytesPerSecond > 0 ? "maxrate " + TcUnits.FormatRate(Config.MaxRateBytesPerSecond * 8) + " " : "")
        + "low_rate_threshold 550Kbit refill_delay 40ms timer_slack 10us horizon 10s horizon_drop";

    private sealed class Flow(ISkbOwner? sk, uint orphanHash)
    {
        public readonly ISkbOwner? Sk = sk;
        public readonly uint OrphanHash = orphanHash;
        public readonly SkBuffQueue Queue = new(); // by time to send
        public int Credit;
        public int Band;
        public Instant TimeNextPacket;
        public Instant DetachedAt = Instant.Zero; // f->age: when it left the round robin (Never while on a list)
        public bool Detached = true;
        public Flow? Next;
    }

    private sealed class Band(int quantum)
    {
        public readonly int Quantum = quantum;
        public int Credit = quantum;
        public readonly FlowList New = new(), Old = new();
    }

    private sealed class FlowList
    {
        public Flow? First, Last;

        public void AddTail(Flow f)
        {
            f.Next = null;
            if (First is null) First = f;
            else Last!.Next = f;
            Last = f;
        }

        public void RemoveFirst() => First = First!.Next;
    }

    protected override int DoEnqueue(SkBuff skb)
    {
        var now = _clock.Now;
        int band = PfifoFastQdisc.BandOf(skb.Priority); // sch_default_prio2band, as pfifo_fast's
        if (_bandPackets[band] >= Config.Limit)
        {
            BandDrops++;
            return Drop(skb, SkbDropReason.FqBandLimit);
        }
        if (skb.DeliveryTime == Instant.Zero) skb.QdiscCb.TimeToSend = now;
        else
        {
            if (skb.DeliveryTime > now + Config.Horizon)
            {
                HorizonDrops++;
                return Drop(skb, SkbDropReason.FqHorizonLimit);
            }
            skb.QdiscCb.TimeToSend = skb.DeliveryTime;
        }

        var f = Classify(skb, now);
        if (f != _internal)
        {
            if (f.Queue.Count >= Config.FlowLimit)
            {
                FlowsPlimit++;
                return Drop(skb, SkbDropReason.FqFlowLimit);
            }
            if (f.Detached)
            {
                _bands[band].New.AddTail(f);
                f.Detached = false;
                if (now - f.DetachedAt > Config.RefillDelay) f.Credit = Math.Max(f.Credit, Quantum);
            }
            f.Band = band;
            _bandPackets[band]++;
            skb.QdiscCb.Band = (byte)band;
            if (f.Queue.Count == 0) InactiveFlows--;
        }
        AddByTime(f.Queue, skb);
        return NetXmit.Success;
    }

    /// <summary>flow_queue_add(): in order of departure time, at the tail when it is not earlier than the tail's.</summary>
    private static void AddByTime(SkBuffQueue q, SkBuff skb)
    {
        var tail = q.PeekTail();
        if (tail is null || skb.QdiscCb.TimeToSend >= tail.QdiscCb.TimeToSend)
        {
            q.Enqueue(skb);
            return;
        }
        var at = q.Peek()!;
        while (at.QdiscCb.TimeToSend <= skb.QdiscCb.TimeToSend) at = SkBuffQueue.NextOf(at)!;
        q.InsertBefore(at, skb);
    }

    /// <summary>fq_classify(): a socket whose packets fq takes is paced by fq from now on (SK_PACING_FQ, replacing TCP's own pacing).</summary>
    private static void MarkPaced(ISkbOwner sk) => sk.PacingStatus = SkPacingStatus.Fq;

    /// <summary>
    /// fq_classify(): the socket's flow; packets without a connected socket (a request socket's SYN-ACK, an RST, an
    /// unconnected UDP socket's datagrams) share a flow per hash. A due packet finding nothing eligible takes the fast path.
    /// A socket whose packets fq takes is marked SK_PACING_FQ.
    /// </summary>
    private Flow Classify(SkBuff skb, Instant now)
    {
        var sk = skb.Sk is { CachesTxQueue: true } owner ? owner : null;
        uint orphan = 0;
        // The host's hashrnd, as netdev_pick_tx uses: the same flow gets the same hash in both.
        if (sk is null) orphan = FlowHash.Get(skb, DevQueue?.Device.FlowHashSeed ?? 0) & OrphanMask;
        if (FastpathAllowed(skb, now))
        {
            FastpathPackets++;
            if (sk is not null) MarkPaced(sk);
            return _internal;
        }
        if (sk is not null ? _socketFlows.TryGetValue(sk, out var found) : _orphanFlows.TryGetValue(orphan, out found)) return found;
        CollectIdleFlows(now);
        var flow = new Flow(sk, orphan) { Credit = InitialQuantum, DetachedAt = now };
        if (sk is not null)
        {
            MarkPaced(sk);
            _socketFlows.Add(sk, flow);
        }
        else _orphanFlows.Add(orphan, flow);
        Flows++;
        InactiveFlows++;
        return flow;
    }

    /// <summary>
    /// fq_gc(): flows detached (idle, off the round robin) for more than 3 s are freed. Linux looks at those on the tree
    /// path of a lookup; here, at every new flow, all of them.
    /// </summary>
    private void CollectIdleFlows(Instant now)
    {
        _gcVictims.Clear();
        foreach (var f in _socketFlows.Values) if (IsGcCandidate(f, now)) _gcVictims.Add(f);
        foreach (var f in _orphanFlows.Values) if (IsGcCandidate(f, now)) _gcVictims.Add(f);
        foreach (var f in _gcVictims)
        {
            if (f.Sk is not null) _socketFlows.Remove(f.Sk);
            else _orphanFlows.Remove(f.OrphanHash);
        }
        Flows -= _gcVictims.Count;
        InactiveFlows -= _gcVictims.Count;
        GcFlows += _gcVictims.Count;
        _gcVictims.Clear();
    }

    private static bool IsGcCandidate(Flow f, Instant now) => f.Detached && f.Queue.Count == 0 && now - f.DetachedAt > GcAge;

    /// <summary>fq_fastpath_check(): due now, and either the qdisc is empty or nothing is eligible and the fast path holds fewer than 8.</summary>
    private bool FastpathAllowed(SkBuff skb, Instant now)
    {
        if (skb.QdiscCb.TimeToSend > now) return false;
        if (QLen != 0)
        {
            if (Flows != InactiveFlows + ThrottledFlows) return false;
            if (_internal.Queue.Count >= 8) return false;
            if (_timeNextDelayedFlow <= now) return false;
        }
        return Config.MaxRateBytesPerSecond == 0;
    }

    protected override SkBuff? DoDequeue()
    {
        if (QLen == 0) return null;
        if (_internal.Queue.Dequeue() is { } fast) return fast;
        var now = _clock.Now;
        CheckThrottled(now);
        int retry = 0;
        var band = _bands[_bandNr];
        while (true)
        {
            var head = band.Credit <= 0 ? null : band.New.First is not null ? band.New : band.Old.First is not null ? band.Old : null;
            if (head is null)
            {
                bool found = false;
                while (++retry <= Bands)
                {
                    if (++_bandNr == Bands) _bandNr = 0;
                    band = _bands[_bandNr];
                    band.Credit = Math.Min(band.Credit + band.Quantum, band.Quantum);
                    if (band.Credit > 0)
                    {
                        found = true;
                        break;
                    }
                    retry = 0;
                }
                if (found) continue;
                if (_timeNextDelayedFlow != Instant.Never) _watchdog.Arm(_timeNextDelayedFlow);
                return null;
            }
            var f = head.First!;
            retry = 0;
            if (f.Credit <= 0)
            {
                f.Credit += Quantum;
                head.RemoveFirst();
                band.Old.AddTail(f);
                continue;
            }
            var skb = f.Queue.Peek();
            if (skb is null)
            {
                head.RemoveFirst();
                if (head == band.New) band.Old.AddTail(f); // a pass through old flows before it is detached: no starvation
                else
                {
                    f.Detached = true;
                    f.DetachedAt = now;
                }
                continue;
            }
            var timeNext = Instant.Max(skb.QdiscCb.TimeToSend, f.TimeNextPacket);
            if (now < timeNext)
            {
                head.RemoveFirst();
                f.TimeNextPacket = timeNext;
                SetThrottled(f);
                continue;
            }
            f.Queue.Dequeue();
            if (f.Queue.Count == 0) InactiveFlows++;
            _bandPackets[skb.QdiscCb.Band]--;
            int plen = skb.Len;
            f.Credit -= plen;
            band.Credit -= plen;
            Pace(f, skb, plen, now);
            return skb;
        }
    }

    /// <summary>
    /// fq_dequeue()'s rate part: a packet with a departure time was paced by its sender, unless maxrate caps the flow;
    /// one without is paced at the socket's pacing rate (or maxrate), at least a quantum's worth per gap above 550 kbit/s.
    /// </summary>
    private void Pace(Flow f, SkBuff skb, int plen, Instant now)
    {
        ulong rate = Config.MaxRateBytesPerSecond > 0 ? (ulong)Config.MaxRateBytesPerSecond : ulong.MaxValue;
        if (skb.DeliveryTime == Instant.Zero)
        {
            if (skb.Sk is { } sk) rate = Math.Min(sk.SkPacingRate, rate);
            if (rate <= LowRateThreshold) f.Credit = 0;
            else
            {
                plen = Math.Max(plen, Quantum);
                if (f.Credit > 0) return;
            }
        }
        if (rate == ulong.MaxValue) return;
        long len = rate == 0 ? 1_000_000_000 : (long)Math.Min(1_000_000_000UL, (ulong)plen * 1_000_000_000UL / rate); // at most 1 s
        if (f.TimeNextPacket != Instant.Zero) len -= Math.Min(len / 2, (now - f.TimeNextPacket).Nanoseconds); // timer drift
        f.TimeNextPacket = now + Duration.FromNanoseconds(len);
    }

    /// <summary>fq_flow_set_throttled(): off the round robin into the time-ordered set of delayed flows.</summary>
    private void SetThrottled(Flow f)
    {
        int i = _throttled.Count;
        while (i > 0 && _throttled[i - 1].TimeNextPacket > f.TimeNextPacket) i--;
        _throttled.Insert(i, f);
        ThrottledEvents++;
        if (_timeNextDelayedFlow > f.TimeNextPacket) _timeNextDelayedFlow = f.TimeNextPacket;
    }

    /// <summary>fq_check_throttled(): flows whose time has come go back to the old flows.</summary>
    private void CheckThrottled(Instant now)
    {
        if (_timeNextDelayedFlow > now) return;
        _timeNextDelayedFlow = Instant.Never;
        int n = 0;
        while (n < _throttled.Count && _throttled[n].TimeNextPacket <= now)
        {
            var f = _throttled[n++];
            _bands[f.Band].Old.AddTail(f);
        }
        _throttled.RemoveRange(0, n);
        if (_throttled.Count > 0) _timeNextDelayedFlow = _throttled[0].TimeNextPacket;
    }

    protected override void DoReset()
    {
        _internal.Queue.Purge();
        foreach (var f in _socketFlows.Values) f.Queue.Purge();
        foreach (var f in _orphanFlows.Values) f.Queue.Purge();
        _socketFlows.Clear();
        _orphanFlows.Clear();
        foreach (var b in _bands) b.New.First = b.Old.First = b.New.Last = b.Old.Last = null;
        _throttled.Clear();
        Array.Clear(_bandPackets);
        _timeNextDelayedFlow = Instant.Never;
        Flows = InactiveFlows = 0;
        _watchdog.Disarm();
    }
}
