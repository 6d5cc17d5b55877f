namespace Xmit.Time;

/// <summary>
/// A deterministic discrete-event scheduler. Timers due at the same instant fire in the order they were
/// armed, so the same inputs give the same sequence of events and the same bytes.
/// </summary>
public sealed class VirtualScheduler : IScheduler
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
    public bool RunOne(Instant limit)
    {
        var timer = _timers.TakeDue(limit, out var when);
        if (timer is null) return false;
        Now = when;
        EventsRun++;
        timer.Fire();
        Cooperative?.AfterEvent();
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

    /// <summary>
    /// Set by a driver that runs blocking calls of scripted processes on helper threads, one thread running at a
    /// time (packetdrill's blocking system calls): there WaitUntil parks the helper, and the driving thread
    /// resumes it after an event makes it ready.
    /// </summary>
    public ICooperativeBlocking? Cooperative { get; set; }

    public bool WaitUntil(Func<bool> ready, Instant deadline)
    {
        if (Cooperative is { OnHelperThread: true } c) return c.Park(ready, deadline);
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

/// <summary>Hands control between a driving thread and a helper thread blocked in a call (see <see cref="VirtualScheduler.Cooperative"/>).</summary>
public interface ICooperativeBlocking
{
    /// <summary>True on the helper thread running a blocking call.</summary>
    bool OnHelperThread { get; }

    /// <summary>Parks the helper until <paramref name="ready"/> holds or <paramref name="deadline"/> passes; returns ready().</summary>
    bool Park(Func<bool> ready, Instant deadline);

    /// <summary>Called on the driving thread after every event: resumes a parked helper that became ready.</summary>
    void AfterEvent();
}
