using Xmit.Time;

namespace Xmit.Tests.Time;

/// <summary>
/// The host's jiffies against the timer wheel's rule (kernel/time/timer.c): level n keeps distances below 63·8ⁿ ticks
/// and has a granularity of 8ⁿ ticks; a timer fires on the first multiple of its level's granularity after its expiry.
/// The expected ticks below are worked out by hand from that rule.
/// </summary>
public class JiffiesClockTests
{
    [Theory]
    // level 0 (under 63 ticks away): one tick after the expiry
    [InlineData(0, 1, 2)]
    [InlineData(0, 10, 11)]
    [InlineData(0, 62, 63)]
    [InlineData(1000, 50, 1051)]
    // level 1 (63-503 ticks): the next multiple of 8 after the expiry
    [InlineData(0, 63, 64)]      // expiry 63 → 64
    [InlineData(1000, 63, 1064)] // expiry 1063 → 1064
    [InlineData(1001, 63, 1072)] // expiry 1064 → 1072: never early, a full granule on an exact multiple
    [InlineData(0, 64, 72)]
    [InlineData(0, 200, 208)]
    [InlineData(75, 250, 328)]   // a 1 s RTO at HZ=250 armed at jiffies 75: 1.312 s
    [InlineData(128, 125, 256)]  // TCP_RESOURCE_PROBE_INTERVAL re-armed from the bucket at 128
    // level 2 (504-4031 ticks): the next multiple of 64
    [InlineData(0, 504, 512)]
    [InlineData(0, 4031, 4032)]
    // level 3 (4032-32255): multiples of 512 — TIME-WAIT's 60 s at HZ=250 (15000 ticks)
    [InlineData(0, 15000, 15360)]
    public void A_timer_fires_on_the_first_multiple_of_its_levels_granularity_after_its_expiry(long clk, long timeout, long fires)
    {
        var j = new JiffiesClock();
        Assert.Equal(fires, j.BucketExpiry(clk + timeout, clk));
    }

    [Fact]
    public void An_expiry_already_past_fires_on_the_next_run_and_one_beyond_the_wheel_at_its_capacity()
    {
        var j = new JiffiesClock();
        Assert.Equal(100, j.BucketExpiry(90, 100));
        // HZ=250: nine levels, capacity LVL_START(9) = 63·8⁸ ticks; beyond it the timer is kept at the capacity less the
        // last level's granularity (WHEEL_TIMEOUT_MAX), which falls on a multiple of that granularity: one more granule.
        long cutoff = 63L << 24, lastGran = 1L << 24;
        Assert.Equal(cutoff, j.BucketExpiry(10 * cutoff, 0));
        Assert.Equal(cutoff - lastGran, j.BucketExpiry(cutoff - lastGran - 1, 0));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]               // 1 ns is a whole jiffy
    [InlineData(4_000_000, 1)]
    [InlineData(4_000_001, 2)]
    [InlineData(200_042_000, 51)]    // an RTO of 200 ms + 42 µs is 51 jiffies (tcpi_rto 204000 on Linux)
    public void Timeouts_round_up_to_whole_jiffies(long ns, long jiffies) =>
        Assert.Equal(jiffies, new JiffiesClock().ToJiffies(Duration.FromNanoseconds(ns)));

    [Theory]
    [InlineData(1_000_000, 44_000_000)]  // mid-tick: 40 ms is 10 ticks from the tick at 0, the wheel adds one
    [InlineData(3_999_999, 44_000_000)]
    [InlineData(4_000_000, 48_000_000)]  // on a tick: 44 ms later
    public void A_40_ms_timer_at_hz_250_fires_40_to_44_ms_later_on_a_tick(long armedNs, long firesNs)
    {
        var j = new JiffiesClock();
        Assert.Equal(new Instant(firesNs), j.Expiry(new Instant(armedNs), Duration.FromMilliseconds(40)));
    }

    [Fact]
    public void The_phase_and_initial_jiffies_place_the_ticks()
    {
        var j = new JiffiesClock { Phase = Duration.FromMicroseconds(3244), InitialJiffies = 5 };
        Assert.Equal(4, j.At(new Instant(3_243_999)));
        Assert.Equal(5, j.At(new Instant(3_244_000)));
        Assert.Equal(new Instant(7_244_000), j.TickTime(6));
        // A level-1 timer fires on an absolute multiple of 8 jiffies: 110 ticks from jiffies 97 (expiry 207) → 208.
        var at97 = j.TickTime(97);
        Assert.Equal(j.TickTime(208), j.Expiry(at97, Duration.FromMilliseconds(440)));
        Assert.Equal(Duration.FromMilliseconds(4), j.Elapsed(new Instant(7_243_999), new Instant(7_244_000)));
        Assert.Equal(Duration.Zero, j.Elapsed(new Instant(7_244_000), new Instant(11_243_999)));
    }

    [Fact]
    public void Hz_0_makes_timers_exact()
    {
        var j = new JiffiesClock { Hz = 0 };
        Assert.True(j.Exact);
        var now = new Instant(1_234_567);
        Assert.Equal(now + Duration.FromMilliseconds(40), j.Expiry(now, Duration.FromMilliseconds(40)));
        Assert.Equal(Duration.FromNanoseconds(200_042_001), j.RoundUp(Duration.FromNanoseconds(200_042_001)));
        Assert.Equal(Duration.FromNanoseconds(3), j.Elapsed(new Instant(1), new Instant(4)));
    }

    [Fact]
    public void Hz_1000_ticks_every_millisecond()
    {
        var j = new JiffiesClock { Hz = 1000 };
        Assert.Equal(Duration.FromMilliseconds(1), j.Tick);
        Assert.Equal(new Instant(41_000_000), j.Expiry(new Instant(500_000), Duration.FromMilliseconds(40)));
        // At HZ=1000 level 1 starts at 63 ms: a 200 ms timer from 0 fires at 208 ms.
        Assert.Equal(new Instant(208_000_000), j.Expiry(Instant.Zero, Duration.FromMilliseconds(200)));
    }
}
