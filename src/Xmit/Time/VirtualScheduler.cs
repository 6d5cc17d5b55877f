namespace Xmit.Time;

/// <summary>
/// A deterministic discrete-event scheduler. Timers due at the same instant fire in the order they
/// were armed, so the same inputs give the same sequence of events and the same bytes.
/// </summary>
public sealed class VirtualScheduler : IScheduler
{
    private readonly PriorityQueue<Entry, (long When, long Seq)> _heap = new(256);
    private long _seq;

    public Instant Now { get; private set; }

    /// <summary>Events executed so far (a measure of simulated work).</summary>
    public long EventsRun { get; private set; }

    /// <summary>Timers currently armed.</summary>
    public int Armed { get; private set; }

    public void Arm(Timer timer, Instant when)
    {
        if (when < Now) when = Now; // never schedule into the past: an overdue timer fires now
        if (timer.IsArmed) Armed--;
        timer.Generation++;
        timer.Expires = when;
        Armed++;
        _heap.Enqueue(new Entry(timer, timer.Generation), (when.Nanoseconds, _seq++));
    }

    public void Disarm(Timer timer)
    {
        if (!timer.IsArmed) return;
        timer.Generation++;
        timer.Expires = Instant.Never;
        Armed--;
    }

    /// <summary>When the next live timer fires, or <see cref="Instant.Never"/>.</summary>
    public Instant NextEvent
    {
        get
        {
            DropStale();
            return _heap.TryPeek(out _, out var key) ? new Instant(key.When) : Instant.Never;
        }
    }

    /// <summary>Runs one event if one is due at or before <paramref name="limit"/>.</summary>
    public bool RunOne(Instant limit)
    {
        DropStale();
        if (!_heap.TryPeek(out var entry, out var key) || key.When > limit.Nanoseconds) return false;
        _heap.Dequeue();
        Now = new Instant(key.When);
        entry.Timer.Expires = Instant.Never;
        entry.Timer.Generation++;
        Armed--;
        EventsRun++;
        entry.Timer.Fire();
        return true;
    }

    /// <summary>Runs every event due up to <paramref name="until"/>, then sets the clock to it.</summary>
    public void RunUntil(Instant until)
    {
        while (RunOne(until)) { }
        if (until > Now && until != Instant.Never) Now = until;
    }

    /// <summary>Runs until no timer is armed or <paramref name="limit"/> is reached.</summary>
    public void RunUntilIdle(Instant limit)
    {
        while (RunOne(limit)) { }
    }

    public void RunFor(Duration d) => RunUntil(Now + d);

    public bool WaitUntil(Func<bool> ready, Instant deadline)
    {
        while (!ready())
        {
            if (!RunOne(deadline))
            {
                if (deadline != Instant.Never && deadline > Now) Now = deadline;
                return ready();
            }
        }
        return true;
    }

    private void DropStale()
    {
        while (_heap.TryPeek(out var e, out _) && e.Generation != e.Timer.Generation) _heap.Dequeue();
    }

    private readonly record struct Entry(Timer Timer, long Generation);
}
