using System.Collections.Concurrent;
using System.Threading;
using Xmit.Time;

namespace Xmit.Tap;

/// <summary>
/// Runs a TAP host's <see cref="RealTimeLoop"/> on a thread of its own, for applications that live on the thread pool
/// (Kestrel, HttpClient): <see cref="Context"/> is a SynchronizationContext whose Post runs the callback on the loop's
/// thread, woken at once through an eventfd among the loop's poll sources. Not deterministic, as nothing in real time is.
/// </summary>
public sealed class TapLoopThread : IDisposable
{
    private readonly TapHost _tap;
    private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _work = new();
    private readonly int _wakeFd;
    private readonly byte[] _one = BitConverter.GetBytes(1UL);
    private readonly byte[] _drain = new byte[8];
    private readonly Thread _thread;
    private volatile bool _stop;

    public TapLoopThread(TapHost tap)
    {
        _tap = tap;
        _wakeFd = Native.EventFd();
        if (_wakeFd < 0) throw new IOException($"eventfd: {(Errno)(-_wakeFd)}");
        tap.Loop.Add(new PollSource(_wakeFd, RunPosted));
        Context = new LoopContext(this);
        _thread = new Thread(Run) { IsBackground = true, Name = "xmit-tap-loop" };
        _thread.Start();
    }

    /// <summary>Posts to the loop's thread (current there too).</summary>
    public SynchronizationContext Context { get; }

    /// <summary>The exception a callback or the loop threw, which stopped the loop.</summary>
    public Exception? Failure { get; private set; }

    private bool IsLoopThread => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    private void Enqueue(SendOrPostCallback callback, object? state)
    {
        _work.Enqueue((callback, state));
        Native.Write(_wakeFd, _one, _one.Length);
    }

    private void RunPosted()
    {
        Native.Read(_wakeFd, _drain);
        while (_work.TryDequeue(out var item)) item.Callback(item.State);
    }

    private void Run()
    {
        SynchronizationContext.SetSynchronizationContext(Context);
        try
        {
            _tap.Loop.RunUntil(() => _stop, Instant.Never);
            RunPosted(); // a close posted last
        }
        catch (Exception e)
        {
            Failure = e;
        }
    }

    /// <summary>Runs <paramref name="work"/> on the loop's thread and waits for its result.</summary>
    public T Invoke<T>(Func<T> work)
    {
        if (IsLoopThread) return work();
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(_ =>
        {
            try { done.SetResult(work()); }
            catch (Exception e) { done.SetException(e); }
        }, null);
        return done.Task.GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        _stop = true;
        Native.Write(_wakeFd, _one, _one.Length);
        if (!IsLoopThread) _thread.Join();
        Native.Close(_wakeFd);
    }

    private sealed class LoopContext(TapLoopThread owner) : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => owner.Enqueue(d, state);

        public override void Send(SendOrPostCallback d, object? state) => owner.Invoke(() => { d(state); return true; });

        public override SynchronizationContext CreateCopy() => this;
    }
}
