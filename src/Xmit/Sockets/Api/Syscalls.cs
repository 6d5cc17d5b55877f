using System.Buffers;
using Xmit.Hosting;
using Xmit.Network.Ipv4;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Transport.Udp;
using Xmit.Wire;

namespace Xmit.Sockets.Api;

/// <summary>
/// The socket system calls of one process on a host, Linux style: file descriptors, and results that are
/// a count or a negative errno — never an exception for bad arguments. Blocking calls wait in the host's
/// time (virtual in a simulation), honouring SO_SNDTIMEO / SO_RCVTIMEO, and wake when Linux would.
/// </summary>
/// <remarks>Linux: net/socket.c (__sys_socket, __sys_bind, __sys_connect, __sys_sendto, __sys_recvfrom, …), fs/eventpoll.c, fs/select.c</remarks>
public sealed partial class Syscalls(Host host)
{
    private readonly Dictionary<int, SocketFile> _files = new();

    public Host Host { get; } = host;
    private IScheduler Clock => Host.Scheduler;
    private UdpProtocol Udp => Host.Udp;

    /// <summary>The open file behind <paramref name="fd"/>, for tools that look inside (null if none).</summary>
    public SocketFile? File(int fd) => _files.GetValueOrDefault(fd);

    private int Install(SocketFile f)
    {
        int fd = 3; // 0-2 are stdio
        while (_files.ContainsKey(fd)) fd++;
        _files.Add(fd, f);
        return fd;
    }

    private int Lookup(int fd, out SocketFile file)
    {
        if (!_files.TryGetValue(fd, out file!)) return -(int)Errno.EBADF;
        return 0;
    }

    private int LookupUdp(int fd, out SocketFile file, out UdpSock sk)
    {
        sk = null!;
        int rc = Lookup(fd, out file);
        if (rc < 0) return rc;
        if (file.Udp is null) return -(int)Errno.ENOTSOCK;
        sk = file.Udp;
        return 0;
    }

    private int LookupSock(int fd, out Sock sk)
    {
        sk = null!;
        int rc = Lookup(fd, out var file);
        if (rc < 0) return rc;
        sk = (Sock?)file.Udp ?? file.Tcp!;
        return sk is null ? -(int)Errno.ENOTSOCK : 0;
    }

