using Xmit.Time;
using SemaphoreSlim = System.Threading.SemaphoreSlim;
using Thread = System.Threading.Thread;

namespace Xmit.Packetdrill;

/// <summary>
/// A blocking system call of a script ("+0...0.2 accept(…)") running while the script goes on, as packetdrill
/// runs it on a thread of its own. Here the call runs on a helper thread but never at the same time as the
/// script: when it would block it parks (<see cref="Park"/>) and hands control back; after every event (and
/// every injected packet) the script thread resumes it if what it waits for happened or its deadline passed.
/// One thread runs at a time, so runs stay deterministic.
/// </summary>
internal sealed class BlockingCall : IDisposable
{
    private readonly CooperativeScheduler _scheduler;
    private readonly SemaphoreSlim _toHelper = new(0), _toScript = new(0);
    private readonly Timer _deadlineTimer;
    private Func<bool>? _ready;
    private Instant _deadline;
    private int _helperThreadId = -1;

    public BlockingCall(CooperativeScheduler scheduler)
    {
        _scheduler = scheduler;
        _deadlineTimer = new Timer(scheduler, static () => { }, "blocking-call-deadline");
        scheduler.Blocking = this;
    }

    /// <summary>A call was started and has not returned yet.</summary>
    public bool Pending { get; private set; }

    /// <summary>True on the helper thread running the call.</summary>
    public bool OnHelperThread => Pending && Environment.CurrentManagedThreadId == _helperThreadId;

    /// <summary>What the call's own check said (null: it returned as the script expected).</summary>
    public ScriptResult? Result { get; private set; }

    private Exception? _error;

    /// <summary>Starts <paramref name="call"/> and runs it until it returns or first blocks.</summary>
    public void Start(Func<ScriptResult?> call)
    {
        Pending = true;
        Result = null;
        _error = null;
        var thread = new Thread(() =>
        {
            _helperThreadId = Environment.CurrentManagedThreadId;
            _toHelper.Wait();
            try
            {
                Result = call();
            }
            catch (Exception e)
            {
                _error = e;
            }
            Pending = false;
            _toScript.Release();
        }) { IsBackground = true, Name = "packetdrill-blocking-call" };
        thread.Start();
        _toHelper.Release();
        _toScript.Wait();
    }

    /// <summary>On the helper: wait (cooperatively) until <paramref name="ready"/> or the deadline.</summary>
    public bool Park(Func<bool> ready, Instant deadline)
    {
        if (ready() || _scheduler.Now >= deadline) return ready();
        _ready = ready;
        _deadline = deadline;
        if (deadline != Instant.Never) _scheduler.Arm(_deadlineTimer, deadline);
        _toScript.Release();
        _toHelper.Wait();
        _ready = null;
        _scheduler.Disarm(_deadlineTimer);
        return ready();
    }

    /// <summary>Called on the script thread after every event: resumes the parked call if it became ready.</summary>
    public void AfterEvent() => Poll();

    /// <summary>On the script thread: resume the parked call if it can go on; returns when it parks again or returns.</summary>
    public void Poll()
    {
        if (!Pending || _ready is null || OnHelperThread) return;
        if (!_ready() && _scheduler.Now < _deadline) return;
        _toHelper.Release();
        _toScript.Wait();
    }

    /// <summary>Rethrows on the script thread what the call threw (an unsupported argument, say).</summary>
    public void ThrowIfFailed()
    {
        if (_error is { } e)
        {
            _error = null;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
        }
    }

    public void Dispose()
    {
        _scheduler.Blocking = null;
        if (Pending) return; // a call still blocked when the script ended stays parked: a background thread, never resumed
        _toHelper.Dispose();
        _toScript.Dispose();
    }
}
