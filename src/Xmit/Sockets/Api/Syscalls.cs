using System.Buffers;
using Xmit.Network.Ipv4;
using Xmit.Time;

namespace Xmit.Sockets.Api;

/// <summary>
/// The socket system calls of one process on a host, Linux style: file descriptors, and results that are
/// a count or a negative errno — never an exception for bad arguments. Blocking calls wait in the host's
/// time (virtual in a simulation), honouring SO_SNDTIMEO / SO_RCVTIMEO, and wake when Linux would.
/// </summary>
/// <remarks>Linux: net/socket.c (__sys_socket, __sys_bind, __sys_connect, __sys_sendto, __sys_recvfrom, …), fs/eventpoll.c, fs/select.c</remarks>
public sealed class Syscalls(INetworkStack host)
{
    private readonly Dictionary<int, SocketFile> _files = new();

    public INetworkStack Host { get; } = host;
    private IScheduler Clock => Host.Scheduler;

    /// <summary>The open file behind <paramref name="fd"/>, for tools that look inside (null if none).</summary>
    public SocketFile? File(int fd) => _files.GetValueOrDefault(fd);

    private int Install(SocketFile f)
    {
        int fd = 3; // 0-2 are stdio
        while (_files.ContainsKey(fd)) fd++;
        _files.Add(fd, f);
        return fd;
    }

    private int Lookup(int fd, out SocketFile file) => _files.TryGetValue(fd, out file!) ? 0 : -(int)Errno.EBADF;

