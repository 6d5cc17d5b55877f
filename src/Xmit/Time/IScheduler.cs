namespace Xmit.Time;

/// <summary>
/// The only source of time the core sees. The core never reads a clock or starts a thread:
/// it asks the scheduler what time it is and to call it back later.
/// </summary>
public interface IScheduler
{
    Instant Now { get; }

    /// <summary>Arms <paramref name="timer"/> to fire at <paramref name="when"/>; re-arming replaces the previous expiry.</summary>
    void Arm(Timer timer, Instant when);

    /// <summary>Disarms <paramref name="timer"/>; a disarmed timer does not fire.</summary>
    void Disarm(Timer timer);

    /// <summary>
    /// A blocking call: lets time pass until <paramref name="ready"/> holds or <paramref name="deadline"/> comes,
    /// and returns whether it holds. In virtual time this runs the events in between.
    /// </summary>
    bool WaitUntil(Func<bool> ready, Instant deadline);
}
