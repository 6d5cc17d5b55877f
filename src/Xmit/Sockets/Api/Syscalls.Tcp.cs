using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Sockets.Api;

/// <summary>The stream-socket side of the system calls: what differs from datagram sockets.</summary>
/// <remarks>Linux: net/ipv4/af_inet.c inet_stream_connect(), inet_accept(), inet_listen(); net/ipv4/tcp.c do_tcp_setsockopt(), do_tcp_getsockopt(), tcp_ioctl()</remarks>
public sealed partial class Syscalls
{
    private TcpProtocol Tcp => Host.Tcp;

    private bool IsTcp(int fd, out SocketFile file, out TcpSock sk)
    {
        sk = null!;
        if (!_files.TryGetValue(fd, out file!) || file.Tcp is null) return false;
        sk = file.Tcp;
        return true;
    }

    private int TcpSocket(int type)
    {
        var file = SocketFile.ForTcp(Tcp.Create());
        if ((type & SockType.SOCK_NONBLOCK) != 0) file.StatusFlags |= Api.Fcntl.O_NONBLOCK;
        return Install(file);
    }

    public int Listen(int fd, int backlog)
    {
        int rc = Lookup(fd, out var file);
        if (rc < 0) return rc;
        if (file.Tcp is not { } sk) return file.Udp is null ? -(int)Errno.ENOTSOCK : -(int)Errno.EOPNOTSUPP;
        if (file.State != SocketState.Unconnected) return -(int)Errno.EINVAL;
        return Tcp.Listen(sk, backlog);
    }

    /// <summary>accept(): the next established connection as a new descriptor; waits for one unless non-blocking.</summary>
    /// <remarks>Linux: net/ipv4/af_inet.c inet_accept(); net/ipv4/inet_connection_sock.c inet_csk_accept()</remarks>
    public int Accept(int fd, out SockAddrIn peer)
    {
        peer = default;
        int rc = Lookup(fd, out var file);
        if (rc < 0) return rc;
        if (file.Tcp is not { } sk) return file.Udp is null ? -(int)Errno.ENOTSOCK : -(int)Errno.EOPNOTSUPP;
        var deadline = file.NonBlocking ? Clock.Now : sk.RcvTimeo.Nanoseconds == long.MaxValue ? Time.Instant.Never : Clock.Now + sk.RcvTimeo;
        while (true)
        {
            var child = Tcp.Accept(sk, out var error);
            if (child is not null)
            {
                peer = new SockAddrIn(child.RemoteAddress, child.RemotePort);
                return Install(SocketFile.ForTcp(child, SocketState.Connected));
            }
            if (error != Errno.EAGAIN || Clock.Now >= deadline) return -(int)error;
            if (!Clock.WaitUntil(() => sk.HasPendingConnection || sk.State != TcpState.Listen, deadline) && deadline == Time.Instant.Never) return -(int)Errno.EAGAIN;
        }
    }

