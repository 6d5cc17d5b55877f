using System.Threading;
using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;

namespace Xmit.Applications;

/// <summary>
/// A stream's read: recv() into the caller's buffer. A read into an empty buffer waits until the socket is
/// readable and returns 0 without consuming anything (the zero-byte read that SslStream, HttpClient and Kestrel
/// use to wait without holding a buffer).
/// </summary>
internal sealed class StreamReadOperation(SocketReadiness readiness, Syscalls sys, int fd) : SocketOperation<int>(readiness)
{
    private Memory<byte> _buffer;

    public ValueTask<int> Start(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        _buffer = buffer;
        return Start(cancellationToken);
    }

    protected override Attempt Try(out int result, out Exception? error) => TryRead(sys, fd, _buffer.Span, out result, out error);

    /// <summary>One non-blocking read (shared with the stream's synchronous Read).</summary>
    public static Attempt TryRead(Syscalls sys, int fd, Span<byte> buffer, out int result, out Exception? error)
    {
        error = null;
        Span<byte> one = stackalloc byte[1];
        bool probe = buffer.IsEmpty;
        int rc = probe ? sys.Recv(fd, one, MsgFlags.Peek) : sys.Read(fd, buffer);
        result = probe ? 0 : Math.Max(rc, 0);
        if (rc >= 0) return Attempt.Done;
        if (rc == -(int)Errno.EAGAIN) return Attempt.WouldBlock;
        error = XmitSocketException.Io((Errno)(-rc), "read");
        return Attempt.Failed;
    }
}
