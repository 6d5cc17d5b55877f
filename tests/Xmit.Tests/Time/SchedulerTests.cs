using Xmit.Time;

namespace Xmit.Tests.Time;

public class SchedulerTests
{
    [Fact]
    public void Timers_fire_in_time_order_and_same_instant_in_arming_order()
    {
        var s = new VirtualScheduler();
        var log = new List<string>();
        var t1 = new Timer(s, () => log.Add($"a@{s.Now.Nanoseconds}"));
        var t2 = new Timer(s, () => log.Add($"b@{s.Now.Nanoseconds}"));
        var t3 = new Timer(s, () => log.Add($"c@{s.Now.Nanoseconds}"));
        t1.Arm(new Instant(100));
        t2.Arm(new Instant(50));
        t3.Arm(new Instant(100));
        s.RunUntil(new Instant(1000));
        Assert.Equal(["b@50", "a@100", "c@100"], log);
        Assert.Equal(1000, s.Now.Nanoseconds);
    }

    [Fact]
    public void Rearm_replaces_and_disarm_cancels()
    {
        var s = new VirtualScheduler();
        int fired = 0;
        var t = new Timer(s, () => fired++);
        t.Arm(new Instant(10));
        t.Arm(new Instant(20));
        s.RunUntil(new Instant(15));
        Assert.Equal(0, fired);
        s.RunUntil(new Instant(25));
        Assert.Equal(1, fired);
        t.Arm(new Instant(30));
        t.Disarm();
        s.RunUntil(new Instant(100));
        Assert.Equal(1, fired);
        Assert.Equal(0, s.Armed);
    }

    [Fact]
    public void A_timer_can_rearm_itself_from_its_callback()
    {
        var s = new VirtualScheduler();
        var times = new List<long>();
        Timer? t = null;
        t = new Timer(s, () => { times.Add(s.Now.Nanoseconds); if (times.Count < 3) t!.ArmAfter(Duration.FromMicroseconds(1)); });
        t.Arm(Instant.Zero);
        s.RunUntil(new Instant(10_000));
        Assert.Equal([0L, 1000, 2000], times);
    }

    [Fact]
    public void Seeded_random_is_reproducible_and_forks_differ()
    {
        var a = new DeterministicRandom(42);
        var b = new DeterministicRandom(42);
        for (int i = 0; i < 100; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
        Assert.NotEqual(new DeterministicRandom(42).Fork(1).NextUInt64(), new DeterministicRandom(42).Fork(2).NextUInt64());
        var r = new DeterministicRandom(1);
        for (int i = 0; i < 1000; i++)
        {
            Assert.InRange(r.NextUInt32(10), 0u, 9u);
            Assert.InRange(r.NextDouble(), 0.0, 0.9999999999);
        }
    }

    [Fact]
    public void Duration_for_bits_rounds_up_to_whole_nanoseconds()
    {
        Assert.Equal(9760, Duration.ForBits(976, 100_000_000).Nanoseconds);
        Assert.Equal(1, Duration.ForBits(1, 10_000_000_000).Nanoseconds);
        Assert.Equal(8_000_000_000_000, Duration.ForBits(8_000_000_000_000, 1_000_000_000).Nanoseconds);
    }
}
