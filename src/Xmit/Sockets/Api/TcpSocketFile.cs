using Xmit.Network.Ipv4;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Sockets.Api;

/// <summary>
/// A stream socket's file: tcp_prot's operations behind inet_stream_ops, and struct socket's state (whether
/// connect() was called and has been reported).
/// </summary>
/// <remarks>Linux: net/ipv4/af_inet.c inet_stream_ops, inet_stream_connect(), inet_accept(), inet_listen(); net/ipv4/tcp.c do_tcp_setsockopt(), do_tcp_getsockopt(), tcp_ioctl()</remarks>
public sealed class TcpSocketFile : InetSocketFile
{
    private readonly TcpProtocol _tcp;

    internal TcpSocketFile(TcpProtocol tcp, IScheduler clock, TcpSock sk, SocketState state = SocketState.Unconnected) : base(clock, tcp.Sysctls)
    {
        _tcp = tcp;
        Sk = sk;
        State = state;
        sk.DataReady += _ => WakeWatchers(Ev.EPOLLIN | Ev.EPOLLPRI | Ev.EPOLLRDNORM | Ev.EPOLLRDBAND);
        sk.StreamWriteSpace += _ => WakeWatchers(Ev.EPOLLOUT | Ev.EPOLLWRNORM | Ev.EPOLLWRBAND);
        sk.StateChange += _ => WakeAll();
        sk.ErrorReport += _ => WakeWatchers(Ev.EPOLLERR); // sock_def_error_report()
    }

    public override TcpSock Sk { get; }

    public override int Type => SockType.SOCK_STREAM;

    /// <summary>sock->state.</summary>
    public SocketState State { get; private set; }

    private protected override bool ReuseAddr { get => Sk.ReuseAddr; set => Sk.ReuseAddr = value; }

    /// <summary>OPT_ID on a TCP socket: the keys count from snd_una (write_seq with OPT_ID_TCP); not on a closed or listening one.</summary>
    private protected override uint? StreamKeyStart(TimestampingFlags val) =>
        Sk.State is TcpState.Close or TcpState.Listen ? null
        : (val & TimestampingFlags.OptIdTcp) != 0 ? Sk.WriteSeq.Value : Sk.SndUna.Value;

    /// <summary>sk_stream_write_space().</summary>
    private protected override void WriteSpace() => Sk.RaiseWriteSpace();

    /// <summary>
    /// tcp_poll(): a listener is readable with a connection to accept; HUP when shut down both ways or closed;
    /// readable with data or after the peer's FIN; writable while the send buffer has a third free (not
    /// during the handshake); ERR for a pending error.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_poll(); include/net/sock.h __sk_stream_is_writeable()</remarks>
    public override uint PollMask()
    {
        var sk = Sk;
        if (sk.State == TcpState.Listen) return sk.HasPendingConnection ? Ev.EPOLLIN | Ev.EPOLLRDNORM : 0;
        uint mask = 0;
        if (sk.Shutdown == (Sock.RcvShutdown | Sock.SendShutdown) || sk.State == TcpState.Close) mask |= Ev.EPOLLHUP;
        if ((sk.Shutdown & Sock.RcvShutdown) != 0) mask |= Ev.EPOLLIN | Ev.EPOLLRDNORM | Ev.EPOLLRDHUP;
        // A Fast Open child is usable in SYN-RECV; a deferred Fast Open connect is writable so that write() sends the SYN.
        if (sk.State != TcpState.SynSent && (sk.State != TcpState.SynRecv || sk.FastOpenReq is not null))
        {
            if (sk.ReadableBytes > 0) mask |= Ev.EPOLLIN | Ev.EPOLLRDNORM;
            if ((sk.Shutdown & Sock.SendShutdown) != 0 || sk.StreamWriteable) mask |= Ev.EPOLLOUT | Ev.EPOLLWRNORM;
            else sk.NoSpace = true;
        }
        else if (sk.State == TcpState.SynSent && sk.DeferConnect) mask |= Ev.EPOLLOUT | Ev.EPOLLWRNORM;
        if (sk.Error != Errno.OK || !sk.ErrorQueue.IsEmpty) mask |= Ev.EPOLLERR;
        return mask;
    }

