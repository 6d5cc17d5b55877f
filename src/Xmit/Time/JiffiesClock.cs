namespace Xmit.Time;

/// <summary>
/// A host's jiffies and its timer wheel: the kernel counts time for timer_list timers in ticks of 1/HZ s
/// (CONFIG_HZ=250 on the measuring kernel: 4 ms), a timeout is a whole number of ticks (usecs_to_jiffies and
/// msecs_to_jiffies round up), and the wheel fires a timer on a tick, never early: on level 0 (under 63 ticks away)
/// one tick after its expiry, farther out at the next multiple of the level's granularity (8, 64, 512… ticks)
/// after it. Hrtimers (pacing, TSQ) do not go through here.
/// </summary>
/// <remarks>
/// <para>Linux: kernel/time/timer.c calc_index(), calc_wheel_index(), __mod_timer(); include/linux/jiffies.h
/// usecs_to_jiffies(), msecs_to_jiffies()</para>
/// <para>Ticks fall at <see cref="Phase"/> + k/HZ of simulated time. Every socket of one kernel sees the same jiffies:
/// Linux's fill→drain capture (two namespaces of one kernel, linux-truth/tcp-fill-drain.json) has all its timer events
/// — both hosts' delayed ACKs, loss probes and zero-window probes — on one 4 ms tick phase. The default phase is 0 for
/// every host, so the hosts of one simulation share their ticks as those namespaces did, whatever the seed.</para>
/// <para><see cref="Hz"/> = 0 turns the model off: every timer fires at the exact nanosecond its timeout ends.</para>
/// </remarks>
public sealed class JiffiesClock
{
    /// <summary>CONFIG_HZ of the measuring kernel (6.18, CONFIG_HZ_250=y).</summary>
    public const int DefaultHz = 250;

    /// <summary>Bits per wheel level (LVL_BITS): 64 buckets per level.</summary>
    private const int LevelBits = 6;
    /// <summary>Each level is 8 times coarser than the one below (LVL_CLK_SHIFT).</summary>
    private const int LevelClockShift = 3;
    private const long LevelMask = (1L << LevelBits) - 1;

    private int _hz = DefaultHz;
    private long _tickNs = 1_000_000_000 / DefaultHz;
    private Duration _phase;

    /// <summary>Ticks per second (CONFIG_HZ): 250 by default; 0 for exact timers (no jiffies).</summary>
    public int Hz
    {
        get => _hz;
        set
        {
            if (value < 0 || value > 1_000_000) throw new ArgumentOutOfRangeException(nameof(value), "HZ must be 0 (exact timers) or a tick rate");
            _hz = value;
            _tickNs = value == 0 ? 0 : 1_000_000_000 / value;
            if (value != 0) _phase = Duration.FromNanoseconds(_phase.Nanoseconds % _tickNs);
        }
    }

    /// <summary>Timers fire at the exact time their timeout ends (<see cref="Hz"/> = 0).</summary>
    public bool Exact => _hz == 0;

    /// <summary>One jiffy (1/HZ s); zero for exact timers.</summary>
    public Duration Tick => Duration.FromNanoseconds(_tickNs);

    /// <summary>When jiffies 0 began, relative to simulated time zero: within [0, one tick).</summary>
    public Duration Phase
    {
        get => _phase;
        set
        {
            if (value < Duration.Zero) throw new ArgumentOutOfRangeException(nameof(value), "the phase is a time after zero");
            _phase = _tickNs == 0 ? value : Duration.FromNanoseconds(value.Nanoseconds % _tickNs);
        }
    }

    /// <summary>
    /// The value of jiffies on the first tick (at <see cref="Phase"/>): the outer wheel levels fire on multiples of
    /// their granularity in absolute jiffies (8 ticks on level 1), so which ticks those are depends on it (Linux starts
    /// at INITIAL_JIFFIES, five minutes before the 32-bit wrap; what it was at a capture follows from the capture's
    /// zero-window probes). 0 by default.
    /// </summary>
    public long InitialJiffies { get; set; }

    /// <summary>LVL_DEPTH: nine levels above HZ=100, eight at or below.</summary>
    private int LevelDepth => _hz > 100 ? 9 : 8;

    /// <summary>The value of jiffies at <paramref name="t"/>: the ticks since the phase (negative before it).</summary>
    public long At(Instant t)
    {
        long ns = t.Nanoseconds - _phase.Nanoseconds;
        return InitialJiffies + (ns >= 0 ? ns / _tickNs : -((-ns + _tickNs - 1) / _tickNs));
    }

    /// <summary>When jiffies became <paramref name="jiffies"/>: the tick's time.</summary>
    public Instant TickTime(long jiffies) => new(_phase.Nanoseconds + (jiffies - InitialJiffies) * _tickNs);

