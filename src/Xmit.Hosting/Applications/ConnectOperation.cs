using System.Threading;
using Xmit.Sockets.Api;

namespace Xmit.Applications;

/// <summary>
/// A non-blocking connect(): EINPROGRESS, then a wait for the handshake's end (EPOLLOUT, or EPOLLERR/EPOLLHUP
/// for a refusal or a timeout); connect() again then says how it ended (0, or the error, as
/// __inet_stream_connect reports it). A failed or cancelled connect closes its socket.
/// </summary>
internal sealed class ConnectOperation(SocketReadiness readiness, Syscalls sys, TcpStream stream, SockAddrIn remote)
    : SocketOperation<TcpStream>(readiness)
{
    public new ValueTask<TcpStream> Start(CancellationToken cancellationToken) => base.Start(cancellationToken);

    protected override Attempt Try(out TcpStream result, out Exception? error)
    {
        result = stream;
        error = null;
        int rc = sys.Connect(stream.Descriptor, remote);
        if (rc is 0 or -(int)Errno.EISCONN) return Attempt.Done;
        if (rc is -(int)Errno.EINPROGRESS or -(int)Errno.EALREADY) return Attempt.WouldBlock;
        error = new XmitSocketException((Errno)(-rc), "connect");
        return Attempt.Failed;
    }

    protected override void OnFailed() => stream.Dispose();
}
