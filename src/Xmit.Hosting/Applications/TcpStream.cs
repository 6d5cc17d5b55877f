using System.Threading;
using System.Net;
using System.Net.Sockets;
using Xmit.Hosting;
using Xmit.Sockets.Api;
using Xmit.Transport.Tcp;

namespace Xmit.Applications;

/// <summary>
/// A TCP connection on an Xmit host as a .NET <see cref="Stream"/>: <c>Read</c> returns 0 at the end of the
/// stream (the peer's FIN), <c>Write</c> queues every byte before it returns, <c>Flush</c> does nothing (TCP
/// sends without it; see <see cref="NoDelay"/>), no seeking. The socket underneath is non-blocking and goes
/// through the syscall façade like any program's; an async call that would block (EAGAIN) waits for epoll's
/// EPOLLIN / EPOLLOUT and resumes on the host's own loop at the instant of virtual time Linux would wake a
/// process, so a simulation stays deterministic. A synchronous call that would block runs the host's time
/// until it can go on, as a blocking socket does. Errors are the kernel's errno: an <see cref="IOException"/>
/// around an <see cref="XmitSocketException"/> from Read and Write, an <see cref="XmitSocketException"/> from
/// the rest. One read and one write may be pending at a time.
/// </summary>
/// <remarks>
/// Cancelling a pending call completes it with <see cref="OperationCanceledException"/> on the next turn of the
/// host's loop; in a simulation, cancel from the simulation's thread (a timer, or between runs) —
/// <c>CancelAfter</c> counts wall-clock time, not virtual time.
/// </remarks>
public sealed class TcpStream : Stream
{
    private const uint Readable = Ev.EPOLLIN | Ev.EPOLLRDHUP | Ev.EPOLLERR | Ev.EPOLLHUP;
    private const uint Writable = Ev.EPOLLOUT | Ev.EPOLLERR | Ev.EPOLLHUP;
    private readonly Syscalls _sys;
    private readonly int _fd;
    private readonly SocketReadiness _readiness;
    private readonly StreamReadOperation _read;
    private readonly StreamWriteOperation _write;
    private readonly Func<bool> _isReadable;
    private readonly Func<bool> _isWritable;
    private bool _disposed;

    /// <summary>Wraps the connected (or connecting) stream socket <paramref name="fd"/> of <paramref name="sys"/>, made non-blocking.</summary>
    internal TcpStream(Syscalls sys, int fd)
    {
        _sys = sys;
        _fd = fd;
        XmitSocketException.Check(sys.Fcntl(fd, Fcntl.F_SETFL, sys.Fcntl(fd, Fcntl.F_GETFL) | Fcntl.O_NONBLOCK), "fcntl");
        _readiness = new SocketReadiness(sys, fd);
        _read = new StreamReadOperation(_readiness, sys, fd);
        _write = new StreamWriteOperation(_readiness, sys, fd);
        _isReadable = () => (_readiness.PollMask() & Readable) != 0;
        _isWritable = () => (_readiness.PollMask() & Writable) != 0;
    }

