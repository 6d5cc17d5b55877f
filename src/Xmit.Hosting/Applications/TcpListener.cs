using System.Threading;
using System.Net;
using Xmit.Hosting;
using Xmit.Sockets.Api;

namespace Xmit.Applications;

/// <summary>
/// A listening TCP socket on an Xmit host: <see cref="Bind"/>, <see cref="Listen"/>, then
/// <see cref="AcceptAsync"/> for each connection the kernel has established (the handshake is the kernel's,
/// before accept). Accepted streams share the listener's <see cref="Sockets.Api.Syscalls"/> (one process).
/// </summary>
public sealed class TcpListener : IDisposable
{
    private readonly Syscalls _sys;
    private readonly int _fd;
    private readonly SocketReadiness _readiness;
    private readonly AcceptOperation _accept;
    private bool _disposed;

    public TcpListener(Host host) : this(new Syscalls(host)) { }

    /// <summary>A listener among the descriptors of <paramref name="sys"/>.</summary>
    public TcpListener(Syscalls sys)
    {
        ArgumentNullException.ThrowIfNull(sys);
        _sys = sys;
        _fd = XmitSocketException.Check(sys.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0), "socket");
        _readiness = new SocketReadiness(sys, _fd);
        _accept = new AcceptOperation(_readiness, sys, _fd);
    }

    public Syscalls Syscalls => _sys;

    public int Descriptor => _fd;

    /// <summary>The bound address and port (the ephemeral port the kernel chose, after binding port 0).</summary>
    public IPEndPoint LocalEndPoint
    {
        get
        {
            var sk = ((TcpSocketFile)_sys.File(_fd)!).Sk;
            return EndPoints.ToEndPoint(sk.LocalAddress, sk.LocalPort);
        }
    }

    /// <summary>SO_REUSEADDR, before <see cref="Bind"/>: bind over connections still in TIME-WAIT.</summary>
    public bool ReuseAddress
    {
        get
        {
            XmitSocketException.Check(_sys.GetSockOpt(_fd, SockOpt.SOL_SOCKET, SockOpt.SO_REUSEADDR, out int v), "getsockopt");
            return v != 0;
        }
        set => XmitSocketException.Check(_sys.SetSockOpt(_fd, SockOpt.SOL_SOCKET, SockOpt.SO_REUSEADDR, value ? 1 : 0), "setsockopt");
    }

    /// <exception cref="XmitSocketException">EADDRINUSE, EADDRNOTAVAIL, EINVAL (already bound).</exception>
    public void Bind(IPEndPoint localEndPoint)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        XmitSocketException.Check(_sys.Bind(_fd, EndPoints.ToSockAddr(localEndPoint)), "bind");
    }

    /// <summary>listen(): the kernel answers SYNs from now on; <paramref name="backlog"/> bounds the accept queue.</summary>
    public void Listen(int backlog = 128)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        XmitSocketException.Check(_sys.Listen(_fd, backlog), "listen");
    }

    /// <summary>The next established connection, waiting (in the host's time) for one if none is queued.</summary>
    public ValueTask<TcpStream> AcceptAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _accept.Start(cancellationToken);
    }

    /// <summary>close(): a pending accept fails; connections not yet accepted are reset, as Linux does.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _readiness.Dispose();
        _sys.Close(_fd);
    }
}
