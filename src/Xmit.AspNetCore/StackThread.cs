using System.Threading;

namespace Xmit.AspNetCore;

/// <summary>
/// The one thread a host's stack runs on, reached through its <see cref="SynchronizationContext"/>: each call is
/// posted there, and its task completes on the thread pool (never inline on the stack's thread, where the caller's
/// continuation would hold up the network). A cancellation is posted too, so the socket sees it on its own thread.
/// </summary>
internal sealed class StackThread(SynchronizationContext context)
{
    public SynchronizationContext Context { get; } = context ?? throw new ArgumentNullException(nameof(context));

    /// <summary>Whether the caller runs on the stack's thread (where waiting for a posted call would deadlock).</summary>
    public bool IsCurrent => SynchronizationContext.Current == Context;

    public void Post(Action work) => Context.Post(static s => ((Action)s!)(), work);

    /// <summary>Runs <paramref name="work"/> on the stack's thread.</summary>
    public Task<T> Invoke<T>(Func<T> work) =>
        Run(_ => new ValueTask<T>(work()), CancellationToken.None);

    /// <summary>
    /// Starts <paramref name="operation"/> on the stack's thread with a token that is cancelled there when
    /// <paramref name="cancellationToken"/> is; the task completes on the thread pool.
    /// </summary>
    public Task<T> Run<T>(Func<CancellationToken, ValueTask<T>> operation, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<T>(cancellationToken);
        var call = new Call<T>(Context, operation, cancellationToken);
        Context.Post(static s => ((Call<T>)s!).Start(), call);
        return call.Task;
    }

    private sealed class Call<T>
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Func<CancellationToken, ValueTask<T>> _operation;
        private readonly CancellationToken _cancellationToken;
        private readonly CancellationTokenSource? _inner;
        private readonly CancellationTokenRegistration _registration;

        public Call(SynchronizationContext context, Func<CancellationToken, ValueTask<T>> operation, CancellationToken cancellationToken)
        {
            _operation = operation;
            _cancellationToken = cancellationToken;
            if (!cancellationToken.CanBeCanceled) return;
            var inner = _inner = new CancellationTokenSource();
            // Runs on the cancelling thread and only asks the stack's thread to cancel (the source is never disposed,
            // so a request that comes after the call finished is harmless).
            _registration = cancellationToken.UnsafeRegister(
                static s =>
                {
                    var (context, inner) = ((SynchronizationContext, CancellationTokenSource))s!;
                    context.Post(static i => ((CancellationTokenSource)i!).Cancel(), inner);
                }, (context, inner));
        }

        public Task<T> Task => _done.Task;

        public void Start()
        {
            ValueTask<T> pending;
            try
            {
                pending = _operation(_inner?.Token ?? CancellationToken.None);
            }
            catch (Exception e)
            {
                Finish(e, default!);
                return;
            }
            if (pending.IsCompleted) Complete(pending);
            else _ = AwaitAsync(pending);
        }

        private async Task AwaitAsync(ValueTask<T> pending)
        {
            T result;
            try
            {
                result = await pending.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Finish(e, default!);
                return;
            }
            Finish(null, result);
        }

        private void Complete(ValueTask<T> completed)
        {
            try
            {
                Finish(null, completed.GetAwaiter().GetResult());
            }
            catch (Exception e)
            {
                Finish(e, default!);
            }
        }

        private void Finish(Exception? error, T result)
        {
            _registration.Dispose();
            if (error is null) _done.TrySetResult(result);
            else if (error is OperationCanceledException && _cancellationToken.IsCancellationRequested) _done.TrySetCanceled(_cancellationToken);
            else _done.TrySetException(error);
        }
    }
}
