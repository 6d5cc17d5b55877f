using System.Threading;
using Xmit.Sockets.Api;

namespace Xmit.Applications;

/// <summary>
/// A stream's write: send() until every byte of the caller's buffer is queued (Stream semantics), waiting
/// for EPOLLOUT — a third of the send buffer free, as tcp_poll reports it — whenever the buffer is full.
/// </summary>
internal sealed class StreamWriteOperation(SocketReadiness readiness, Syscalls sys, int fd) : SocketOperation<int>(readiness)
{
    private ReadOnlyMemory<byte> _buffer;
    private int _written;

    public ValueTask Start(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        _buffer = buffer;
        _written = 0;
        return StartWithoutResult(cancellationToken);
    }

    protected override Attempt Try(out int result, out Exception? error)
    {
        var attempt = TryWrite(sys, fd, _buffer.Span, ref _written, out error);
        result = _written;
        if (attempt != Attempt.WouldBlock) _buffer = default; // do not keep the caller's memory alive
        return attempt;
    }

    /// <summary>Writes from <paramref name="written"/> on until done or the socket would block (shared with the synchronous Write).</summary>
    public static Attempt TryWrite(Syscalls sys, int fd, ReadOnlySpan<byte> data, ref int written, out Exception? error)
    {
        error = null;
        while (written < data.Length)
        {
            int rc = sys.Write(fd, data[written..]);
            if (rc > 0)
            {
                written += rc;
                continue;
            }
            if (rc == 0 || rc == -(int)Errno.EAGAIN) return Attempt.WouldBlock;
            error = XmitSocketException.Io((Errno)(-rc), "write");
            return Attempt.Failed;
        }
        return Attempt.Done;
    }
}