    private protected override int Bind(Ipv4Address address, ushort port) => _tcp.Bind(Sk, address, port);

    /// <remarks>Linux: net/ipv4/af_inet.c inet_listen()</remarks>
    internal override int Listen(int backlog) => State != SocketState.Unconnected ? -(int)Errno.EINVAL : _tcp.Listen(Sk, backlog);

    /// <summary>accept(): the next established connection as a new file; waits for one unless non-blocking.</summary>
    /// <remarks>Linux: net/ipv4/af_inet.c inet_accept(); net/ipv4/inet_connection_sock.c inet_csk_accept()</remarks>
    internal override int Accept(out SocketFile? child, out SockAddrIn peer)
    {
        child = null;
        peer = default;
        var sk = Sk;
        var deadline = Deadline(NonBlocking, sk.RcvTimeo);
        while (true)
        {
            var next = _tcp.Accept(sk, out var error);
            if (next is not null)
            {
                peer = new SockAddrIn(next.RemoteAddress, next.RemotePort);
                child = new TcpSocketFile(_tcp, Clock, next, SocketState.Connected);
                return 0;
            }
            if (error != Errno.EAGAIN || Clock.Now >= deadline) return -(int)error;
            if (!Clock.WaitUntil(() => sk.HasPendingConnection || sk.State != TcpState.Listen, deadline) && deadline == Instant.Never) return -(int)Errno.EAGAIN;
        }
    }

