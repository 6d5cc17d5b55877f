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
}
