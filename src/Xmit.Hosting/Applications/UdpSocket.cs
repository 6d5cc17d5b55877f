using Xmit.Hosting;
using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Applications;

/// <summary>The outcome of a send or receive: a byte count, or the errno Linux would return.</summary>
public readonly record struct SocketResult(int Bytes, Errno Error)
{
    public static SocketResult From(int rc) => rc >= 0 ? new(rc, Errno.OK) : new(0, (Errno)(-rc));
    public bool Ok => Error == Errno.OK;
    /// <summary>EAGAIN: the send buffer is full (or nothing to read) on a non-blocking socket.</summary>
    public bool WouldBlock => Error == Errno.EAGAIN;
    public override string ToString() => Ok ? $"{Bytes} bytes" : Error.ToString();
}

/// <summary>A received datagram's size and source.</summary>
public readonly record struct ReceiveResult(int Bytes, Errno Error, Ipv4Address Source, ushort SourcePort)
{
    public bool Ok => Error == Errno.OK;
}

/// <summary>
/// A .NET-style UDP socket on a simulated (or TAP) host, built on the fd façade: Span arguments, results
/// instead of exceptions for everything Linux reports with an errno, and awaitable waits for writability and
/// readability that complete when epoll would report EPOLLOUT / EPOLLIN — in the host's time. Exceptions
/// are only for misuse (a disposed socket).
/// </summary>
public sealed class UdpSocket : IDisposable
{
    private readonly Syscalls _sys;
    private readonly int _fd;
    private readonly int _epOut;
    private readonly int _epIn;
    private readonly EpollEvent[] _events = new EpollEvent[1];
    private TaskCompletionSource? _writable;
    private TaskCompletionSource? _readable;
    private bool _disposed;

    // Two constructors with the same optional parameter predate the tracked API; kept as they are for callers.
#pragma warning disable RS0026
    public UdpSocket(Syscalls sys, bool blocking = false)
    {
        _sys = sys;
        _fd = Check(sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM | (blocking ? 0 : SockType.SOCK_NONBLOCK), 0));
        _epOut = Check(sys.EpollCreate());
        _epIn = Check(sys.EpollCreate());
        Check(sys.EpollCtl(_epOut, Ev.EPOLL_CTL_ADD, _fd, new EpollEvent(Ev.EPOLLOUT | Ev.EPOLLET, 0)));
        Check(sys.EpollCtl(_epIn, Ev.EPOLL_CTL_ADD, _fd, new EpollEvent(Ev.EPOLLIN | Ev.EPOLLET, 0)));
        ((EpollFile)sys.File(_epOut)!).Epoll.Readied += _ => Complete(ref _writable);
        ((EpollFile)sys.File(_epIn)!).Epoll.Readied += _ => Complete(ref _readable);
    }

    public UdpSocket(Host host, bool blocking = false) : this(new Syscalls(host), blocking) { }
#pragma warning restore RS0026

    public Syscalls Syscalls => _sys;
    public int Descriptor => _fd;

    /// <summary>The kernel-side socket, for reading its state (wmem_alloc, sndbuf, counters).</summary>
    public Transport.Udp.UdpSock Kernel => ((UdpSocketFile)_sys.File(_fd)!).Sk;

    public bool Blocking
    {
        get => (_sys.Fcntl(_fd, Fcntl.F_GETFL) & Fcntl.O_NONBLOCK) == 0;
        set => _sys.Fcntl(_fd, Fcntl.F_SETFL, value ? 0 : Fcntl.O_NONBLOCK);
    }

    /// <summary>SO_SNDBUF: setting doubles the value as Linux does; reading returns what getsockopt would.</summary>
    public int SendBufferSize
    {
        get { _sys.GetSockOpt(_fd, SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, out int v); return v; }
        set => Check(_sys.SetSockOpt(_fd, SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, value));
    }

    public int ReceiveBufferSize
    {
        get { _sys.GetSockOpt(_fd, SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, out int v); return v; }
        set => Check(_sys.SetSockOpt(_fd, SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, value));
    }

    public PmtuDisc PmtuDiscovery
    {
        get { _sys.GetSockOpt(_fd, SockOpt.IPPROTO_IP, SockOpt.IP_MTU_DISCOVER, out int v); return (PmtuDisc)v; }
        set => Check(_sys.SetSockOpt(_fd, SockOpt.IPPROTO_IP, SockOpt.IP_MTU_DISCOVER, (int)value));
    }

    /// <summary>SIOCOUTQ: bytes charged to the socket for sending.</summary>
    public int OutQueue { get { _sys.Ioctl(_fd, Ioctl.SIOCOUTQ, out int v); return v; } }

    public SocketResult SetOption(int level, int name, int value) => SocketResult.From(_sys.SetSockOpt(_fd, level, name, value));

    public SocketResult Bind(Ipv4Address address, ushort port) => SocketResult.From(_sys.Bind(_fd, new SockAddrIn(address, port)));

    public SocketResult Connect(Ipv4Address address, ushort port) => SocketResult.From(_sys.Connect(_fd, new SockAddrIn(address, port)));

    public SocketResult Send(ReadOnlySpan<byte> data, MsgFlags flags = MsgFlags.None) => SocketResult.From(_sys.SendTo(_fd, data, flags, null));

    public SocketResult SendTo(ReadOnlySpan<byte> data, Ipv4Address address, ushort port, MsgFlags flags = MsgFlags.None) =>
        SocketResult.From(_sys.SendTo(_fd, data, flags, new SockAddrIn(address, port)));

    public ReceiveResult ReceiveFrom(Span<byte> buffer, MsgFlags flags = MsgFlags.None)
    {
        int rc = _sys.RecvFrom(_fd, buffer, flags, out var from);
        return rc >= 0 ? new ReceiveResult(rc, Errno.OK, from.Address, from.Port) : new ReceiveResult(0, (Errno)(-rc), default, 0);
    }

    /// <summary>Completes when the socket is writable (EPOLLOUT): at once if it is, else on the wake-up that makes it so.</summary>
    public Task WaitWritableAsync() => Wait(_epOut, Ev.EPOLLOUT, ref _writable);

    /// <summary>Completes when a datagram is queued or an error is pending (EPOLLIN / EPOLLERR).</summary>
    public Task WaitReadableAsync() => Wait(_epIn, Ev.EPOLLIN | Ev.EPOLLERR, ref _readable);

    private Task Wait(int ep, uint mask, ref TaskCompletionSource? slot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Drain the edge-triggered list so the next wake-up is noticed, then look at the level.
        while (_sys.EpollWait(ep, _events, 0) > 0) { }
        if ((_sys.File(_fd)!.PollMask() & mask) != 0) return Task.CompletedTask;
        // Continuations run inline when the wake-up fires, i.e. at that instant of the host's time.
        slot ??= new TaskCompletionSource();
        return slot.Task;
    }

    private void Complete(ref TaskCompletionSource? slot)
    {
        var tcs = slot;
        if (tcs is null) return;
        slot = null;
        tcs.TrySetResult();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _sys.Close(_epOut);
        _sys.Close(_epIn);
        _sys.Close(_fd);
    }

    private static int Check(int rc) =>
        rc >= 0 ? rc : throw new InvalidOperationException($"socket call failed: {(Errno)(-rc)}");
}
