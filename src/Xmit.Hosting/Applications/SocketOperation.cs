using System.Threading;
using System.Threading.Tasks.Sources;

namespace Xmit.Applications;

/// <summary>What one try of a non-blocking system call gave.</summary>
internal enum Attempt : byte { Done, WouldBlock, Failed }

/// <summary>
/// One reusable awaitable socket operation (a stream's read, its write, an accept, a connect): it tries the
/// non-blocking system call at once and returns a completed <see cref="ValueTask{T}"/> when that works; on
/// EAGAIN it waits on <see cref="SocketReadiness"/> and retries on each wake-up. One instance serves every call
/// in turn (<see cref="ManualResetValueTaskSourceCore{TResult}"/>), so a call that waits allocates nothing.
/// </summary>
internal abstract class SocketOperation<T> : ISocketOperation, IValueTaskSource<T>, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<T> _core; // RunContinuationsAsynchronously stays false: resume inline, on the loop
    private CancellationTokenRegistration _registration;
    private CancellationToken _token;
    private bool _cancelRequested;

    protected SocketOperation(SocketReadiness readiness)
    {
        Readiness = readiness;
        readiness.Register(this);
    }

    protected SocketReadiness Readiness { get; }

    public bool IsPending { get; private set; }

    /// <summary>One non-blocking try: the result, or that it would block, or the exception to complete with.</summary>
    protected abstract Attempt Try(out T result, out Exception? error);

    /// <summary>Called once a failed or cancelled operation has completed (a connect closes its socket).</summary>
    protected virtual void OnFailed() { }

    /// <summary>Starts the operation: completed at once when the first try succeeds or fails.</summary>
    protected ValueTask<T> Start(CancellationToken cancellationToken)
    {
        if (IsPending) throw new InvalidOperationException($"{GetType().Name}: another call of the same kind is still pending on this socket");
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<T>(cancellationToken);
        switch (Try(out var result, out var error))
        {
            case Attempt.Done:
                return new ValueTask<T>(result);
            case Attempt.Failed:
                OnFailed();
                return ValueTask.FromException<T>(error!);
        }
        Readiness.Drain();
        _core.Reset();
        IsPending = true;
        _token = cancellationToken;
        _cancelRequested = false;
        // The callback runs on the thread that cancels; it only asks the loop to look, the loop completes.
        if (cancellationToken.CanBeCanceled)
            _registration = cancellationToken.UnsafeRegister(static s => ((SocketOperation<T>)s!).OnCancel(), this);
        return new ValueTask<T>(this, _core.Version);
    }

    /// <summary><see cref="Start"/> for a call whose result is not wanted (a write): the same one instance, untyped.</summary>
    protected ValueTask StartWithoutResult(CancellationToken cancellationToken)
    {
        var started = Start(cancellationToken);
        if (IsPending) return new ValueTask(this, _core.Version);
        if (started.IsCompletedSuccessfully) return default;
        return new ValueTask(started.AsTask()); // failed or cancelled at once
    }

    private void OnCancel()
    {
        _cancelRequested = true;
        Readiness.Schedule();
    }

    public void Retry()
    {
        if (!IsPending) return;
        if (_cancelRequested)
        {
            Finish(default!, new OperationCanceledException(_token));
            return;
        }
        var attempt = Try(out var result, out var error);
        if (attempt != Attempt.WouldBlock) Finish(result, error);
    }

    public void Abort(Exception error)
    {
        if (IsPending) Finish(default!, error);
    }

    private void Finish(T result, Exception? error)
    {
        IsPending = false;
        _registration.Dispose();
        _registration = default;
        _token = default;
        if (error is null)
        {
            _core.SetResult(result);
            return;
        }
        OnFailed();
        _core.SetException(error);
    }

    public T GetResult(short token) => _core.GetResult(token);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    /// <summary>
    /// The await's continuation runs where the wake-up completes the operation — on the host's loop — not posted
    /// to a captured SynchronizationContext (a test runner's, a UI's): posting would let it run on another thread
    /// at a wall-clock moment and the run would no longer be deterministic.
    /// </summary>
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags & ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext);
}