    public int Socket(int domain, int type, int protocol)
    {
        if (domain != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
        int kind = type & ~(SockType.SOCK_NONBLOCK | SockType.SOCK_CLOEXEC);
        SocketFile file;
        if (kind == SockType.SOCK_STREAM)
        {
            if (protocol is not (0 or SockOpt.IPPROTO_TCP)) return -(int)Errno.EPROTONOSUPPORT;
            file = new TcpSocketFile(Host.Tcp, Clock, Host.Tcp.Create());
        }
        else if (kind == SockType.SOCK_DGRAM)
        {
            if (protocol is not (0 or SockOpt.IPPROTO_UDP)) return -(int)Errno.EPROTONOSUPPORT;
            file = new UdpSocketFile(Host.Udp, Clock, Host.Udp.Create());
        }
        else return -(int)(kind == SockType.SOCK_RAW ? Errno.EPROTONOSUPPORT : Errno.ESOCKTNOSUPPORT);
        if ((type & SockType.SOCK_NONBLOCK) != 0) file.StatusFlags |= Api.Fcntl.O_NONBLOCK;
        return Install(file);
    }

    public int Bind(int fd, SockAddrIn? addr) => Lookup(fd, out var file) is < 0 and var rc ? rc : file.Bind(addr);

    public int Connect(int fd, SockAddrIn? addr) => Lookup(fd, out var file) is < 0 and var rc ? rc : file.Connect(addr);

    public int Listen(int fd, int backlog) => Lookup(fd, out var file) is < 0 and var rc ? rc : file.Listen(backlog);

    /// <summary>accept(): the next established connection as a new descriptor; waits for one unless non-blocking.</summary>
    /// <remarks>Linux: net/socket.c __sys_accept4()</remarks>
    public int Accept(int fd, out SockAddrIn peer)
    {
        peer = default;
        int rc = Lookup(fd, out var file);
        if (rc < 0) return rc;
        rc = file.Accept(out var child, out peer);
        return rc < 0 ? rc : Install(child!);
    }

    public int Send(int fd, ReadOnlySpan<byte> buffer, MsgFlags flags = MsgFlags.None) => SendTo(fd, buffer, flags, null);

    public int Write(int fd, ReadOnlySpan<byte> buffer) => SendTo(fd, buffer, MsgFlags.None, null);

    /// <summary>sendto(): the file's O_NONBLOCK becomes MSG_DONTWAIT (sock_sendmsg).</summary>
    /// <remarks>Linux: net/socket.c __sys_sendto()</remarks>
    public int SendTo(int fd, ReadOnlySpan<byte> buffer, MsgFlags flags, SockAddrIn? to) =>
        Lookup(fd, out var file) is < 0 and var rc ? rc : file.SendTo(buffer, flags, to);

    /// <summary>
    /// send()/sendto()/write() whose buffer is not mapped — a NULL pointer with <paramref name="length"/> bytes —
    /// so the copy from user memory faults: EFAULT once the protocol gets that far (a zero length copies nothing).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sendmsg_locked() do_error; net/ipv4/ip_output.c ip_generic_getfrag()</remarks>
    public int SendToUnmapped(int fd, int length, MsgFlags flags) =>
        Lookup(fd, out var file) is < 0 and var rc ? rc : file.SendToUnmapped(length, flags);

    /// <summary>recv()/recvfrom()/read() into an unmapped buffer: EFAULT when there is something to copy, the data left queued.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_recvmsg_locked()</remarks>
    public int RecvFromUnmapped(int fd, int length, MsgFlags flags) =>
        Lookup(fd, out var file) is < 0 and var rc ? rc : file.RecvFromUnmapped(length, flags);

    /// <summary>sendmsg() with an iovec: the pieces form one datagram.</summary>
    public int SendMsg(int fd, IReadOnlyList<ReadOnlyMemory<byte>> iov, MsgFlags flags, SockAddrIn? to = null)
    {
        if (iov is null) return -(int)Errno.EFAULT;
        long total = 0;
        // Indexed loops: foreach over the interface would allocate an enumerator per call.
        for (int i = 0; i < iov.Count; i++) total += iov[i].Length;
        if (total > int.MaxValue) return -(int)Errno.EINVAL;
        var scratch = ArrayPool<byte>.Shared.Rent((int)Math.Max(total, 1));
        try
        {
            int at = 0;
            for (int i = 0; i < iov.Count; i++)
            {
                iov[i].Span.CopyTo(scratch.AsSpan(at));
                at += iov[i].Length;
            }
            return SendTo(fd, scratch.AsSpan(0, at), flags, to);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// recvmsg() on a stream socket with TCP_INQ: the bytes read, and the TCP_CM_INQ control message's value in
    /// <paramref name="inq"/> (-1: no control message — the option is off, or the socket is not TCP).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_recvmsg() TCP_CM_INQ</remarks>
    public int RecvMsg(int fd, Span<byte> buffer, MsgFlags flags, out int inq)
    {
        inq = -1;
        if (Lookup(fd, out var file) is < 0 and var rc) return rc;
        if ((flags & MsgFlags.ErrQueue) != 0) return RecvErrorQueue(fd, buffer, out _);
        return file is TcpSocketFile tcp ? tcp.RecvMsgInq(buffer, flags, out inq) : file.RecvFrom(buffer, flags, out _);
    }

    /// <summary>
    /// recvmsg(MSG_ERRQUEUE): the socket's oldest error-queue message, or EAGAIN; <paramref name="message"/> holds
    /// msg_flags and what the control messages carry (see <see cref="Sockets.ErrQueueMessage"/>).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_recvmsg() → inet_recv_error(); net/ipv4/udp.c udp_recvmsg() → ip_recv_error()</remarks>
    public int RecvErrorQueue(int fd, Span<byte> buffer, out Sockets.ErrQueueMessage message)
    {
        message = default;
        if (Lookup(fd, out var file) is < 0 and var rc) return rc;
        return file is InetSocketFile inet ? inet.RecvErrorQueue(buffer, out message) : -(int)Errno.ENOTSOCK;
    }

    public int Recv(int fd, Span<byte> buffer, MsgFlags flags = MsgFlags.None) => RecvFrom(fd, buffer, flags, out _);

    public int Read(int fd, Span<byte> buffer) => RecvFrom(fd, buffer, MsgFlags.None, out _);

    /// <summary>recvfrom(): see <see cref="UdpSocketFile"/> and <see cref="TcpSocketFile"/> for what each kind returns.</summary>
    /// <remarks>Linux: net/socket.c __sys_recvfrom()</remarks>
    public int RecvFrom(int fd, Span<byte> buffer, MsgFlags flags, out SockAddrIn from)
    {
        from = default;
        if ((flags & MsgFlags.ErrQueue) != 0) return RecvErrorQueue(fd, buffer, out _);
        return Lookup(fd, out var file) is < 0 and var rc ? rc : file.RecvFrom(buffer, flags, out from);
    }

    /// <summary>setsockopt() with an int value.</summary>
    /// <remarks>Linux: net/socket.c __sys_setsockopt()</remarks>
    public int SetSockOpt(int fd, int level, int name, int value) =>
        Lookup(fd, out var file) is < 0 and var rc ? rc : file.SetSockOpt(level, name, value);

    /// <summary>setsockopt() with a buffer (TCP_FASTOPEN_KEY's key bytes): its length is optlen.</summary>
    /// <remarks>Linux: net/socket.c __sys_setsockopt()</remarks>
    public int SetSockOpt(int fd, int level, int name, ReadOnlySpan<byte> optval) =>
        Lookup(fd, out var file) is < 0 and var rc ? rc : file.SetSockOptBytes(level, name, optval);

    /// <summary>setsockopt(SO_SNDTIMEO / SO_RCVTIMEO) with a struct timeval; zero means block forever.</summary>
    public int SetSockOptTimeout(int fd, int name, Duration timeout) =>
        Lookup(fd, out var file) is < 0 and var rc ? rc : file.SetSockOptTimeout(name, timeout);

    /// <summary>getsockopt(SO_SNDTIMEO / SO_RCVTIMEO): zero when blocking forever.</summary>
    public int GetSockOptTimeout(int fd, int name, out Duration timeout)
    {
        timeout = Duration.Zero;
        return Lookup(fd, out var file) is < 0 and var rc ? rc : file.GetSockOptTimeout(name, out timeout);
    }

    /// <summary>getsockopt() of an int value.</summary>
    /// <remarks>Linux: net/socket.c __sys_getsockopt()</remarks>
    public int GetSockOpt(int fd, int level, int name, out int value)
    {
        value = 0;
        return Lookup(fd, out var file) is < 0 and var rc ? rc : file.GetSockOpt(level, name, out value);
    }

    /// <summary>
    /// getsockopt() into a buffer of the caller's length (optval.Length): structures such as TCP_INFO's struct tcp_info
    /// truncated to it, int options as their first bytes; <paramref name="optlen"/> is the length written.
    /// </summary>
    /// <remarks>Linux: net/socket.c __sys_getsockopt(); net/ipv4/tcp.c do_tcp_getsockopt()</remarks>
    public int GetSockOpt(int fd, int level, int name, Span<byte> optval, out int optlen)
    {
        optlen = 0;
        return Lookup(fd, out var file) is < 0 and var rc ? rc : file.GetSockOpt(level, name, optval, out optlen);
    }

    /// <summary>setsockopt(SO_LINGER) with a struct linger.</summary>
    public int SetLinger(int fd, bool on, int seconds) => Lookup(fd, out var file) is < 0 and var rc ? rc : file.SetLinger(on, seconds);

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

    /// <summary>ioctl(SIOCINQ / SIOCOUTQ / SIOCOUTQNSD): see each kind of socket file.</summary>
    public int Ioctl(int fd, uint request, out int value)
    {
        value = 0;
        return Lookup(fd, out var file) is < 0 and var rc ? rc : file.Ioctl(request, out value);
    }

    /// <summary>shutdown(): see each kind of socket file.</summary>
    /// <remarks>Linux: net/socket.c __sys_shutdown()</remarks>
    public int Shutdown(int fd, int how) => Lookup(fd, out var file) is < 0 and var rc ? rc : file.Shutdown(how);

    public int Close(int fd)
    {
        if (!_files.Remove(fd, out var file)) return -(int)Errno.EBADF;
        foreach (var ep in file.Watchers.ToList()) ep.Forget(file);
        file.Release();
        return 0;
    }

    /// <summary>Closes every descriptor (process exit).</summary>
    public void CloseAll()
    {
        foreach (var fd in _files.Keys.ToList()) Close(fd);
    }

    /// <summary>poll(): each fd's ready events among those asked (plus ERR/HUP/NVAL); waits up to <paramref name="timeoutMs"/> (-1: forever).</summary>
    /// <remarks>Linux: fs/select.c do_sys_poll()</remarks>
    public int Poll(Span<PollFd> fds, int timeoutMs)
    {
        var deadline = Deadline(timeoutMs);
        while (true)
        {
            int ready = 0;
            for (int i = 0; i < fds.Length; i++)
            {
                uint rev = _files.TryGetValue(fds[i].Fd, out var f)
                    ? f.PollMask() & (fds[i].Events | Ev.EPOLLERR | Ev.EPOLLHUP)
                    : fds[i].Fd < 0 ? 0 : Ev.EPOLLNVAL;
                fds[i].REvents = rev;
                if (rev != 0) ready++;
            }
            if (ready > 0 || Clock.Now >= deadline) return ready;
            if (!WaitForPoll(fds, deadline) && deadline == Instant.Never) return 0;
        }
    }

    /// <summary>
    /// poll()'s sleep until one of the files is ready or the deadline: a method of its own so the closure is
    /// built only when a caller really waits, not on every poll.
    /// </summary>
    private bool WaitForPoll(ReadOnlySpan<PollFd> fds, Instant deadline)
    {
        var files = new (SocketFile? File, uint Events)[fds.Length];
        for (int i = 0; i < fds.Length; i++) files[i] = (_files.GetValueOrDefault(fds[i].Fd), fds[i].Events);
        return Clock.WaitUntil(() => files.Any(x => x.File is { } f && (f.PollMask() & (x.Events | Ev.EPOLLERR)) != 0), deadline);
    }

    public int EpollCreate(int flags = 0)
    {
        if (flags != 0 && flags != SockType.SOCK_CLOEXEC) return -(int)Errno.EINVAL;
        return Install(new EpollFile());
    }

    public int EpollCtl(int epfd, int op, int fd, EpollEvent ev)
    {
        int rc = Lookup(epfd, out var epFile);
        if (rc < 0) return rc;
        rc = Lookup(fd, out var file);
        if (rc < 0) return rc;
        if (epFile is not EpollFile { Epoll: var ep } || epfd == fd) return -(int)Errno.EINVAL;
        if (file is EpollFile) return -(int)Errno.EINVAL; // nesting epoll is not modelled
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
        if (file is not EpollFile { Epoll: var ep } || events.Length == 0) return -(int)Errno.EINVAL;
        while (true)
        {
            int n = ep.Collect(events);
            if (n > 0 || Clock.Now >= deadline) return n;
            if (!WaitForEvents(ep, deadline) && deadline == Instant.Never) return 0;
        }
    }

    /// <summary>epoll_wait()'s sleep; the closure is built only when the caller really waits.</summary>
    private bool WaitForEvents(Epoll ep, Instant deadline) => Clock.WaitUntil(() => ep.HasReady, deadline);

    private Instant Deadline(int timeoutMs) => timeoutMs < 0 ? Instant.Never : Clock.Now + Duration.FromMilliseconds(timeoutMs);
}
