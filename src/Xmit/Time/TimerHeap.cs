namespace Xmit.Time;

/// <summary>
/// Armed timers ordered by expiry, then by arming order, so equal expiries fire in the order they were armed.
/// Re-arming leaves a stale entry behind that is skipped by generation; nothing is allocated per arm once
/// the heap has grown.
/// </summary>
public sealed class TimerHeap
{
    private readonly PriorityQueue<Entry, (long When, long Seq)> _heap = new(256);
    private long _seq;

    public int Armed { get; private set; }

    public void Arm(Timer timer, Instant when)
    {
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
    public Instant Next
    {
        get
        {
            DropStale();
            return _heap.TryPeek(out _, out var key) ? new Instant(key.When) : Instant.Never;
        }
    }

    /// <summary>Removes and returns the next timer due at or before <paramref name="limit"/>, disarmed; null if none.</summary>
    public Timer? TakeDue(Instant limit, out Instant when)
    {
        DropStale();
        when = default;
        if (!_heap.TryPeek(out var entry, out var key) || key.When > limit.Nanoseconds) return null;
        _heap.Dequeue();
        when = new Instant(key.When);
        entry.Timer.Expires = Instant.Never;
        entry.Timer.Generation++;
        Armed--;
        return entry.Timer;
    }

    private void DropStale()
    {
        while (_heap.TryPeek(out var e, out _) && e.Generation != e.Timer.Generation) _heap.Dequeue();
    }

    private readonly record struct Entry(Timer Timer, long Generation);
}
