using System.Threading;
using Xmit.Sockets.Api;

namespace Xmit.Applications;

/// <summary>A listener's accept(): the next established connection as a <see cref="TcpStream"/>, waiting for EPOLLIN.</summary>
internal sealed class AcceptOperation(SocketReadiness readiness, Syscalls sys, int fd) : SocketOperation<TcpStream>(readiness)
{
    public new ValueTask<TcpStream> Start(CancellationToken cancellationToken) => base.Start(cancellationToken);

    protected override Attempt Try(out TcpStream result, out Exception? error)
    {
        result = null!;
        error = null;
        int rc = sys.Accept(fd, out _);
        if (rc == -(int)Errno.EAGAIN) return Attempt.WouldBlock;
        if (rc < 0)
        {
            error = new XmitSocketException((Errno)(-rc), "accept");
            return Attempt.Failed;
        }
        result = new TcpStream(sys, rc); // accept() does not inherit O_NONBLOCK: the stream sets it
        return Attempt.Done;
    }
}