    /// <summary>Opens a connection from <paramref name="host"/> to <paramref name="remote"/>: SYN, SYN-ACK, ACK in the host's time.</summary>
    /// <exception cref="XmitSocketException">ECONNREFUSED (the peer sent a RST), ETIMEDOUT (the SYN retries ran out), ENETUNREACH …</exception>
    public static ValueTask<TcpStream> ConnectAsync(Host host, IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        var addr = EndPoints.ToSockAddr(remote);
        var sys = new Syscalls(host);
        int fd = XmitSocketException.Check(sys.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0), "socket");
        var stream = new TcpStream(sys, fd);
        return new ConnectOperation(stream._readiness, sys, stream, addr).Start(cancellationToken);
    }

    /// <summary>The process's system calls this socket belongs to (for options the stream has no property for).</summary>
    public Syscalls Syscalls => _sys;

    /// <summary>The socket's file descriptor in <see cref="Syscalls"/>.</summary>
    public int Descriptor => _fd;

    /// <summary>The kernel's socket, for tests and tools that look at its state.</summary>
    internal TcpSock Kernel => ((TcpSocketFile)_sys.File(_fd)!).Sk;

    public IPEndPoint LocalEndPoint => EndPoints.ToEndPoint(Kernel.LocalAddress, Kernel.LocalPort);

    public IPEndPoint RemoteEndPoint => EndPoints.ToEndPoint(Kernel.RemoteAddress, Kernel.RemotePort);

    public override bool CanRead => !_disposed;
    public override bool CanWrite => !_disposed;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Nothing to do: written bytes are already the kernel's (TCP_NODELAY, not Flush, decides when they leave).</summary>
    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;

    /// <summary>TCP_NODELAY: send small writes at once instead of waiting (Nagle) for the outstanding data's ACK.</summary>
    public bool NoDelay
    {
        get => GetInt(SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY) != 0;
        set => SetInt(SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY, value ? 1 : 0);
    }

    /// <summary>SO_SNDBUF: setting it doubles the value and stops autotuning, as on Linux; reading gives getsockopt's answer.</summary>
    public int SendBufferSize
    {
        get => GetInt(SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF);
        set => SetInt(SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, value);
    }

    /// <summary>SO_RCVBUF: as <see cref="SendBufferSize"/>, for the receive buffer (and so the window).</summary>
    public int ReceiveBufferSize
    {
        get => GetInt(SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF);
        set => SetInt(SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, value);
    }

    /// <summary>SIOCINQ: bytes that a read would return now.</summary>
    public int Available
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            XmitSocketException.Check(_sys.Ioctl(_fd, Ioctl.SIOCINQ, out int v), "ioctl");
            return v;
        }
    }

    /// <summary>A snapshot of the connection's tcp_info (getsockopt TCP_INFO).</summary>
    public TcpInfo Info
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return TcpInfo.From(Kernel);
        }
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <summary>Reads what is queued (at least one byte), waiting in the host's time if nothing is; 0 at the end of the stream.</summary>
    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            var attempt = StreamReadOperation.TryRead(_sys, _fd, buffer, out int n, out var error);
            if (attempt == Attempt.Done) return n;
            if (attempt == Attempt.Failed) throw error!;
            Block(_isReadable, "read");
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    /// <summary>Queues every byte, waiting in the host's time for send-buffer space as often as needed.</summary>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int written = 0;
        while (true)
        {
            var attempt = StreamWriteOperation.TryWrite(_sys, _fd, buffer, ref written, out var error);
            if (attempt == Attempt.Done) return;
            if (attempt == Attempt.Failed) throw error!;
            Block(_isWritable, "write");
        }
    }

    /// <summary>
    /// A blocking socket's wait: the host's events run until the socket is ready; with none left that could wake it,
    /// EAGAIN. Other apps' awaits resume while it runs, so no SynchronizationContext is current meanwhile (as under
    /// RunUntilCompleted): they resume inline on this thread instead of being posted to a test runner's context.
    /// </summary>
    private void Block(Func<bool> ready, string operation)
    {
        var saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            if (!_sys.Host.Scheduler.WaitUntil(ready, Time.Instant.Never)) throw XmitSocketException.Io(Errno.EAGAIN, operation);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    // The overloads are Stream's: their optional parameters are the base class's, not ours to change (RS0027).
#pragma warning disable RS0027
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _read.Start(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _write.Start(buffer, cancellationToken);
    }
#pragma warning restore RS0027

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    // Stream's own Begin/End run on the thread pool; these go through the async calls above instead.
    public override IAsyncResult BeginRead(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(ReadAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override int EndRead(IAsyncResult asyncResult) => TaskToAsyncResult.End<int>(asyncResult);

    public override IAsyncResult BeginWrite(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(WriteAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override void EndWrite(IAsyncResult asyncResult) => TaskToAsyncResult.End(asyncResult);

    /// <summary>shutdown(): <see cref="SocketShutdown.Send"/> sends a FIN once the queued data is out, so the peer reads 0 after it.</summary>
    public void Shutdown(SocketShutdown how)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int shut = how switch
        {
            SocketShutdown.Receive => Shut.SHUT_RD,
            SocketShutdown.Send => Shut.SHUT_WR,
            SocketShutdown.Both => Shut.SHUT_RDWR,
            _ => throw new ArgumentOutOfRangeException(nameof(how)),
        };
        XmitSocketException.Check(_sys.Shutdown(_fd, shut), "shutdown");
    }

    /// <summary>shutdown(SHUT_WR): the end of what this side sends.</summary>
    public void ShutdownWrite() => Shutdown(SocketShutdown.Send);

    /// <summary>close(): pending calls fail, and the kernel goes on with the FIN (or a RST if unread data is left, as Linux does).</summary>
    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            _disposed = true;
            _readiness.Dispose();
            _sys.Close(_fd);
        }
        base.Dispose(disposing);
    }

    private int GetInt(int level, int name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        XmitSocketException.Check(_sys.GetSockOpt(_fd, level, name, out int v), "getsockopt");
        return v;
    }

    private void SetInt(int level, int name, int value)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        XmitSocketException.Check(_sys.SetSockOpt(_fd, level, name, value), "setsockopt");
    }
}
