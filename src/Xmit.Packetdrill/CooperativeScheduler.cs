using Xmit.Time;

namespace Xmit.Packetdrill;

/// <summary>
/// The virtual scheduler of a script run, which may have a blocking call running on a helper thread, one
/// thread running at a time (<see cref="BlockingCall"/>): on the helper, <see cref="WaitUntil"/> parks it and
/// hands control back to the script thread; on the script thread, after every event, a parked call that can
/// go on is resumed. Without a pending call it is the plain <see cref="VirtualScheduler"/>.
/// </summary>
internal sealed class CooperativeScheduler : VirtualScheduler
{
    /// <summary>Set by <see cref="BlockingCall"/> for the length of a run.</summary>
    public BlockingCall? Blocking { get; set; }

    public override bool RunOne(Instant limit)
    {
        if (!base.RunOne(limit)) return false;
        Blocking?.AfterEvent();
        return true;
    }

    public override bool WaitUntil(Func<bool> ready, Instant deadline) =>
        Blocking is { OnHelperThread: true } b ? b.Park(ready, deadline) : base.WaitUntil(ready, deadline);
}
