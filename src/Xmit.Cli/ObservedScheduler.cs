using Xmit.Time;

namespace Xmit.Cli;

/// <summary>
/// The virtual scheduler, telling <see cref="AfterEvent"/> after each event it runs. Between two events nothing in the
/// simulation changes, so what an observer reads there is every value the state holds for any length of time — the
/// whole-run plots' min and max are exact, not sampled (a value made and undone inside one event lasts no time at all).
/// </summary>
public sealed class ObservedScheduler : VirtualScheduler
{
    public Action? AfterEvent { get; set; }

    public override bool RunOne(Instant limit)
    {
        if (!base.RunOne(limit)) return false;
        AfterEvent?.Invoke();
        return true;
    }
}