    /// <summary>
    /// connect() on a stream socket: sends the SYN and waits for the handshake (EINPROGRESS when non-blocking;
    /// EALREADY while it runs; the call after it completed returns 0, later ones EISCONN; a refused or timed out
    /// attempt reports its error).
    /// </summary>
    /// <remarks>Linux: net/ipv4/af_inet.c __inet_stream_connect()</remarks>
    private int TcpConnect(SocketFile file, TcpSock sk, SockAddrIn a)
    {
        if (a.Family != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
        int rc;
        switch (file.State)
        {
            case SocketState.Connected:
                return -(int)Errno.EISCONN;
            case SocketState.Connecting:
                rc = -(int)Errno.EALREADY;
                break;
            default:
                rc = Tcp.Connect(sk, a.Address, a.Port);
                if (rc != -(int)Errno.EINPROGRESS) return rc;
                file.State = SocketState.Connecting;
                break;
        }
        if (sk.State is TcpState.SynSent or TcpState.SynRecv)
        {
            if (file.NonBlocking) return rc;
            var deadline = sk.SndTimeo.Nanoseconds == long.MaxValue ? Time.Instant.Never : Clock.Now + sk.SndTimeo;
            Clock.WaitUntil(() => sk.State is not (TcpState.SynSent or TcpState.SynRecv), deadline);
            if (sk.State is TcpState.SynSent or TcpState.SynRecv) return -(int)Errno.EINPROGRESS;
        }
        if (sk.State == TcpState.Close)
        {
            file.State = SocketState.Unconnected;
            var err = sk.TakeError();
            return -(int)(err != Errno.OK ? err : Errno.ECONNABORTED);
        }
        file.State = SocketState.Connected;
        return 0;
    }

    private int TcpSetSockOpt(TcpSock sk, int level, int name, int value)
    {
        switch (level, name)
        {
            case (SockOpt.SOL_SOCKET, SockOpt.SO_REUSEADDR):
                sk.ReuseAddr = value != 0;
                return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF):
                sk.SetSndBufFromUser(value, Host.Sysctls.WmemMax);
                sk.RaiseWriteSpace();
                return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF):
                sk.SetRcvBufFromUser(value, Host.Sysctls.RmemMax);
                return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_KEEPALIVE or SockOpt.SO_REUSEPORT):
                return 0; // keepalive probes are not modelled; the flag alone changes nothing a script sees
            case (SockOpt.IPPROTO_IP, SockOpt.IP_TOS):
                sk.Tos = (byte)value;
                return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_TTL):
                if (value == -1) value = 0;
                else if (value is < 1 or > 255) return -(int)Errno.EINVAL;
                sk.Ttl = (byte)value;
                return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_MTU_DISCOVER):
                if (value is < 0 or > (int)Network.Ipv4.PmtuDisc.Omit) return -(int)Errno.EINVAL;
                sk.PmtuDisc = (Network.Ipv4.PmtuDisc)value;
                return 0;
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY):
                return Tcp.SetNoDelay(sk, value != 0);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_CORK):
                return Tcp.SetCork(sk, value != 0);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_MAXSEG):
                return Tcp.SetMaxSeg(sk, value);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_QUICKACK):
                return Tcp.SetQuickAck(sk, value != 0);
            default:
                return -(int)Errno.ENOPROTOOPT;
        }
    }

    private int TcpGetSockOpt(TcpSock sk, int level, int name, out int value)
    {
        value = 0;
        switch (level, name)
        {
            case (SockOpt.SOL_SOCKET, SockOpt.SO_REUSEADDR): value = sk.ReuseAddr ? 1 : 0; return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF): value = sk.SndBuf; return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF): value = sk.RcvBuf; return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_TYPE): value = SockType.SOCK_STREAM; return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_ERROR): value = (int)sk.TakeError(); return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_TOS): value = sk.Tos; return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_TTL): value = sk.EffectiveTtl; return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_MTU_DISCOVER): value = (int)sk.PmtuDisc; return 0;
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY): value = (sk.NonAgle & TcpProtocol.NagleOff) != 0 ? 1 : 0; return 0;
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_CORK): value = (sk.NonAgle & TcpProtocol.NagleCork) != 0 ? 1 : 0; return 0;
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_MAXSEG):
                // tcp_getsockopt(TCP_MAXSEG): the current MSS once connected, else user_mss or the default.
                value = sk.State is TcpState.Close or TcpState.Listen ? (sk.UserMss > 0 ? sk.UserMss : TcpProtocol.MssDefault) : sk.MssCache;
                return 0;
            default: return -(int)Errno.ENOPROTOOPT;
        }
    }

    /// <summary>SIOCINQ: bytes readable (EINVAL on a listener); SIOCOUTQ: bytes not yet acknowledged; SIOCOUTQNSD: bytes not yet sent.</summary>
    private static int TcpIoctl(TcpSock sk, uint request, out int value)
    {
        value = 0;
        switch (request)
        {
            case Api.Ioctl.SIOCINQ:
                if (sk.State == TcpState.Listen) return -(int)Errno.EINVAL;
                value = sk.ReadableBytes;
                return 0;
            case Api.Ioctl.SIOCOUTQ:
                if (sk.State == TcpState.Listen) return -(int)Errno.EINVAL;
                value = sk.UnackedBytes;
                return 0;
            case Api.Ioctl.SIOCOUTQNSD:
                if (sk.State == TcpState.Listen) return -(int)Errno.EINVAL;
                value = sk.State is TcpState.SynSent or TcpState.Close ? 0 : sk.NotSentBytes;
                return 0;
            default:
                return -(int)Errno.ENOTTY;
        }
    }

    /// <summary>setsockopt(SO_LINGER) with a struct linger.</summary>
    public int SetLinger(int fd, bool on, int seconds)
    {
        int rc = Lookup(fd, out var file);
        if (rc < 0) return rc;
        if (file.Tcp is { } sk)
        {
            sk.Linger = on;
            sk.LingerTime = Time.Duration.FromSeconds(Math.Max(seconds, 0));
        }
        return file.Tcp is null && file.Udp is null ? -(int)Errno.ENOTSOCK : 0;
    }

    private int TcpShutdown(SocketFile file, TcpSock sk, int how)
    {
        if (how is < 0 or > 2) return -(int)Errno.EINVAL;
        int rc = Tcp.Shutdown(sk, how);
        if (file.State == SocketState.Connecting && sk.State == TcpState.Close) file.State = SocketState.Unconnected; // the connect was abandoned
        file.WakeAll();
        return rc;
    }
}