    /// <summary>
    /// connect() on a stream socket: sends the SYN and waits for the handshake (EINPROGRESS when non-blocking;
    /// EALREADY while it runs (EISCONN while a TCP_FASTOPEN_CONNECT SYN waits for the first write); the call after it completed returns 0, later ones EISCONN; a refused or timed out
    /// attempt reports its error).
    /// </summary>
    /// <remarks>Linux: net/ipv4/af_inet.c __inet_stream_connect()</remarks>
    private protected override int Connect(SockAddrIn a)
    {
        if (a.Family != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
        var sk = Sk;
        int rc;
        switch (State)
        {
            case SocketState.Connected:
                return -(int)Errno.EISCONN;
            case SocketState.Connecting:
                rc = -(int)(sk.DeferConnect ? Errno.EISCONN : Errno.EALREADY); // TCP_FASTOPEN_CONNECT: the SYN waits for a write
                break;
            default:
                rc = _tcp.Connect(sk, a.Address, a.Port);
                if (rc == 0 && sk.DeferConnect)
                {
                    State = SocketState.Connecting; // TCP_FASTOPEN_CONNECT: the SYN waits for the first write
                    return 0;
                }
                if (rc != -(int)Errno.EINPROGRESS) return rc;
                State = SocketState.Connecting;
                break;
        }
        if (sk.State is TcpState.SynSent or TcpState.SynRecv)
        {
            if (NonBlocking) return rc;
            Clock.WaitUntil(() => sk.State is not (TcpState.SynSent or TcpState.SynRecv), Deadline(false, sk.SndTimeo));
            if (sk.State is TcpState.SynSent or TcpState.SynRecv) return -(int)Errno.EINPROGRESS;
        }
        if (sk.State == TcpState.Close)
        {
            State = SocketState.Unconnected;
            var err = sk.TakeError();
            return -(int)(err != Errno.OK ? err : Errno.ECONNABORTED);
        }
        State = SocketState.Connected;
        return 0;
    }

    /// <summary>send() on a stream socket: the pending error or EPIPE unless connected (or connecting).</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sendmsg_locked(); net/core/stream.c sk_stream_wait_connect()</remarks>
    internal override int SendTo(ReadOnlySpan<byte> buffer, MsgFlags flags, SockAddrIn? to)
    {
        if ((flags & MsgFlags.FastOpen) != 0 || Sk.DeferConnect)
        {
            // tcp_sendmsg_locked(): the zerocopy notification is set up before the Fast Open connect, which takes it along.
            var uarg = _tcp.ZerocopyBegin(Sk, buffer.Length, flags, out int zerr);
            if (zerr < 0) return zerr;
            int sent = SendFastOpen(buffer, flags, to, uarg);
            TcpProtocol.ZerocopyEnd(uarg, sent > 0);
            return sent;
        }
        // sk_stream_wait_connect(): a pending error first (a connection that timed out: ETIMEDOUT), else EPIPE.
        if (State != SocketState.Connected && Sk.State is TcpState.Close or TcpState.Listen)
            return -(int)(Sk.Error != Errno.OK ? Sk.TakeError() : Errno.EPIPE);
        return _tcp.SendMsg(Sk, buffer, flags, NoBlock(flags));
    }

    /// <summary>
    /// sendto(MSG_FASTOPEN): connect with the data in the SYN (tcp_sendmsg_fastopen, __inet_stream_connect with
    /// is_sendmsg). Non-blocking, the bytes the SYN took or EINPROGRESS; blocking, once connected the rest is
    /// sent as by write() and the total returned. EISCONN when connected, EALREADY while connecting.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sendmsg_locked(), tcp_sendmsg_fastopen(); net/ipv4/af_inet.c __inet_stream_connect()</remarks>
    private int SendFastOpen(ReadOnlySpan<byte> buffer, MsgFlags flags, SockAddrIn? to, ZerocopyArg? uarg)
    {
        if (to is { Family: Af.AF_UNSPEC }) return -(int)Errno.EOPNOTSUPP;
        var sk = Sk;
        int rc, copied;
        if (sk.DeferConnect) rc = _tcp.ConnectDeferred(sk, buffer, out copied, uarg); // connect() left the SYN to this write
        else
        {
            switch (State)
            {
                case SocketState.Connected: return -(int)Errno.EISCONN;
                case SocketState.Connecting when sk.State is TcpState.SynSent or TcpState.SynRecv: return -(int)Errno.EALREADY;
                case SocketState.Connecting when sk.State == TcpState.Close:
                {
                    State = SocketState.Unconnected;
                    var err = sk.TakeError();
                    return -(int)(err != Errno.OK ? err : Errno.ECONNABORTED);
                }
                case SocketState.Connecting:
                    // A non-blocking connect that has completed: __inet_stream_connect() marks the socket connected
                    // and returns 0, so the data goes as by write().
                    State = SocketState.Connected;
                    return _tcp.SendMsgLocked(sk, buffer, flags & ~MsgFlags.FastOpen, NoBlock(flags), uarg);
            }
            if (to is not { } addr) return -(int)Errno.EINVAL;
            if (addr.Family != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
            rc = _tcp.ConnectFastOpen(sk, buffer, addr.Address, addr.Port, out copied, uarg);
        }
        if (rc != -(int)Errno.EINPROGRESS) return rc;
        State = SocketState.Connecting;
        if (NoBlock(flags)) return copied > 0 ? copied : rc;
        // inet_wait_for_connect() with writebias: a writer is pending while it waits, if data is left beyond the
        // SYN's (tcp_send_syn_data clears fo->data when the SYN took it all).
        int bias = copied < buffer.Length ? 1 : 0;
        sk.WritePending += bias;
        Clock.WaitUntil(() => sk.State is not (TcpState.SynSent or TcpState.SynRecv), Deadline(false, sk.SndTimeo));
        sk.WritePending -= bias;
        if (sk.State is TcpState.SynSent or TcpState.SynRecv) return copied > 0 ? copied : rc;
        if (sk.State == TcpState.Close)
        {
            State = SocketState.Unconnected;
            var err = sk.TakeError();
            return -(int)(err != Errno.OK ? err : Errno.ECONNABORTED);
        }
        State = SocketState.Connected;
        if (copied == buffer.Length) return copied;
        int rest = _tcp.SendMsgLocked(sk, buffer[copied..], flags & ~MsgFlags.FastOpen, noblock: false, uarg);
        return rest < 0 ? (copied > 0 ? copied : rest) : copied + rest;
    }

    /// <summary>
    /// tcp_sendmsg() with a buffer that faults: the connection wait and the state checks first (EPIPE …), then
    /// EAGAIN if the send buffer is full, else the copy faults before anything is queued: EFAULT.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sendmsg_locked() do_error, sk_stream_error()</remarks>
    internal override int SendToUnmapped(int length, MsgFlags flags)
    {
        int rc = SendTo(ReadOnlySpan<byte>.Empty, flags, null);
        if (rc < 0 || length == 0) return rc;
        if (!Sk.StreamMemoryFree && NoBlock(flags))
        {
            Sk.NoSpace = true;
            return -(int)Errno.EAGAIN;
        }
        return -(int)Errno.EFAULT;
    }

    /// <summary>tcp_recvmsg() into a buffer that faults: what a read would wait for or return first; with data to copy, EFAULT and the data stays queued.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_recvmsg_locked()</remarks>
    internal override int RecvFromUnmapped(int length, MsgFlags flags)
    {
        if (length == 0) return 0;
        Span<byte> one = stackalloc byte[1];
        int rc = RecvFrom(one, flags | MsgFlags.Peek, out _);
        return rc <= 0 ? rc : -(int)Errno.EFAULT;
    }

    /// <summary>recv() on a stream socket: ENOTCONN on a socket that never connected.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_recvmsg_locked()</remarks>
    internal override int RecvFrom(Span<byte> buffer, MsgFlags flags, out SockAddrIn from)
    {
        from = default;
        if (Sk.State is TcpState.Close && State != SocketState.Connected) return -(int)Errno.ENOTCONN;
        return _tcp.RecvMsg(Sk, buffer, flags, NoBlock(flags));
    }

    /// <summary>do_tcp_setsockopt(): TCP_NODELAY, TCP_CORK, TCP_MAXSEG, TCP_QUICKACK, the Fast Open options, TCP_SYNCNT, TCP_USER_TIMEOUT, the keepalive timing, TCP_INQ, TCP_NOTSENT_LOWAT (which may make the socket writable at once).</summary>
    /// <remarks>Linux: net/ipv4/tcp.c do_tcp_setsockopt()</remarks>
    private protected override int SetProtocolOption(int level, int name, int value)
    {
        switch (level, name)
        {
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY):
                return _tcp.SetNoDelay(Sk, value != 0);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_CORK):
                return _tcp.SetCork(Sk, value != 0);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_MAXSEG):
                return _tcp.SetMaxSeg(Sk, value);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_QUICKACK):
                return _tcp.SetQuickAck(Sk, value != 0);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_FASTOPEN):
                return _tcp.SetFastOpen(Sk, value);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_FASTOPEN_NO_COOKIE):
                return _tcp.SetFastOpenNoCookie(Sk, value);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_FASTOPEN_CONNECT):
                return _tcp.SetFastOpenConnect(Sk, value);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_SYNCNT):
                return TcpProtocol.SetSynCount(Sk, value);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_USER_TIMEOUT):
                return TcpProtocol.SetUserTimeout(Sk, value);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_KEEPIDLE or SockOpt.TCP_KEEPINTVL or SockOpt.TCP_KEEPCNT):
                return TcpProtocol.SetKeepalive(Sk, name, value);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_INQ):
                return TcpProtocol.SetInq(Sk, value);
            case (SockOpt.IPPROTO_TCP, SockOpt.TCP_NOTSENT_LOWAT):
                Sk.NotsentLowat = (uint)value;
                if (Sk.StreamWriteable) Sk.RaiseWriteSpace(); // sk_stream_write_space
                return 0;
            default:
                return -(int)Errno.ENOPROTOOPT;
        }
    }

    /// <summary>
    /// tcp_recvmsg() with TCP_INQ on: the bytes read, and in <paramref name="inq"/> what tcp_inq_hint() says is
    /// left (the TCP_CM_INQ control message); -1 when the option is off (no control message).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_recvmsg(), tcp_inq_hint()</remarks>
    internal int RecvMsgInq(Span<byte> buffer, MsgFlags flags, out int inq)
    {
        int rc = RecvFrom(buffer, flags, out _);
        inq = rc >= 0 && Sk.RecvmsgInq ? TcpProtocol.InqHint(Sk) : -1;
        return rc;
    }

    /// <summary>do_tcp_setsockopt() TCP_FASTOPEN_KEY: 16 or 32 key bytes (EINVAL otherwise); other buffer options are unknown.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c do_tcp_setsockopt() TCP_FASTOPEN_KEY</remarks>
    internal override int SetSockOptBytes(int level, int name, ReadOnlySpan<byte> optval) => (level, name) switch
    {
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_FASTOPEN_KEY) => _tcp.SetFastOpenKey(Sk, optval),
        _ => -(int)Errno.ENOPROTOOPT,
    };

    /// <summary>do_tcp_getsockopt(): TCP_MAXSEG is the current MSS once connected, else user_mss or the default.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c do_tcp_getsockopt()</remarks>
    private protected override int? GetProtocolOption(int level, int name) => (level, name) switch
    {
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY) => Sk.NonAgle.HasFlag(NagleMode.Off) ? 1 : 0,
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_CORK) => Sk.NonAgle.HasFlag(NagleMode.Cork) ? 1 : 0,
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_NOTSENT_LOWAT) => (int)Sk.NotsentLowat,
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_SYNCNT) => Sk.SynRetries > 0 ? Sk.SynRetries : _tcp.Sysctls.TcpSynRetries,
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_USER_TIMEOUT) => Sk.UserTimeoutMs,
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_KEEPIDLE) => Sk.KeepIdle > 0 ? Sk.KeepIdle : TcpProtocol.KeepaliveTimeSec,
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_KEEPINTVL) => Sk.KeepIntvl > 0 ? Sk.KeepIntvl : TcpProtocol.KeepaliveIntvlSec,
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_KEEPCNT) => Sk.KeepCnt > 0 ? Sk.KeepCnt : TcpProtocol.KeepaliveProbes,
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_INQ) => Sk.RecvmsgInq ? 1 : 0,
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_FASTOPEN) => TcpProtocol.FastOpenQueueLength(Sk),
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_FASTOPEN_NO_COOKIE) => Sk.FastOpenNoCookie ? 1 : 0,
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_MAXSEG) =>
            Sk.State is TcpState.Close or TcpState.Listen ? (Sk.UserMss > 0 ? Sk.UserMss : TcpProtocol.MssDefault) : Sk.MssCache,
        _ => null,
    };

    /// <summary>do_tcp_getsockopt(TCP_INFO): struct tcp_info (tcp_get_info), truncated to the caller's length.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c do_tcp_getsockopt() TCP_INFO, tcp_get_info()</remarks>
    private protected override int GetProtocolOptionBytes(int level, int name, Span<byte> optval, out int optlen)
    {
        optlen = 0;
        if (level != SockOpt.IPPROTO_TCP || name != SockOpt.TCP_INFO) return -(int)Errno.ENOPROTOOPT;
        Span<byte> info = stackalloc byte[TcpProtocol.TcpInfoLength];
        _tcp.GetInfo(Sk, info);
        optlen = Math.Min(optval.Length, info.Length);
        info[..optlen].CopyTo(optval);
        return 0;
    }

    /// <summary>SIOCINQ: bytes readable (EINVAL on a listener); SIOCOUTQ: bytes not yet acknowledged; SIOCOUTQNSD: bytes not yet sent.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_ioctl()</remarks>
    internal override int Ioctl(uint request, out int value)
    {
        var sk = Sk;
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

    /// <summary>setsockopt(SO_LINGER) with a struct linger: how close() ends the connection.</summary>
    /// <remarks>Linux: net/core/sock.c sk_setsockopt() SO_LINGER</remarks>
    internal override int SetLinger(bool on, int seconds)
    {
        Sk.Linger = on;
        Sk.LingerTime = Duration.FromSeconds(Math.Max(seconds, 0));
        return 0;
    }

    /// <remarks>Linux: net/ipv4/tcp.c tcp_shutdown()</remarks>
    private protected override int ShutdownProtocol(int how)
    {
        int rc = _tcp.Shutdown(Sk, how);
        if (State == SocketState.Connecting && Sk.State == TcpState.Close) State = SocketState.Unconnected; // the connect was abandoned
        return rc;
    }

    /// <remarks>Linux: net/ipv4/tcp.c tcp_close()</remarks>
    internal override void Release() => _tcp.Close(Sk);
}
