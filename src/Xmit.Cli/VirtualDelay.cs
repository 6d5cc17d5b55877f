using System.Threading.Tasks.Sources;
using Xmit.Time;

namespace Xmit.Cli;

/// <summary>
/// An awaitable pause of one simulated task in virtual time, reused for every pause: a flood that sleeps a system
/// call's cost after each send would otherwise allocate a TaskCompletionSource and its Task per datagram. One pause
/// at a time; its continuation runs inline when the timer fires, as a TaskCompletionSource's did.
/// </summary>
internal sealed class VirtualDelay : IValueTaskSource
{
    private readonly Timer _timer;
    private ManualResetValueTaskSourceCore<bool> _core;
    private bool _pending;

    public VirtualDelay(IScheduler scheduler, string name)
    {
        _timer = new Timer(scheduler, Complete, name);
        _core.RunContinuationsAsynchronously = false;
    }

    /// <summary>Completes <paramref name="d"/> of virtual time from now (at once for zero).</summary>
    public ValueTask After(Duration d)
    {
        if (d == Duration.Zero) return ValueTask.CompletedTask;
        _core.Reset();
        _pending = true;
        _timer.ArmAfter(d);
        return new ValueTask(this, _core.Version);
    }

    private void Complete()
    {
        if (!_pending) return;
        _pending = false;
        _core.SetResult(true);
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);
    /// <summary>Never posted to a captured SynchronizationContext: that would resume at a wall-clock moment (as SocketOperation).</summary>
    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags & ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext);
}
