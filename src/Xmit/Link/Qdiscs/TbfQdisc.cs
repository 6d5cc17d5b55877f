using Xmit.Buffers;
using Xmit.Time;

namespace Xmit.Link.Qdiscs;

/// <summary>tbf's parameters as `tc qdisc add … tbf rate R burst B limit L [peakrate P mtu M]` gives them.</summary>
public sealed record TbfConfig(long RateBitsPerSecond, long BurstBytes, long LimitBytes, long PeakRateBitsPerSecond = 0, long MtuBytes = 0)
{
    /// <summary>
    /// tc converts burst and mtu into a time at the rate, in psched ticks of 64 ns via microseconds
    /// (tc_calc_xmittime with tick_in_usec = 15.625); the kernel gets that time. We keep tc's rounding.
    /// </summary>
    /// <remarks>tc: tc/tc_core.c tc_calc_xmittime(); Linux: net/sched/sch_tbf.c tbf_change() PSCHED_TICKS2NS</remarks>
    public static Duration TcXmitTime(long rateBitsPerSecond, long bytes)
    {
        double usec = 1e6 * bytes / (rateBitsPerSecond / 8.0);
        long ticks = (long)(uint)(usec * 15.625);
        return Duration.FromNanoseconds(ticks * 64);
    }

    public string? Validate()
    {
        if (RateBitsPerSecond <= 0) return "tbf: rate must be positive";
        if (BurstBytes <= 0) return "tbf: burst must be positive (bytes the bucket holds)";
        if (LimitBytes <= 0) return "tbf: limit must be positive (bytes that may wait)";
        if (PeakRateBitsPerSecond < 0) return "tbf: peakrate must not be negative";
        if (PeakRateBitsPerSecond > 0 && PeakRateBitsPerSecond <= RateBitsPerSecond) return "tbf: peakrate must be greater than rate";
        if (PeakRateBitsPerSecond > 0 && MtuBytes <= 0) return "tbf: peakrate needs mtu (minburst)";
        return null;
    }
}

/// <summary>
/// Token bucket filter: packets wait in an inner bfifo (limit in bytes) and leave when the bucket holds
/// enough tokens (time at the rate) for their length; an optional peak-rate bucket caps bursts. When a
/// packet must wait, a watchdog timer reschedules the qdisc and the wait counts as an overlimit.
/// </summary>
/// <remarks>Linux: net/sched/sch_tbf.c tbf_enqueue(), tbf_dequeue()</remarks>
public sealed class TbfQdisc : Qdisc
{
    private readonly IScheduler _clock;
    private readonly FifoQdisc _inner;
    private readonly Duration _buffer;      // bucket depth, as time at rate
    private readonly Duration _mtuTime;     // peak bucket depth, as time at peakrate
    private long _tokens;                   // ns
    private long _ptokens;                  // ns
    private Instant _lastCheck;             // q->t_c
    private readonly Timer _watchdog;

    public TbfQdisc(IScheduler clock, TbfConfig config)
    {
        if (config.Validate() is { } error) ThrowHelper.Argument(error, nameof(config));
        _clock = clock;
        Config = config;
        _inner = FifoQdisc.Bytes(config.LimitBytes);
        _buffer = TbfConfig.TcXmitTime(config.RateBitsPerSecond, config.BurstBytes);
        _mtuTime = config.PeakRateBitsPerSecond > 0 ? TbfConfig.TcXmitTime(config.PeakRateBitsPerSecond, config.MtuBytes) : Duration.Zero;
        // max_size: the largest packet the bucket(s) can ever pass.
        MaxSize = config.BurstBytes;
        if (config.PeakRateBitsPerSecond > 0) MaxSize = Math.Min(MaxSize, config.MtuBytes);
        _tokens = _buffer.Nanoseconds;
        _ptokens = _mtuTime.Nanoseconds;
        _lastCheck = clock.Now;
        _watchdog = new Timer(clock, Schedule, "tbf-watchdog");
    }

    public TbfConfig Config { get; }
    public long MaxSize { get; }
    public override string Kind => "tbf";