    public int Socket(int domain, int type, int protocol)
    {
        if (domain != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
        int kind = type & ~(SockType.SOCK_NONBLOCK | SockType.SOCK_CLOEXEC);
        if (kind == SockType.SOCK_STREAM)
            return protocol is 0 or SockOpt.IPPROTO_TCP ? TcpSocket(type) : -(int)Errno.EPROTONOSUPPORT;
        if (kind != SockType.SOCK_DGRAM) return -(int)(kind is SockType.SOCK_STREAM or SockType.SOCK_RAW ? Errno.EPROTONOSUPPORT : Errno.ESOCKTNOSUPPORT);
        if (protocol != 0 && protocol != SockOpt.IPPROTO_UDP) return -(int)Errno.EPROTONOSUPPORT;
        var file = SocketFile.ForUdp(Udp.Create());
        if ((type & SockType.SOCK_NONBLOCK) != 0) file.StatusFlags |= Api.Fcntl.O_NONBLOCK;
        return Install(file);
    }

    public int Bind(int fd, SockAddrIn? addr)
    {
        if (IsTcp(fd, out _, out var tcp))
        {
            if (addr is not { } ta) return -(int)Errno.EFAULT;
            return ta.Family != Af.AF_INET ? -(int)Errno.EAFNOSUPPORT : Tcp.Bind(tcp, ta.Address, ta.Port);
        }
        int rc = LookupUdp(fd, out _, out var sk);
        if (rc < 0) return rc;
        if (addr is not { } a) return -(int)Errno.EFAULT;
        if (a.Family != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
        return Udp.Bind(sk, a.Address, a.Port);
    }

    public int Connect(int fd, SockAddrIn? addr)
    {
        if (IsTcp(fd, out var tf, out var tcp)) return addr is { } ta ? TcpConnect(tf, tcp, ta) : -(int)Errno.EFAULT;
        int rc = LookupUdp(fd, out _, out var sk);
        if (rc < 0) return rc;
        if (addr is not { } a) return -(int)Errno.EFAULT;
        if (a.Family == Af.AF_UNSPEC) return Udp.Disconnect(sk);
        if (a.Family != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
        return Udp.Connect(sk, a.Address, a.Port);
    }

    public int Send(int fd, ReadOnlySpan<byte> buffer, MsgFlags flags = MsgFlags.None) => SendTo(fd, buffer, flags, null);

    public int Write(int fd, ReadOnlySpan<byte> buffer) => SendTo(fd, buffer, MsgFlags.None, null);

    /// <summary>sendto(): the file's O_NONBLOCK becomes MSG_DONTWAIT (sock_sendmsg); MSG_CONFIRM is accepted and ignored.</summary>
    public int SendTo(int fd, ReadOnlySpan<byte> buffer, MsgFlags flags, SockAddrIn? to)
    {
        if (IsTcp(fd, out var tf, out var tcp))
        {
            if (tf.State != SocketState.Connected && tcp.State is TcpState.Close or TcpState.Listen) return -(int)Errno.EPIPE;
            return Tcp.SendMsg(tcp, buffer, flags, tf.NonBlocking || (flags & MsgFlags.DontWait) != 0);
        }
        int rc = LookupUdp(fd, out var file, out var sk);
        if (rc < 0) return rc;
        if (file.NonBlocking) flags |= MsgFlags.DontWait;
        (Ipv4Address, ushort)? dest = null;
        if (to is { } a)
        {
            if (a.Family == Af.AF_UNSPEC && sk.IsConnected) dest = null; // an AF_UNSPEC address means "the connected peer"
            else if (a.Family != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
            else dest = (a.Address, a.Port);
        }
        return Udp.SendMsg(sk, buffer, dest, flags & ~MsgFlags.Confirm);
    }

    /// <summary>sendmsg() with an iovec: the pieces form one datagram.</summary>
    public int SendMsg(int fd, IReadOnlyList<ReadOnlyMemory<byte>> iov, MsgFlags flags, SockAddrIn? to = null)
    {
        if (iov is null) return -(int)Errno.EFAULT;
        long total = 0;
        foreach (var v in iov) total += v.Length;
        if (total > int.MaxValue) return -(int)Errno.EINVAL;
        var scratch = ArrayPool<byte>.Shared.Rent((int)Math.Max(total, 1));
        try
        {
            int at = 0;
            foreach (var v in iov)
            {
                v.Span.CopyTo(scratch.AsSpan(at));
                at += v.Length;
            }
            return SendTo(fd, scratch.AsSpan(0, at), flags, to);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    public int Recv(int fd, Span<byte> buffer, MsgFlags flags = MsgFlags.None) => RecvFrom(fd, buffer, flags, out _);

    public int Read(int fd, Span<byte> buffer) => RecvFrom(fd, buffer, MsgFlags.None, out _);

    /// <summary>
    /// recvfrom(): a pending error first, then the next datagram (truncated to the buffer; MSG_TRUNC returns
    /// its real length, MSG_PEEK leaves it queued), or EAGAIN / a wait up to SO_RCVTIMEO.
    /// </summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_recvmsg(); net/core/datagram.c __skb_try_recv_datagram()</remarks>
    public int RecvFrom(int fd, Span<byte> buffer, MsgFlags flags, out SockAddrIn from)
    {
        from = default;
        if (IsTcp(fd, out var tf, out var tcp))
        {
            if (tcp.State is TcpState.Close && tf.State != SocketState.Connected) return -(int)Errno.ENOTCONN;
            return Tcp.RecvMsg(tcp, buffer, flags, tf.NonBlocking || (flags & MsgFlags.DontWait) != 0);
        }
        int rc = LookupUdp(fd, out var file, out var sk);
        if (rc < 0) return rc;
        bool noblock = file.NonBlocking || (flags & MsgFlags.DontWait) != 0;
        var deadline = noblock ? Clock.Now : sk.RcvTimeo.Nanoseconds == long.MaxValue ? Instant.Never : Clock.Now + sk.RcvTimeo;
        while (true)
        {
            var err = sk.TakeError();
            if (err != Errno.OK) return -(int)err;
            if (!sk.ReceiveQueue.IsEmpty) break;
            if ((sk.Shutdown & Sock.RcvShutdown) != 0) return 0; // shut down for reading: end of file
            if (Clock.Now >= deadline) return -(int)Errno.EAGAIN;
            if (!WaitForDatagram(sk, deadline) && deadline == Instant.Never) return -(int)Errno.EAGAIN;
        }
        var head = sk.ReceiveQueue.Peek()!;
        int length = head.Len - UdpDatagram.HeaderLength;
        if ((flags & MsgFlags.Peek) != 0)
        {
            head.CopyBits(UdpDatagram.HeaderLength, buffer[..Math.Min(length, buffer.Length)]);
            from = new SockAddrIn(new Ipv4Address((uint)head.Cb.Offset), (ushort)head.Cb.Flags);
            return (flags & MsgFlags.Trunc) != 0 ? length : Math.Min(length, buffer.Length);
        }
        var got = Udp.Receive(sk, buffer)!.Value;
        from = new SockAddrIn(got.Source, got.SourcePort);
        return (flags & MsgFlags.Trunc) != 0 ? got.Length : Math.Min(got.Length, buffer.Length);
    }

    // A method of its own: the closure is allocated only when a read really blocks, not on every recvfrom.
    private bool WaitForDatagram(UdpSock sk, Instant deadline) =>
        Clock.WaitUntil(() => !sk.ReceiveQueue.IsEmpty || sk.Error != Errno.OK || (sk.Shutdown & Sock.RcvShutdown) != 0, deadline);

    /// <summary>setsockopt() with an int value.</summary>
    /// <remarks>Linux: net/core/sock.c sk_setsockopt(); net/ipv4/ip_sockglue.c do_ip_setsockopt(); net/ipv4/udp.c udp_lib_setsockopt()</remarks>
    public int SetSockOpt(int fd, int level, int name, int value)
    {
        if (IsTcp(fd, out _, out var tcp)) return TcpSetSockOpt(tcp, level, name, value);
        int rc = LookupUdp(fd, out _, out var sk);
        if (rc < 0) return rc;
        switch (level, name)
        {
            case (SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF):
                sk.SetSndBufFromUser(value, Host.Sysctls.WmemMax);
                sk.NotifyWriteSpace(); // "wake up sending tasks if we upped the value"
                return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF):
                sk.SetRcvBufFromUser(value, Host.Sysctls.RmemMax);
                return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_PRIORITY):
                sk.Priority = (uint)value;
                return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_BROADCAST):
                sk.Broadcast = value != 0;
                return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_SNDTIMEO or SockOpt.SO_RCVTIMEO):
                return -(int)Errno.EINVAL; // a struct timeval: use SetSockOptTimeout
            case (SockOpt.SOL_SOCKET, SockOpt.SO_ERROR or SockOpt.SO_TYPE):
                return -(int)Errno.ENOPROTOOPT;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_TOS):
                sk.Tos = (byte)value;
                sk.Priority = InetSock.TosToPriority((byte)value);
                return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_TTL):
                if (value == -1) value = 0;
                else if (value is < 1 or > 255) return -(int)Errno.EINVAL;
                sk.Ttl = (byte)value;
                return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_MTU_DISCOVER):
                if (value is < 0 or > (int)PmtuDisc.Omit) return -(int)Errno.EINVAL;
                sk.PmtuDisc = (PmtuDisc)value;
                return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_RECVERR):
                sk.RecvErr = value != 0;
                return 0;
            case (SockOpt.IPPROTO_UDP, SockOpt.UDP_CORK):
                return Udp.SetCork(sk, value != 0);
            case (SockOpt.IPPROTO_UDP, SockOpt.UDP_SEGMENT):
                if (value is < 0 or > 0xFFFF) return -(int)Errno.EINVAL;
                sk.GsoSize = value;
                return 0;
            default:
                return -(int)Errno.ENOPROTOOPT;
        }
    }

    /// <summary>setsockopt(SO_SNDTIMEO / SO_RCVTIMEO) with a struct timeval; zero means block forever.</summary>
    public int SetSockOptTimeout(int fd, int name, Duration timeout)
    {
        int rc = LookupSock(fd, out var sk);
        if (rc < 0) return rc;
        if (timeout < Duration.Zero) return -(int)Errno.EDOM;
        var value = timeout == Duration.Zero ? Duration.FromNanoseconds(long.MaxValue) : timeout;
        if (name == SockOpt.SO_SNDTIMEO) sk.SndTimeo = value;
        else if (name == SockOpt.SO_RCVTIMEO) sk.RcvTimeo = value;
        else return -(int)Errno.ENOPROTOOPT;
        return 0;
    }

    /// <summary>getsockopt(SO_SNDTIMEO / SO_RCVTIMEO): zero when blocking forever.</summary>
    public int GetSockOptTimeout(int fd, int name, out Duration timeout)
    {
        timeout = Duration.Zero;
        int rc = LookupSock(fd, out var sk);
        if (rc < 0) return rc;
        var value = name == SockOpt.SO_SNDTIMEO ? sk.SndTimeo : name == SockOpt.SO_RCVTIMEO ? sk.RcvTimeo : Duration.FromNanoseconds(-1);
        if (value.Nanoseconds < 0) return -(int)Errno.ENOPROTOOPT;
        timeout = value.Nanoseconds == long.MaxValue ? Duration.Zero : value;
        return 0;
    }

    public int GetSockOpt(int fd, int level, int name, out int value)
    {
        value = 0;
        if (IsTcp(fd, out _, out var tcp)) return TcpGetSockOpt(tcp, level, name, out value);
        int rc = LookupUdp(fd, out _, out var sk);
        if (rc < 0) return rc;
        switch (level, name)
        {
            case (SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF): value = sk.SndBuf; return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF): value = sk.RcvBuf; return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_PRIORITY): value = (int)sk.Priority; return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_BROADCAST): value = sk.Broadcast ? 1 : 0; return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_TYPE): value = SockType.SOCK_DGRAM; return 0;
            case (SockOpt.SOL_SOCKET, SockOpt.SO_ERROR): value = (int)sk.TakeError(); return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_TOS): value = sk.Tos; return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_TTL): value = sk.EffectiveTtl; return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_MTU_DISCOVER): value = (int)sk.PmtuDisc; return 0;
            case (SockOpt.IPPROTO_IP, SockOpt.IP_RECVERR): value = sk.RecvErr ? 1 : 0; return 0;
            case (SockOpt.IPPROTO_UDP, SockOpt.UDP_CORK): value = sk.CorkFlag ? 1 : 0; return 0;
            case (SockOpt.IPPROTO_UDP, SockOpt.UDP_SEGMENT): value = sk.GsoSize; return 0;
            default: return -(int)Errno.ENOPROTOOPT;
        }
    }

    public int Fcntl(int fd, int cmd, int arg = 0)
    {
        int rc = Lookup(fd, out var file);
        if (rc < 0) return rc;
        switch (cmd)
        {
            case Api.Fcntl.F_GETFL: return file.StatusFlags;
            case Api.Fcntl.F_SETFL:
                file.StatusFlags = (file.StatusFlags & ~Api.Fcntl.O_NONBLOCK) | (arg & Api.Fcntl.O_NONBLOCK);
                return 0;
            default: return -(int)Errno.EINVAL;
        }
    }

    /// <summary>ioctl(SIOCOUTQ): bytes charged for sending; ioctl(SIOCINQ): the next datagram's payload size.</summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_ioctl()</remarks>
    public int Ioctl(int fd, uint request, out int value)
    {
        value = 0;
        if (IsTcp(fd, out _, out var tcp)) return TcpIoctl(tcp, request, out value);
        int rc = LookupUdp(fd, out _, out var sk);
        if (rc < 0) return rc;
        switch (request)
        {
            case Api.Ioctl.SIOCOUTQ: value = (int)sk.OutQueue; return 0;
            case Api.Ioctl.SIOCINQ: value = sk.NextDatagramLength; return 0;
            default: return -(int)Errno.ENOTTY;
        }
    }

    /// <summary>
    /// shutdown(): for UDP, an unconnected socket answers ENOTCONN but is shut down all the same (Linux does
    /// it so pollers see EPOLLHUP); sends then fail with EPIPE, reads return 0 once the queue is empty.
    /// </summary>
    /// <remarks>Linux: net/ipv4/af_inet.c inet_shutdown()</remarks>
    public int Shutdown(int fd, int how)
    {
        if (IsTcp(fd, out var tf, out var tcp)) return TcpShutdown(tf, tcp, how);
        int rc = LookupUdp(fd, out var file, out var sk);
        if (rc < 0) return rc;
        if (how is < 0 or > 2) return -(int)Errno.EINVAL;
        sk.Shutdown |= how + 1; // SHUT_RD 0 → RCV_SHUTDOWN 1, SHUT_WR 1 → SEND_SHUTDOWN 2, SHUT_RDWR 2 → both
        file.WakeAll();
        return sk.IsConnected ? 0 : -(int)Errno.ENOTCONN;
    }

    public int Close(int fd)
    {
        if (!_files.Remove(fd, out var file)) return -(int)Errno.EBADF;
        foreach (var ep in file.Watchers.ToList()) ep.Forget(file);
        if (file.Udp is { } sk) Udp.Close(sk);
        if (file.Tcp is { } tcp) Tcp.Close(tcp);
        return 0;
    }

    /// <summary>Closes every descriptor (process exit).</summary>
    public void CloseAll()
    {
        foreach (var fd in _files.Keys.ToList()) Close(fd);
    }

    /// <summary>poll(): each fd's ready events among those asked (plus ERR/HUP/NVAL); waits up to <paramref name="timeoutMs"/> (-1: forever).</summary>
    public int Poll(Span<PollFd> fds, int timeoutMs)
    {
        var deadline = Deadline(timeoutMs);
        var snapshot = fds.ToArray();
        while (true)
        {
            int ready = 0;
            for (int i = 0; i < snapshot.Length; i++)
            {
                uint rev = _files.TryGetValue(snapshot[i].Fd, out var f)
                    ? f.PollMask() & (snapshot[i].Events | Ev.EPOLLERR | Ev.EPOLLHUP)
                    : snapshot[i].Fd < 0 ? 0 : Ev.EPOLLNVAL;
                snapshot[i].REvents = rev;
                if (rev != 0) ready++;
            }
            if (ready > 0 || Clock.Now >= deadline)
            {
                snapshot.CopyTo(fds);
                return ready;
            }
            var files = snapshot.Select(p => (_files.GetValueOrDefault(p.Fd), p.Events)).ToArray();
            if (!Clock.WaitUntil(() => files.Any(x => x.Item1 is { } f && (f.PollMask() & (x.Events | Ev.EPOLLERR)) != 0), deadline) && deadline == Instant.Never) return 0;
        }
    }

    public int EpollCreate(int flags = 0)
    {
        if (flags != 0 && flags != SockType.SOCK_CLOEXEC) return -(int)Errno.EINVAL;
        return Install(SocketFile.ForEpoll());
    }

    public int EpollCtl(int epfd, int op, int fd, EpollEvent ev)
    {
        int rc = Lookup(epfd, out var epFile);
        if (rc < 0) return rc;
        rc = Lookup(fd, out var file);
        if (rc < 0) return rc;
        if (epFile.Epoll is not { } ep || epfd == fd) return -(int)Errno.EINVAL;
        if (file.Epoll is not null) return -(int)Errno.EINVAL; // nesting epoll is not modelled
        return op switch
        {
            Ev.EPOLL_CTL_ADD => ep.Add(fd, file, ev),
            Ev.EPOLL_CTL_MOD => ep.Modify(fd, ev),
            Ev.EPOLL_CTL_DEL => ep.Delete(fd),
            _ => -(int)Errno.EINVAL,
        };
    }

    /// <summary>epoll_wait(): ready events, waiting up to <paramref name="timeoutMs"/> milliseconds (-1: forever) for the first.</summary>
    public int EpollWait(int epfd, Span<EpollEvent> events, int timeoutMs) => EpollWait(epfd, events, Deadline(timeoutMs));

    /// <summary>epoll_wait() with a deadline in the host's time.</summary>
    public int EpollWait(int epfd, Span<EpollEvent> events, Instant deadline)
    {
        int rc = Lookup(epfd, out var file);
        if (rc < 0) return rc;
        if (file.Epoll is not { } ep || events.Length == 0) return -(int)Errno.EINVAL;
        while (true)
        {
            int n = ep.Collect(events);
            if (n > 0 || Clock.Now >= deadline) return n;
            if (!Clock.WaitUntil(() => ep.HasReady, deadline) && deadline == Instant.Never) return 0;
        }
    }

    private Instant Deadline(int timeoutMs) => timeoutMs < 0 ? Instant.Never : Clock.Now + Duration.FromMilliseconds(timeoutMs);
}
