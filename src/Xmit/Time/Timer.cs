namespace Xmit.Time;

/// <summary>
/// A reusable one-shot timer. Owners create one per purpose (a qdisc watchdog, a neighbour's
/// retransmit timer, a driver's interrupt) and re-arm it, so arming allocates nothing.
/// </summary>
/// <remarks>Linux: kernel/time/timer.c mod_timer() / del_timer(); hrtimer for qdisc watchdogs.</remarks>
public sealed class Timer
{
    private readonly Action _callback;

    public Timer(IScheduler scheduler, Action callback, string name = "")
    {
        Scheduler = scheduler;
        _callback = callback;
        Name = name;
    }

    public IScheduler Scheduler { get; }
    public string Name { get; }

    /// <summary>When the timer fires, or <see cref="Instant.Never"/> when disarmed.</summary>
    public Instant Expires { get; internal set; } = Instant.Never;

    /// <summary>The timer's entry in its scheduler's heap while armed, or -1 when disarmed.</summary>
    internal int HeapEntry { get; set; } = -1;

    /// <summary>The arming number of the timer's entry in its heap's due-now FIFO while armed there, or -1.</summary>
    internal long DueSeq { get; set; } = -1;

    public bool IsArmed => Expires != Instant.Never;

    public void Arm(Instant when) => Scheduler.Arm(this, when);
    public void ArmAfter(Duration delay) => Scheduler.Arm(this, Scheduler.Now + delay);

    /// <summary>Arms only if disarmed or armed later than <paramref name="when"/>.</summary>
    public void ArmNoLaterThan(Instant when)
    {
        if (!IsArmed || Expires > when) Scheduler.Arm(this, when);
    }

    public void Disarm()
    {
        if (IsArmed) Scheduler.Disarm(this);
    }

    /// <summary>Runs the callback; for schedulers (the timer has already been disarmed).</summary>
    public void Fire() => _callback();

    public override string ToString() => $"{Name}@{Expires}";
}