    /// <summary>usecs_to_jiffies() / msecs_to_jiffies(): a duration in whole ticks, a fraction of one counting whole.</summary>
    /// <remarks>Linux: include/linux/jiffies.h _usecs_to_jiffies(), _msecs_to_jiffies()</remarks>
    public long ToJiffies(Duration d) => d <= Duration.Zero ? 0 : (d.Nanoseconds + _tickNs - 1) / _tickNs;

    /// <summary>A duration rounded up to whole ticks, as a value kept in jiffies holds it; unchanged for exact timers.</summary>
    public Duration RoundUp(Duration d) => Exact ? d : Duration.FromNanoseconds(ToJiffies(d) * _tickNs);

    /// <summary>A duration cut down to whole ticks (integer jiffies arithmetic, e.g. a halving); unchanged for exact timers.</summary>
    public Duration RoundDown(Duration d) => Exact || d <= Duration.Zero ? d : Duration.FromNanoseconds(d.Nanoseconds / _tickNs * _tickNs);

    /// <summary>
    /// The time between two instants as the difference of their jiffies (tcp_jiffies32 − a stamp in jiffies): whole
    /// ticks, so 1 ms across a tick counts 4 ms at HZ=250 and 3 ms within one counts nothing; exact otherwise.
    /// </summary>
    public Duration Elapsed(Instant from, Instant to) =>
        Exact ? to - from : Duration.FromNanoseconds((At(to) - At(from)) * _tickNs);

    /// <summary>
    /// <c>jiffies + timeout</c> at <paramref name="now"/>: a timer's nominal expiry (timer->expires, icsk_timeout)
    /// as the instant jiffies reaches it — the timeout rounded up to ticks and counted from the current tick.
    /// </summary>
    public Instant Deadline(Instant now, Duration timeout) =>
        Exact ? now + timeout : TickTime(At(now) + ToJiffies(timeout));

    /// <summary>
    /// When a timer armed at <paramref name="now"/> with nominal expiry <paramref name="deadline"/> (from
    /// <see cref="Deadline"/>) fires: on the tick of its wheel bucket.
    /// </summary>
    /// <remarks>Linux: kernel/time/timer.c calc_wheel_index(), calc_index()</remarks>
    public Instant FireTime(Instant now, Instant deadline) =>
        Exact ? deadline : TickTime(BucketExpiry(At(deadline), At(now)));

    /// <summary>mod_timer(timer, jiffies + timeout): when the wheel fires a timer armed <paramref name="timeout"/> from now.</summary>
    public Instant Expiry(Instant now, Duration timeout) => FireTime(now, Deadline(now, timeout));

    /// <summary>
    /// calc_wheel_index(): the jiffy at which the wheel runs a timer of expiry <paramref name="expires"/> armed when the
    /// wheel's clock is <paramref name="clk"/>. The level is the first whose range holds the distance (level n
    /// starts at 63·8ⁿ⁻¹ ticks); within it the expiry is cut to the level's granularity and moved one granule on, so
    /// the timer never fires early — on level 0 one tick after its expiry. Past the wheel's capacity it fires at the
    /// capacity; an expiry already past fires on the next run of the wheel.
    /// </summary>
    /// <remarks>Linux: kernel/time/timer.c calc_wheel_index(), calc_index(), LVL_START(), WHEEL_TIMEOUT_CUTOFF</remarks>
    public long BucketExpiry(long expires, long clk)
    {
        long delta = expires - clk;
        if (delta < 0) return clk;
        int depth = LevelDepth;
        for (int level = 0; level < depth - 1; level++)
            if (delta < LevelStart(level + 1)) return CalcIndex(expires, level);
        long cutoff = LevelStart(depth);
        if (delta >= cutoff) expires = clk + cutoff - (1L << (LevelClockShift * (depth - 1))); // WHEEL_TIMEOUT_MAX
        return CalcIndex(expires, depth - 1);
    }

    /// <summary>
    /// The granularity of the wheel level a timer <paramref name="timeout"/> away lands on: how late, at most, past its
    /// expiry it may fire (one tick under 63 ticks, 8 ticks below 504, 64 below 4032…); zero for exact timers.
    /// </summary>
    public Duration Granularity(Duration timeout)
    {
        if (Exact) return Duration.Zero;
        long delta = ToJiffies(timeout);
        int level = 0;
        while (level < LevelDepth - 1 && delta >= LevelStart(level + 1)) level++;
        return Duration.FromNanoseconds(_tickNs << (level * LevelClockShift));
    }

    /// <summary>LVL_START(n): the smallest distance kept on level n (63 ticks for level 1, 504 for 2…).</summary>
    private static long LevelStart(int level) => LevelMask << ((level - 1) * LevelClockShift);

    /// <summary>calc_index(): the expiry cut to the level's granularity, plus one granule.</summary>
    /// <remarks>Linux: kernel/time/timer.c calc_index()</remarks>
    private static long CalcIndex(long expires, int level)
    {
        int shift = level * LevelClockShift;
        return ((expires >> shift) + 1) << shift;
    }
}
