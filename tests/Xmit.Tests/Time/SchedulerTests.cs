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
    public void A_timer_armed_for_now_from_a_callback_fires_after_those_already_due_then_in_arming_order()
    {
        var s = new VirtualScheduler();
        var log = new List<string>();
        Timer? now1 = null, now2 = null, heapLate = null;
        now1 = new Timer(s, () => log.Add($"now1@{s.Now.Nanoseconds}"));
        now2 = new Timer(s, () => log.Add($"now2@{s.Now.Nanoseconds}"));
        heapLate = new Timer(s, () => log.Add($"late@{s.Now.Nanoseconds}"));
        var sameInstant = new Timer(s, () => log.Add($"same@{s.Now.Nanoseconds}"));
        var first = new Timer(s, () =>
        {
            log.Add($"first@{s.Now.Nanoseconds}");
            now1.Arm(s.Now);                // joins the instant, behind "same" (armed earlier for it)
            now2.Arm(s.Now);
            heapLate.Arm(s.Now + Duration.FromNanoseconds(1));
            now1.Arm(s.Now);                // re-armed: now behind now2
        });
        first.Arm(new Instant(100));
        sameInstant.Arm(new Instant(100));
        s.RunUntil(new Instant(1000));
        Assert.Equal(["first@100", "same@100", "now2@100", "now1@100", "late@101"], log);
        Assert.Equal(0, s.Armed);
    }

    [Fact]
    public void A_timer_armed_for_now_can_be_disarmed_or_moved_later()
    {
        var s = new VirtualScheduler();
        var log = new List<string>();
        var a = new Timer(s, () => log.Add($"a@{s.Now.Nanoseconds}"));
        var b = new Timer(s, () => log.Add($"b@{s.Now.Nanoseconds}"));
        var c = new Timer(s, () => log.Add($"c@{s.Now.Nanoseconds}"));
        var first = new Timer(s, () =>
        {
            a.Arm(s.Now);
            b.Arm(s.Now);
            c.Arm(s.Now);
            Assert.Equal(3, s.Armed);
            Assert.True(a.IsArmed);
            a.Disarm();
            Assert.False(a.IsArmed);
            b.Arm(s.Now + Duration.FromNanoseconds(5));
            Assert.Equal(2, s.Armed);
            Assert.Equal(s.Now, s.NextEvent);   // c, still due now
        });
        first.Arm(new Instant(10));
        s.RunUntil(new Instant(100));
        Assert.Equal(["c@10", "b@15"], log);
        Assert.Equal(0, s.Armed);
        Assert.Equal(Instant.Never, s.NextEvent);
    }

    [Fact]
    public void Armed_counts_timers_moved_between_the_heap_and_the_due_queue_and_the_timer_just_fired()
    {
        var s = new VirtualScheduler();
        var log = new List<string>();
        Timer? later = null, self = null;
        later = new Timer(s, () => log.Add($"later@{s.Now.Nanoseconds}"));
        self = new Timer(s, () =>
        {
            log.Add($"self@{s.Now.Nanoseconds}");
            Assert.False(self!.IsArmed);
            int others = s.Now.Nanoseconds == 10 ? 2 : 0;     // later and mover at 10, none after
            Assert.Equal(others, s.Armed);                    // the timer just fired no longer counts
            if (s.Now.Nanoseconds < 30) self.Arm(s.Now + Duration.FromNanoseconds(10)); // re-armed from its own callback
            Assert.Equal(others + (s.Now.Nanoseconds < 30 ? 1 : 0), s.Armed);
        });
        var mover = new Timer(s, () =>
        {
            Assert.Equal(2, s.Armed);
            later.Arm(s.Now);                                 // from the heap to the due queue
            Assert.Equal(2, s.Armed);
            later.Arm(s.Now + Duration.FromNanoseconds(100)); // and back
            Assert.Equal(2, s.Armed);
            later.Arm(s.Now);
        });
        later.Arm(new Instant(1000));
        self.Arm(new Instant(10));
        mover.Arm(new Instant(15));
        Assert.Equal(3, s.Armed);
        s.RunUntil(new Instant(2000));
        Assert.Equal(["self@10", "later@15", "self@20", "self@30"], log);
        Assert.Equal(0, s.Armed);
    }

    [Fact]
    public void Many_timers_armed_for_now_fire_in_arming_order()
    {
        var s = new VirtualScheduler();
        var order = new List<int>();
        var timers = new Timer[300]; // more than the due queue's first ring, which grows while it has wrapped around
        for (int i = 0; i < timers.Length; i++)
        {
            int n = i;
            timers[i] = new Timer(s, () =>
            {
                order.Add(n);
                // breadth first: timer n arms 2n+1 and 2n+2 for now, so they fire in index order
                if (2 * n + 1 < timers.Length) timers[2 * n + 1].Arm(s.Now);
                if (2 * n + 2 < timers.Length) timers[2 * n + 2].Arm(s.Now);
            });
        }
        var first = new Timer(s, () => timers[0].Arm(s.Now));
        first.Arm(new Instant(5));
        s.RunUntil(new Instant(10));
        Assert.Equal(Enumerable.Range(0, timers.Length), order);
        Assert.Equal(10, s.Now.Nanoseconds);
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