    /// <summary>When the next packet may leave, if the qdisc is waiting for tokens.</summary>
    public Instant WatchdogExpires => _watchdog.Expires;

    private static long L2T(long rate, int len) => (long)((Int128)len * 8_000_000_000 / rate);

    protected override int DoEnqueue(SkBuff skb)
    {
        // A packet larger than the bucket could never leave: a GSO skb whose segments fit is cut into them
        // (tbf_segment), anything else is dropped.
        if (skb.Len > MaxSize)
            return skb.GsoType != GsoType.None && SkbGso.SegmentLength(skb) <= MaxSize ? Segment(skb) : Drop(skb);
        int rc = _inner.Enqueue(skb);
        if (rc != NetXmit.Success) Stats.Drops++;
        return rc;
    }

    private readonly List<SkBuff> _segments = [];

    /// <summary>
    /// Packets tbf_segment() added: each GSO skb cut into n segments adds n − 1. Linux keeps no such counter; the
    /// accounting of `xmit sim tcp` needs it to match what came down from the neighbour with what the qdisc held.
    /// </summary>
    public long SegmentsAdded { get; private set; }

    /// <summary>
    /// tbf_segment(): software GSO at enqueue; each segment joins the inner queue on its own (and keeps the
    /// socket's charge), the counts become those of the segments queued; all dropped means a drop.
    /// </summary>
    /// <remarks>Linux: net/sched/sch_tbf.c tbf_segment(); net/core/gso.c skb_gso_validate_mac_len()</remarks>
    private int Segment(SkBuff skb)
    {
        int prevLen = skb.Len;
        var segs = _segments;
        segs.Clear();
        SkbGso.Segment(skb, segs); // takes ownership of skb
        SegmentsAdded += segs.Count - 1;
        int queued = 0;
        long bytes = 0;
        foreach (var seg in segs)
        {
            int len = seg.Len;
            if (_inner.Enqueue(seg) == NetXmit.Success)
            {
                queued++;
                bytes += len;
            }
            else Stats.Drops++;
        }
        segs.Clear();
        if (queued == 0) return NetXmit.Drop;
        // The caller counts one packet of the original length: make that the segments (qdisc_tree_reduce_backlog).
        QLen += queued - 1;
        Backlog += bytes - prevLen;
        return NetXmit.Success;
    }

    protected override SkBuff? DoDequeue()
    {
        var skb = _inner.Peek();
        if (skb is null) return null;
        var now = _clock.Now;
        int len = skb.Len;
        long toks = Math.Min((now - _lastCheck).Nanoseconds, _buffer.Nanoseconds);
        long ptoks = 0;
        if (Config.PeakRateBitsPerSecond > 0)
        {
            ptoks = Math.Min(toks + _ptokens, _mtuTime.Nanoseconds);
            ptoks -= L2T(Config.PeakRateBitsPerSecond, len);
        }
        toks = Math.Min(toks + _tokens, _buffer.Nanoseconds);
        toks -= L2T(Config.RateBitsPerSecond, len);
        if ((toks | ptoks) >= 0)
        {
            _inner.Dequeue();
            _lastCheck = now;
            _tokens = toks;
            _ptokens = ptoks;
            return skb;
        }
        _watchdog.Arm(now + Duration.FromNanoseconds(Math.Max(-toks, -ptoks)));
        Stats.Overlimits++;
        return null;
    }

    protected override void DoReset()
    {
        _inner.Reset();
        _tokens = _buffer.Nanoseconds;
        _ptokens = _mtuTime.Nanoseconds;
        _lastCheck = _clock.Now;
        _watchdog.Disarm();
    }

    public override string Parameters =>
        $"rate {TcUnits.FormatRate(Config.RateBitsPerSecond)} burst {Config.BurstBytes}b limit {Config.LimitBytes}b" +
        (Config.PeakRateBitsPerSecond > 0 ? $" peakrate {TcUnits.FormatRate(Config.PeakRateBitsPerSecond)} mtu {Config.MtuBytes}b" : "");
}
