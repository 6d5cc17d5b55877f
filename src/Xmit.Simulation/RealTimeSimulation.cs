using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading;
using Xmit.Time;

namespace Xmit.Simulation;

/// <summary>
/// Runs a <see cref="Simulation"/> in real time on a thread of its own: the virtual clock follows the wall clock,
/// as ns-3's RealtimeSimulatorImpl does in its best-effort mode. The thread runs every event whose time has come
/// (at the event's own instant, as in virtual time), then the work other threads have posted (at the wall-clock
/// instant), then sleeps until the next event or until work is posted. So code on the thread pool — Kestrel,
/// HttpClient, any async app — can use the simulated hosts, as long as every call into the stack goes through
/// <see cref="Post"/>, <see cref="InvokeAsync{T}(Func{T})"/> or <see cref="Context"/>: the stack is single-threaded.
/// </summary>
/// <remarks>
/// NOT deterministic: when a posted call runs, and how late an event runs when the thread is busy, depend on the
/// machine and the thread pool, so two runs with the same seed see different interleavings (the link's losses are
/// still drawn from the seed, but they fall on different frames). The default — <see cref="Simulation.RunFor"/>,
/// <see cref="SimulationTasks.RunUntilCompleted"/> on the caller's thread, in virtual time — is the deterministic mode.
/// While this driver runs, only its thread may touch the simulation; after <see cref="Stop"/> (or Dispose) the caller
/// owns it again and may go on in virtual time (e.g. run out TIME-WAIT, then check the pool for leaks).
/// </remarks>
public sealed class RealTimeSimulation : IDisposable
{
    /// <summary>Events run between two looks at the posted work, when the simulation lags behind the wall clock.</summary>
    private const int EventBatch = 256;

    private readonly Simulation _simulation;
    private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _work = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly Thread _thread;
    private readonly Stopwatch _wall = new();
    private readonly Instant _origin;
    private volatile bool _stopRequested;
    private volatile Exception? _failure;
    private long _lagNs;

    /// <summary>Starts driving <paramref name="simulation"/> from its current instant, which stands for now on the wall clock.</summary>
    public RealTimeSimulation(Simulation simulation)
    {
        ArgumentNullException.ThrowIfNull(simulation);
        _simulation = simulation;
        _origin = simulation.Now;
        Context = new LoopContext(this);
        _thread = new Thread(Loop) { IsBackground = true, Name = "xmit-realtime" };
        _wall.Start();
        _thread.Start();
    }

    public Simulation Simulation => _simulation;

    /// <summary>A SynchronizationContext whose Post runs the callback on the simulation's thread (current there, too).</summary>
    public SynchronizationContext Context { get; }

    /// <summary>Whether the caller is the simulation's thread (the only one that may call the stack).</summary>
    public bool IsSimulationThread => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>The instant the wall clock says it is (the simulation's clock is at most this, and close to it).</summary>
    public Instant WallNow => _origin + Duration.FromNanoseconds((long)(_wall.ElapsedTicks * (1_000_000_000.0 / Stopwatch.Frequency)));

    /// <summary>The most an event ran behind its time on the wall clock (how far real time was not kept).</summary>
    public TimeSpan MaxLag => TimeSpan.FromTicks(Interlocked.Read(ref _lagNs) / 100);

    /// <summary>The exception an event or posted callback threw, which stopped the loop; null while all is well.</summary>
    public Exception? Failure => _failure;

    /// <summary>Runs <paramref name="work"/> on the simulation's thread, soon (in the order posted).</summary>
    public void Post(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Enqueue(static s => ((Action)s!)(), work);
    }

    private void Enqueue(SendOrPostCallback callback, object? state)
    {
        if (_stopRequested) throw new InvalidOperationException("the real-time simulation has stopped");
        _work.Enqueue((callback, state));
        _wake.Set();
    }

    /// <summary>Runs <paramref name="work"/> on the simulation's thread; the task completes (on the thread pool) with its result.</summary>
    public Task<T> InvokeAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try { done.SetResult(work()); }
            catch (Exception e) { done.SetException(e); }
        });
        return done.Task;
    }

    /// <summary>Runs <paramref name="work"/> on the simulation's thread.</summary>
    public Task InvokeAsync(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return InvokeAsync(() => { work(); return true; });
    }

    /// <summary>
    /// Starts the async <paramref name="work"/> on the simulation's thread; its awaits resume there (this driver's
    /// context is current), and the returned task completes on the thread pool.
    /// </summary>
    public Task<T> InvokeAsync<T>(Func<Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            Task<T> task;
            try { task = work(); }
            catch (Exception e)
            {
                done.SetException(e);
                return;
            }
            task.ContinueWith(static (t, s) => ((TaskCompletionSource<T>)s!).SetFromTask(t), done,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        });
        return done.Task;
    }

    /// <summary>Stops the loop and waits for its thread; the simulation is the caller's again (in virtual time).</summary>
    public void Stop()
    {
        if (!_stopRequested)
        {
            _stopRequested = true;
            _wake.Set();
        }
        if (!IsSimulationThread) _thread.Join();
    }

    public void Dispose()
    {
        Stop();
        _wake.Dispose();
    }

    private void Loop()
    {
        SynchronizationContext.SetSynchronizationContext(Context);
        var scheduler = _simulation.Scheduler;
        try
        {
            while (!_stopRequested)
            {
                var now = WallNow;
                int budget = EventBatch;
                while (budget > 0 && scheduler.RunOne(now))
                {
                    budget--;
                    long lag = (now - scheduler.Now).Nanoseconds;
                    if (lag > Interlocked.Read(ref _lagNs)) Interlocked.Exchange(ref _lagNs, lag);
                }
                if (budget > 0) scheduler.RunUntil(now); // the clock moves on to the wall's instant
                bool worked = false;
                while (_work.TryDequeue(out var item))
                {
                    item.Callback(item.State);
                    worked = true;
                }
                if (worked || budget == 0) continue; // new work may be due at once
                var next = scheduler.NextEvent;
                long waitNs = next == Instant.Never ? 50_000_000 : (next - WallNow).Nanoseconds;
                if (waitNs <= 0) continue;
                // Wait with a millisecond's resolution (at most 50 ms, to notice Stop): an event runs up to ~1 ms late
                // by the wall clock, still at its own instant of the simulation's clock.
                _wake.WaitOne((int)Math.Min(50, (waitNs + 999_999) / 1_000_000));
            }
            // What was posted before Stop still runs (a close, say), at the last instant; nothing more is taken.
            while (_work.TryDequeue(out var item)) item.Callback(item.State);
        }
        catch (Exception e)
        {
            _failure = e;
            _stopRequested = true;
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(null);
        }
    }

    /// <summary>Posts to the simulation's thread; Send from that thread runs inline, from another one waits.</summary>
    private sealed class LoopContext(RealTimeSimulation owner) : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => owner.Enqueue(d, state);

        public override void Send(SendOrPostCallback d, object? state)
        {
            if (owner.IsSimulationThread)
            {
                d(state);
                return;
            }
            owner.InvokeAsync(() => d(state)).GetAwaiter().GetResult();
        }

        public override SynchronizationContext CreateCopy() => this;
    }
}
