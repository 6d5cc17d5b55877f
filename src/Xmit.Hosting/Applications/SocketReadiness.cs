using Xmit.Sockets.Api;
using Xmit.Time;

namespace Xmit.Applications;

/// <summary>
/// The wait behind an app's async socket calls: one edge-triggered epoll instance on the socket (EPOLLIN,
/// EPOLLOUT, EPOLLRDHUP, and the implied EPOLLERR / EPOLLHUP), and one reusable timer. A wake-up while an
/// operation is pending arms the timer for the same instant; when the scheduler fires it, each pending
/// operation retries its system call. So the app resumes as a fresh event on the host's own loop — the way a
/// woken process runs after the softirq that woke it, never inside the kernel's receive or completion path —
/// at the virtual instant Linux would wake it, and in the order the events were armed.
/// </summary>
internal sealed class SocketReadiness : IDisposable
{
    private const uint Interest = Ev.EPOLLIN | Ev.EPOLLOUT | Ev.EPOLLRDHUP | Ev.EPOLLET;
    private readonly Syscalls _sys;
    private readonly int _fd;
    private readonly int _ep;
    private readonly Epoll _epoll;
    private readonly Timer _wake;
    private readonly EpollEvent[] _events = new EpollEvent[4];
    private readonly Action<Epoll> _onReadied;
    private readonly ISocketOperation?[] _ops = new ISocketOperation?[3];
    private bool _disposed;

    public SocketReadiness(Syscalls sys, int fd)
    {
        _sys = sys;
        _fd = fd;
        _ep = XmitSocketException.Check(sys.EpollCreate(), "epoll_create");
        XmitSocketException.Check(sys.EpollCtl(_ep, Ev.EPOLL_CTL_ADD, fd, new EpollEvent(Interest, 0)), "epoll_ctl");
        _epoll = ((EpollFile)sys.File(_ep)!).Epoll;
        _onReadied = _ => { if (AnyPending) Schedule(); };
        _epoll.Readied += _onReadied;
        _wake = new Timer(sys.Host.Scheduler, OnWake, "app-wake");
    }

    public IScheduler Scheduler => _sys.Host.Scheduler;

    /// <summary>Joins an operation (a socket has at most three: read, write and connect, or accept).</summary>
    public void Register(ISocketOperation op)
    {
        int i = Array.IndexOf(_ops, null);
        if (i < 0) ThrowHelper.Bug("a socket waits for at most three kinds of operation");
        _ops[i] = op;
    }

    private bool AnyPending
    {
        get
        {
            foreach (var op in _ops) if (op is { IsPending: true }) return true;
            return false;
        }
    }

    /// <summary>
    /// Empties the edge-triggered ready list, so the next wake-up raises Readied again. An operation calls it
    /// after its system call said EAGAIN and before it waits; nothing runs in between (one thread), so no
    /// wake-up is lost.
    /// </summary>
    public void Drain()
    {
        while (_sys.EpollWait(_ep, _events, 0) > 0) { }
    }

    /// <summary>Fires the wake-up at the current instant (a readiness change or a cancellation).</summary>
    public void Schedule()
    {
        if (!_disposed && !_wake.IsArmed) _wake.Arm(_wake.Scheduler.Now);
    }

    /// <summary>Events ready now on the socket.</summary>
    public uint PollMask() => _sys.File(_fd)?.PollMask() ?? Ev.EPOLLNVAL;

    private void OnWake()
    {
        if (_disposed) return;
        Drain();
        foreach (var op in _ops)
        {
            if (_disposed) return; // an app's continuation closed the socket
            op?.Retry();
        }
    }

    /// <summary>Fails what still waits and takes the epoll instance off the socket (before the socket closes).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _wake.Disarm();
        _epoll.Readied -= _onReadied;
        var aborted = XmitSocketException.Io(Errno.EBADF, "use");
        foreach (var op in _ops) op?.Abort(aborted);
        _sys.EpollCtl(_ep, Ev.EPOLL_CTL_DEL, _fd, default);
        _sys.Close(_ep);
    }
}
