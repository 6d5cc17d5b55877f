using Xmit.Time;

namespace Xmit.Cli;

/// <summary>
/// The virtual scheduler, telling <see cref="AfterInstant"/> when it has run the last event of an instant. Only the state
/// an instant ends with lasts any time (until the next event); the events that share an instant pass through states
/// that last none. So an observer called here sees every value the state holds for any length of time — the whole-run
/// plots' min and max are exact, not sampled — once per instant rather than once per event (a run has several events
/// per instant: a packet's softirq, qdisc, driver and TCP steps).
/// </summary>
public sealed class ObservedScheduler : VirtualScheduler
{
    public Action? AfterInstant { get; set; }

    public override bool RunOne(Instant limit)
    {
        if (!base.RunOne(limit)) return false;
        if (AfterInstant is { } observe && NextEvent > Now) observe();
        return true;
    }
}
