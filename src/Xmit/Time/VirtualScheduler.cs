namespace Xmit.Time;

/// <summary>
/// A deterministic discrete-event scheduler. Timers due at the same instant fire in the order they were
/// armed, so the same inputs give the same sequence of events and the same bytes. A driver that needs more
/// (the packetdrill runner's blocking calls) derives from it and overrides <see cref="RunOne"/> and
/// <see cref="WaitUntil"/>; the core itself never starts or parks a thread.
/// </summary>
public class VirtualScheduler : IScheduler
{
    private readonly TimerHeap _timers = new();

    public Instant Now { get; private set; }

    /// <summary>Events executed so far (a measure of simulated work).</summary>
    public long EventsRun { get; private set; }

    /// <summary>Timers currently armed.</summary>
    public int Armed => _timers.Armed;

    public void Arm(Timer timer, Instant when) => _timers.Arm(timer, when < Now ? Now : when); // an overdue timer fires now

    public void Disarm(Timer timer) => _timers.Disarm(timer);

    /// <summary>When the next live timer fires, or <see cref="Instant.Never"/>.</summary>
    public Instant NextEvent => _timers.Next;

    /// <summary>Runs one event if one is due at or before <paramref name="limit"/>.</summary>
    public virtual bool RunOne(Instant limit)
    {
        var timer = _timers.TakeDue(limit, out var when);
        if (timer is null) return false;
        Now = when;
        EventsRun++;
        timer.Fire();
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

    /// <summary>Runs the events in between until <paramref name="ready"/> holds or time reaches <paramref name="deadline"/>.</summary>
    public virtual bool WaitUntil(Func<bool> ready, Instant deadline)
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
}
