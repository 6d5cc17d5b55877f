using Xmit.Network.Ipv4;
using Xmit.Sockets;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Packetdrill;

public sealed partial class ScriptRunner
{
    /// <summary>The C constants scripts use, by name (x86_64 values).</summary>
    private static readonly Dictionary<string, long> Constants = new()
    {
        ["AF_INET"] = Af.AF_INET, ["AF_UNSPEC"] = Af.AF_UNSPEC, ["PF_INET"] = Af.AF_INET,
        ["SOCK_DGRAM"] = SockType.SOCK_DGRAM, ["SOCK_NONBLOCK"] = SockType.SOCK_NONBLOCK, ["SOCK_CLOEXEC"] = SockType.SOCK_CLOEXEC,
        ["IPPROTO_UDP"] = 17, ["IPPROTO_IP"] = 0, ["SOL_IP"] = 0, ["SOL_UDP"] = 17, ["SOL_SOCKET"] = SockOpt.SOL_SOCKET,
        ["SO_SNDBUF"] = SockOpt.SO_SNDBUF, ["SO_RCVBUF"] = SockOpt.SO_RCVBUF, ["SO_ERROR"] = SockOpt.SO_ERROR, ["SO_TYPE"] = SockOpt.SO_TYPE,
        ["SO_PRIORITY"] = SockOpt.SO_PRIORITY, ["SO_BROADCAST"] = SockOpt.SO_BROADCAST, ["SO_SNDTIMEO"] = SockOpt.SO_SNDTIMEO,
        ["SO_RCVTIMEO"] = SockOpt.SO_RCVTIMEO, ["IP_TOS"] = SockOpt.IP_TOS, ["IP_TTL"] = SockOpt.IP_TTL,
        ["IP_MTU_DISCOVER"] = SockOpt.IP_MTU_DISCOVER, ["IP_RECVERR"] = SockOpt.IP_RECVERR, ["IP_FREEBIND"] = SockOpt.IP_FREEBIND, ["UDP_CORK"] = SockOpt.UDP_CORK,
        ["UDP_SEGMENT"] = SockOpt.UDP_SEGMENT, ["IP_PMTUDISC_DONT"] = 0, ["IP_PMTUDISC_WANT"] = 1, ["IP_PMTUDISC_DO"] = 2, ["IP_PMTUDISC_PROBE"] = 3,
        ["F_GETFL"] = Fcntl.F_GETFL, ["F_SETFL"] = Fcntl.F_SETFL, ["O_RDWR"] = Fcntl.O_RDWR, ["O_NONBLOCK"] = Fcntl.O_NONBLOCK,
        ["SIOCOUTQ"] = Ioctl.SIOCOUTQ, ["TIOCOUTQ"] = Ioctl.SIOCOUTQ, ["SIOCINQ"] = Ioctl.SIOCINQ, ["FIONREAD"] = Ioctl.SIOCINQ,
        ["EPOLL_CTL_ADD"] = Ev.EPOLL_CTL_ADD, ["EPOLL_CTL_MOD"] = Ev.EPOLL_CTL_MOD, ["EPOLL_CTL_DEL"] = Ev.EPOLL_CTL_DEL,
        ["EPOLLIN"] = Ev.EPOLLIN, ["EPOLLPRI"] = Ev.EPOLLPRI, ["EPOLLOUT"] = Ev.EPOLLOUT, ["EPOLLERR"] = Ev.EPOLLERR, ["EPOLLHUP"] = Ev.EPOLLHUP,
        ["EPOLLRDNORM"] = Ev.EPOLLRDNORM, ["EPOLLRDBAND"] = Ev.EPOLLRDBAND, ["EPOLLWRNORM"] = Ev.EPOLLWRNORM, ["EPOLLWRBAND"] = Ev.EPOLLWRBAND,
        ["EPOLLRDHUP"] = Ev.EPOLLRDHUP, ["EPOLLET"] = Ev.EPOLLET, ["EPOLLONESHOT"] = Ev.EPOLLONESHOT,
        ["POLLIN"] = Ev.EPOLLIN, ["POLLPRI"] = Ev.EPOLLPRI, ["POLLOUT"] = Ev.EPOLLOUT, ["POLLERR"] = Ev.EPOLLERR, ["POLLHUP"] = Ev.EPOLLHUP,
        ["POLLNVAL"] = Ev.EPOLLNVAL, ["POLLRDHUP"] = Ev.EPOLLRDHUP, ["POLLRDNORM"] = Ev.EPOLLRDNORM, ["POLLWRNORM"] = Ev.EPOLLWRNORM,
        ["MSG_DONTWAIT"] = (long)MsgFlags.DontWait, ["MSG_MORE"] = (long)MsgFlags.More, ["MSG_CONFIRM"] = (long)MsgFlags.Confirm,
        ["SHUT_RD"] = Shut.SHUT_RD, ["SHUT_WR"] = Shut.SHUT_WR, ["SHUT_RDWR"] = Shut.SHUT_RDWR,
        ["SOCK_STREAM"] = SockType.SOCK_STREAM, ["IPPROTO_TCP"] = SockOpt.IPPROTO_TCP, ["SOL_TCP"] = SockOpt.IPPROTO_TCP,
        ["SO_REUSEADDR"] = SockOpt.SO_REUSEADDR, ["SO_REUSEPORT"] = SockOpt.SO_REUSEPORT, ["SO_KEEPALIVE"] = SockOpt.SO_KEEPALIVE,
        ["SO_LINGER"] = SockOpt.SO_LINGER, ["TCP_NODELAY"] = SockOpt.TCP_NODELAY, ["TCP_MAXSEG"] = SockOpt.TCP_MAXSEG,
        ["TCP_CORK"] = SockOpt.TCP_CORK, ["TCP_QUICKACK"] = SockOpt.TCP_QUICKACK, ["TCP_NOTSENT_LOWAT"] = SockOpt.TCP_NOTSENT_LOWAT, ["TCP_FASTOPEN"] = SockOpt.TCP_FASTOPEN, ["TCP_FASTOPEN_NO_COOKIE"] = SockOpt.TCP_FASTOPEN_NO_COOKIE, ["TCP_FASTOPEN_KEY"] = SockOpt.TCP_FASTOPEN_KEY, ["TCP_FASTOPEN_CONNECT"] = SockOpt.TCP_FASTOPEN_CONNECT, ["SIOCOUTQNSD"] = Ioctl.SIOCOUTQNSD,
        ["MSG_WAITALL"] = (long)MsgFlags.WaitAll, ["MSG_EOR"] = (long)MsgFlags.Eor, ["MSG_FASTOPEN"] = (long)MsgFlags.FastOpen,
        ["EINPROGRESS"] = (long)Errno.EINPROGRESS,
        ["MSG_NOSIGNAL"] = (long)MsgFlags.NoSignal, ["TCP_SYNCNT"] = SockOpt.TCP_SYNCNT, ["TCP_USER_TIMEOUT"] = SockOpt.TCP_USER_TIMEOUT,
        ["TCP_KEEPIDLE"] = SockOpt.TCP_KEEPIDLE, ["TCP_KEEPINTVL"] = SockOpt.TCP_KEEPINTVL, ["TCP_KEEPCNT"] = SockOpt.TCP_KEEPCNT,
        ["TCP_INQ"] = SockOpt.TCP_INQ, ["TCP_CM_INQ"] = SockOpt.TCP_CM_INQ,
        ["MSG_PEEK"] = (long)MsgFlags.Peek, ["MSG_TRUNC"] = (long)MsgFlags.Trunc, ["MSG_OOB"] = (long)MsgFlags.Oob,
        ["MSG_ERRQUEUE"] = (long)MsgFlags.ErrQueue, ["MSG_ZEROCOPY"] = (long)MsgFlags.Zerocopy,
        ["SO_ZEROCOPY"] = SockOpt.SO_ZEROCOPY, ["SO_MAX_PACING_RATE"] = SockOpt.SO_MAX_PACING_RATE, ["SO_TIMESTAMPING"] = SockOpt.SO_TIMESTAMPING, ["SCM_TIMESTAMPING"] = SockOpt.SCM_TIMESTAMPING,
        // packetdrill's own names for IPv4's IP_RECVERR control message (CMSG_LEVEL_IP / CMSG_TYPE_RECVERR).
        ["CMSG_LEVEL_IP"] = SockOpt.IPPROTO_IP, ["CMSG_TYPE_RECVERR"] = SockOpt.IP_RECVERR,
        ["SO_EE_ORIGIN_ZEROCOPY"] = (long)ErrOrigin.Zerocopy, ["SO_EE_ORIGIN_TIMESTAMPING"] = (long)ErrOrigin.Timestamping,
        ["SO_EE_ORIGIN_LOCAL"] = (long)ErrOrigin.Local, ["SO_EE_ORIGIN_ICMP"] = (long)ErrOrigin.Icmp,
        ["SO_EE_CODE_ZEROCOPY_COPIED"] = SockExtendedErr.CodeZerocopyCopied,
        ["SCM_TSTAMP_SND"] = (long)TstampType.Snd, ["SCM_TSTAMP_SCHED"] = (long)TstampType.Sched, ["SCM_TSTAMP_ACK"] = (long)TstampType.Ack,
        ["SOF_TIMESTAMPING_TX_HARDWARE"] = (long)TimestampingFlags.TxHardware, ["SOF_TIMESTAMPING_TX_SOFTWARE"] = (long)TimestampingFlags.TxSoftware,
        ["SOF_TIMESTAMPING_RX_HARDWARE"] = (long)TimestampingFlags.RxHardware, ["SOF_TIMESTAMPING_RX_SOFTWARE"] = (long)TimestampingFlags.RxSoftware,
        ["SOF_TIMESTAMPING_SOFTWARE"] = (long)TimestampingFlags.Software, ["SOF_TIMESTAMPING_SYS_HARDWARE"] = (long)TimestampingFlags.SysHardware,
        ["SOF_TIMESTAMPING_RAW_HARDWARE"] = (long)TimestampingFlags.RawHardware, ["SOF_TIMESTAMPING_OPT_ID"] = (long)TimestampingFlags.OptId,
        ["SOF_TIMESTAMPING_TX_SCHED"] = (long)TimestampingFlags.TxSched, ["SOF_TIMESTAMPING_TX_ACK"] = (long)TimestampingFlags.TxAck,
        ["SOF_TIMESTAMPING_OPT_CMSG"] = (long)TimestampingFlags.OptCmsg, ["SOF_TIMESTAMPING_OPT_TSONLY"] = (long)TimestampingFlags.OptTsonly,
        ["SOF_TIMESTAMPING_OPT_STATS"] = (long)TimestampingFlags.OptStats, ["SOF_TIMESTAMPING_OPT_ID_TCP"] = (long)TimestampingFlags.OptIdTcp,
        ["SOF_TIMESTAMPING_OPT_TX_SWHW"] = (long)TimestampingFlags.OptTxSwhw,
        ["ENOMSG"] = (long)Errno.ENOMSG, ["EAGAIN"] = (long)Errno.EAGAIN,
    };

    /// <summary>packetdrill knows every errno by name (symbols.c), as SO_ERROR's value for instance.</summary>
    private static readonly Dictionary<string, long> ErrnoNames =
        Enum.GetValues<Errno>().Where(e => e != Errno.OK).ToDictionary(e => e.ToString(), e => (long)e);

    private long Value(Expr e, int line) => e switch
    {
        IntExpr i => i.Value,
        WordExpr w when Constants.TryGetValue(w.Name, out var v) => v,
        WordExpr w when ErrnoNames.TryGetValue(w.Name, out var v) => v,
        WordExpr w => throw new UnsupportedException($"line {line}: constant {w.Name} is not known to the runner"),
        OrExpr o => o.Terms.Aggregate(0L, (acc, t) => acc | Value(t, line)),
        ArrayExpr { Items.Count: 1 } a => Value(a.Items[0], line),
        _ => throw new UnsupportedException($"line {line}: cannot use {e} as a number"),
    };

    /// <summary>The largest buffer a script's call may ask for: the runner allocates it, as packetdrill does.</summary>
    private const int MaxBufferLength = 1 << 26;

    /// <summary>
    /// A buffer length (write(3, ..., N), read(3, ..., N)): 0 to 64 MiB, or the script FAILs at this line. packetdrill
    /// would allocate the buffer too; a negative or huge count is a broken script, not a call to make.
    /// </summary>
    private int Length(Expr e, int line, string call)
    {
        long n = Value(e, line);
        if (n is < 0 or > MaxBufferLength) throw new ScriptValueException(line, $"{call}: length {n} is out of range (0 to {MaxBufferLength})");
        return (int)n;
    }

    private static Expr Field(StructExpr s, string name) =>
        s.Fields.OfType<AssignExpr>().FirstOrDefault(f => f.Target is WordExpr w && w.Name == name)?.Value ?? new EllipsisExpr();

    /// <summary>
    /// A sockaddr argument: "..." is packetdrill's default address (the remote for connect/sendto, the local for
    /// bind); a number (AF_UNSPEC) is an address of that family and nothing else, as packetdrill fills it.
    /// </summary>
    private SockAddrIn? Address(Expr e, Ipv4Address dflt, int line)
    {
        if (e is EllipsisExpr) return new SockAddrIn(dflt, DefaultPort);
        if (e is IntExpr or WordExpr) return new SockAddrIn(default, 0, (int)Value(e, line));
        if (e is StructExpr s)
        {
            var family = Field(s, "sa_family") is WordExpr { Name: "AF_UNSPEC" } ? Af.AF_UNSPEC : Af.AF_INET;
            var port = Field(s, "sin_port") is CallExpr { Name: "htons" } h ? (ushort)Value(h.Arguments[0], line) : DefaultPort;
            var addr = Field(s, "sin_addr") is CallExpr { Name: "inet_addr" } ia && ia.Arguments[0] is StringExpr str && Ipv4Address.TryParse(str.Value, out var a) ? a : dflt;
            return new SockAddrIn(addr, port, family);
        }
        throw new UnsupportedException($"line {line}: cannot read the address {e}");
    }

    /// <summary>Script descriptors → live ones (packetdrill lets a script pick its own numbers).</summary>
    private readonly Dictionary<long, int> _fdMap = [];

    private int LiveFd(long scriptFd) => _fdMap.TryGetValue(scriptFd, out var live) ? live : (int)scriptFd;

    private ushort? LocalPort(int fd) => (_sys.File(fd) as InetSocketFile)?.Sk.LocalPort;

    private ScriptResult? Call(SyscallAction c, Event e, Instant start)
    {
        var a = c.Arguments;
        int line = e.Line;
        int Fd(int i) => LiveFd(Value(a[i], line));
        long? outValue = null;   // a value the call returned through a pointer, to compare with the script
        Expr? outExpected = null;
        int rc;
        switch (c.Name)
        {
            case "socket":
                rc = _sys.Socket(a[0] is EllipsisExpr ? Af.AF_INET : (int)Value(a[0], line), (int)Value(a[1], line), (int)Value(a[2], line));
                if (rc >= 0) _newSocketUnderTest = true; // packetdrill: the new socket is the one under test
                break;
            case "bind":
                rc = _sys.Bind(Fd(0), Address(a[1], _local, line));
                if (rc == 0 && LocalPort(Fd(0)) is { } bound) _lastLocalPort = bound;
                break;
            case "connect":
                rc = _sys.Connect(Fd(0), Address(a[1], _remote, line));
                if (rc is 0 or -(int)Errno.EINPROGRESS && LocalPort(Fd(0)) is { } cport) _lastLocalPort = cport;
                break;
            case "listen":
                rc = _sys.Listen(Fd(0), (int)Value(a[1], line));
                if (rc == 0 && LocalPort(Fd(0)) is { } lport) _lastLocalPort = lport;
                break;
            case "accept" or "accept4":
                rc = _sys.Accept(Fd(0), out _);
                break;
            case "write" or "send" or "sendto" when a[1] is WordExpr { Name: "NULL" }:
                rc = _sys.SendToUnmapped(Fd(0), Length(a[2], line, c.Name), c.Name == "write" ? MsgFlags.None : (MsgFlags)Value(a[3], line));
                break;
            case "write":
                rc = _sys.Write(Fd(0), new byte[Length(a[2], line, c.Name)]);
                break;
            case "send":
                rc = _sys.Send(Fd(0), new byte[Length(a[2], line, c.Name)], (MsgFlags)Value(a[3], line));
                break;
            case "sendto":
                rc = _sys.SendTo(Fd(0), new byte[Length(a[2], line, c.Name)], (MsgFlags)Value(a[3], line), Address(a[4], _remote, line));
                break;
            case "sendmsg":
            {
                var msg = a[1] as StructExpr ?? throw new UnsupportedException($"line {line}: cannot read the msghdr");
                var iov = msg.Fields.OfType<AssignExpr>().FirstOrDefault(f => f.Target is CallExpr { Name: "msg_iov" })?.Value as ArrayExpr;
                var pieces = new List<ReadOnlyMemory<byte>>();
                foreach (var v in iov?.Items ?? []) pieces.Add(new byte[Length(((StructExpr)v).Fields[1], line, c.Name)]);
                // msg_name(...)=...: packetdrill passes the remote address.
                bool hasName = msg.Fields.OfType<AssignExpr>().Any(f => f.Target is CallExpr { Name: "msg_name" });
                rc = _sys.SendMsg(Fd(0), pieces, (MsgFlags)Value(a[2], line), hasName ? new SockAddrIn(_remote, DefaultPort) : null);
                break;
            }
            case "read" or "recv" or "recvfrom" when a[1] is WordExpr { Name: "NULL" }:
                rc = _sys.RecvFromUnmapped(Fd(0), Length(a[2], line, c.Name), c.Name == "read" ? MsgFlags.None : (MsgFlags)Value(a[3], line));
                break;
            case "read":
                rc = _sys.Read(Fd(0), new byte[Length(a[2], line, c.Name)]);
                break;
            case "recvmsg":
            {
                var msg = a[1] as StructExpr ?? throw new UnsupportedException($"line {line}: cannot read the msghdr");
                var iov = msg.Fields.OfType<AssignExpr>().FirstOrDefault(f => f.Target is CallExpr { Name: "msg_iov" })?.Value as ArrayExpr;
                long room = 0;
                foreach (var v in iov?.Items ?? []) room += Value(((StructExpr)v).Fields[1], line);
                var rflags = (MsgFlags)Value(a[2], line);
                if ((rflags & MsgFlags.ErrQueue) != 0)
                {
                    rc = _sys.RecvErrorQueue(Fd(0), new byte[room], out var message);
                    if (rc >= 0 && ErrorQueueMismatch(msg, message, line, start) is { } why) return Fail(e, "recvmsg(MSG_ERRQUEUE) returned another message", why.Expected, why.Actual, start);
                    break;
                }
                rc = _sys.RecvMsg(Fd(0), new byte[room], rflags, out int inq);
                if (rc >= 0 && ControlMessages(msg, line) is { } cmsgs)
                {
                    // The control messages the script lists: a TCP_CM_INQ one is compared with what the call returned.
                    foreach (var (level, type, data) in cmsgs)
                    {
                        if (level != SockOpt.IPPROTO_TCP || type != SockOpt.TCP_CM_INQ)
                            throw new UnsupportedException($"line {line}: control message {level}/{type} is not supported");
                        if (inq < 0) return Fail(e, "recvmsg returned no TCP_CM_INQ control message", $"cmsg_data={data}", "none", start);
                        if (data is { } want && want != inq) return Fail(e, "recvmsg returned another TCP_CM_INQ", $"cmsg_data={want}", $"cmsg_data={inq}", start);
                    }
                }
                break;
            }
            case "shutdown":
                rc = _sys.Shutdown(Fd(0), (int)Value(a[1], line));
                break;
            case "recv" or "recvfrom":
                rc = _sys.Recv(Fd(0), new byte[Length(a[2], line, c.Name)], (MsgFlags)Value(a[3], line));
                break;
            case "setsockopt" when a[3] is StructExpr lg && Value(a[2], line) == SockOpt.SO_LINGER:
                rc = _sys.SetLinger(Fd(0), Value(Field(lg, "l_onoff"), line) != 0, (int)Value(Field(lg, "l_linger"), line));
                break;
            case "setsockopt" when a[3] is StructExpr tv:
                rc = _sys.SetSockOptTimeout(Fd(0), (int)Value(a[2], line),
                    Duration.FromSeconds(Value(Field(tv, "tv_sec"), line)) + Duration.FromMicroseconds(Value(Field(tv, "tv_usec"), line)));
                break;
            case "setsockopt" when a[3] is StringExpr buf:
            {
                // A byte string (\xHH escapes) of optlen bytes: the lexer keeps each byte as the char of its value.
                int optlen = (int)Value(a[4], line);
                var bytes = new byte[optlen];
                for (int i = 0; i < optlen && i < buf.Value.Length; i++) bytes[i] = (byte)buf.Value[i];
                rc = _sys.SetSockOpt(Fd(0), (int)Value(a[1], line), (int)Value(a[2], line), bytes);
                break;
            }
            case "setsockopt":
                rc = _sys.SetSockOpt(Fd(0), (int)Value(a[1], line), (int)Value(a[2], line), (int)Value(a[3], line));
                break;
            case "getsockopt":
                rc = _sys.GetSockOpt(Fd(0), (int)Value(a[1], line), (int)Value(a[2], line), out int got);
                (outValue, outExpected) = (got, a[3]);
                break;
            case "fcntl":
                rc = _sys.Fcntl(Fd(0), (int)Value(a[1], line), a.Count > 2 ? (int)Value(a[2], line) : 0);
                break;
            case "ioctl":
                rc = _sys.Ioctl(Fd(0), (uint)Value(a[1], line), out int ioctlValue);
                (outValue, outExpected) = (ioctlValue, a[2]);
                break;
            case "close":
                rc = _sys.Close(Fd(0));
                break;
            case "epoll_create" or "epoll_create1":
                rc = _sys.EpollCreate();
                break;
            case "epoll_ctl":
            {
                var ev = a[3] as StructExpr;
                long data = 0;
                if (ev is not null)
                    foreach (var key in new[] { "fd", "u32", "u64" })
                    {
                        var d = Field(ev, key);
                        if (d is EllipsisExpr) continue;
                        data = Value(d, line);
                        break;
                    }
                rc = _sys.EpollCtl(Fd(0), (int)Value(a[1], line), Fd(2), new EpollEvent(ev is null ? 0 : (uint)Value(Field(ev, "events"), line), (ulong)data));
                break;
            }
            case "epoll_wait":
            {
                var events = new EpollEvent[Math.Max(1, Value(a[2], line))];
                rc = _sys.EpollWait(Fd(0), events, (int)Value(a[3], line));
                var want = a[1] is ArrayExpr arr ? arr.Items : [a[1]];
                for (int i = 0; i < Math.Min(rc, want.Count); i++)
                {
                    if (want[i] is not StructExpr w) continue;
                    uint wantEvents = (uint)Value(Field(w, "events"), line);
                    if (events[i].Events != wantEvents)
                        return Fail(e, "epoll_wait returned other events", Ev.Describe(wantEvents), Ev.Describe(events[i].Events), start);
                }
                break;
            }
            case "poll":
            {
                var want = (a[0] as ArrayExpr)?.Items ?? throw new UnsupportedException($"line {line}: cannot read the pollfd array");
                var fds = want.Select(x => (StructExpr)x).Select(s => new PollFd(LiveFd(Value(Field(s, "fd"), line)), (uint)Value(Field(s, "events"), line))).ToArray();
                rc = _sys.Poll(fds, (int)Value(a[2], line));
                for (int i = 0; i < fds.Length; i++)
                {
                    var rev = Field((StructExpr)want[i], "revents");
                    if (rev is EllipsisExpr) continue;
                    uint wantRev = (uint)Value(rev, line);
                    if (fds[i].REvents != wantRev)
                        return Fail(e, "poll returned other revents", Ev.Describe(wantRev), Ev.Describe(fds[i].REvents), start);
                }
                break;
            }
            default:
                throw new UnsupportedException($"line {line}: system call {c.Name} is not supported");
        }

        // A new descriptor is named by the script (socket() = 4): remember which live one it stands for.
        if (c.Name is "socket" or "accept" or "accept4" or "epoll_create" or "epoll_create1" && rc >= 0 && c.Result is IntExpr { Value: >= 0 } named)
        {
            _fdMap[named.Value] = rc;
            rc = (int)named.Value;
        }
        string expected = ExpectedText(c);
        string actual = rc < 0 ? $"-1 {(Errno)(-rc)}" : rc.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (c.Result is not EllipsisExpr)
        {
            long want = Value(c.Result, line);
            bool ok = want < 0
                ? rc < 0 && (c.Errno is null || Enum.TryParse<Errno>(c.Errno, out var en) && (int)en == -rc)
                : rc == want;
            if (!ok) return Fail(e, $"{c.Name} returned something else", expected, actual, start);
        }
        // The option is a 4-byte int: [0xffffffff] in a script is the -1 a C int holds.
        if (outValue is { } got2 && outExpected is not null and not EllipsisExpr && (uint)Value(outExpected, line) != (uint)got2)
            return Fail(e, $"{c.Name} gave another value", $"[{Value(outExpected, line)}]", $"[{got2}]", start);
        return null;
    }

    /// <summary>msg_control=[{cmsg_level=…, cmsg_type=…, cmsg_data=…}, …] of a msghdr (null without one); data null for "...".</summary>
    private List<(long Level, long Type, long? Data)>? ControlMessages(StructExpr msg, int line)
    {
        if (msg.Fields.OfType<AssignExpr>().FirstOrDefault(f => f.Target is WordExpr { Name: "msg_control" })?.Value is not ArrayExpr list) return null;
        var result = new List<(long, long, long?)>();
        foreach (var item in list.Items)
        {
            if (item is not StructExpr c) throw new UnsupportedException($"line {line}: cannot read the control message {item}");
            var data = Field(c, "cmsg_data");
            result.Add((Value(Field(c, "cmsg_level"), line), Value(Field(c, "cmsg_type"), line), data is EllipsisExpr ? null : Value(data, line)));
        }
        return result;
    }

    /// <summary>
    /// The error-queue message against the script's msghdr, as packetdrill's syscall_recvmsg() and cmsg_expect_eq()
    /// compare them: msg_flags exactly, then the control messages in order and in number — an SCM_TIMESTAMPING time
    /// within the tolerance of its script time (0 means "any"), and every field of an IP_RECVERR sock_extended_err.
    /// </summary>
    private (string Expected, string Actual)? ErrorQueueMismatch(StructExpr msg, ErrQueueMessage m, int line, Instant start)
    {
        long wantFlags = Field(msg, "msg_flags") is EllipsisExpr ? 0 : Value(Field(msg, "msg_flags"), line);
        if (wantFlags != (long)m.Flags) return ($"msg_flags=0x{wantFlags:X}", $"msg_flags=0x{(long)m.Flags:X}");
        var actual = new List<string>();
        if (m.Timestamp is { } ts) actual.Add($"SCM_TIMESTAMPING {(ts - start).Nanoseconds} ns");
        var ee = m.Ee;
        actual.Add($"IP_RECVERR ee_errno={ee.Errno} ee_origin={(int)ee.Origin} ee_type={ee.Type} ee_code={ee.Code} ee_info={ee.Info} ee_data={ee.Data}");
        var list = msg.Fields.OfType<AssignExpr>().FirstOrDefault(f => f.Target is WordExpr { Name: "msg_control" })?.Value as ArrayExpr;
        var want = list?.Items ?? [];
        string all = string.Join("; ", actual);
        if (want.Count != actual.Count) return ($"{want.Count} control messages", all);
        int i = 0;
        if (m.Timestamp is { } stamp)
        {
            var c = (StructExpr)want[i++];
            if (Value(Field(c, "cmsg_level"), line) != SockOpt.SOL_SOCKET || Value(Field(c, "cmsg_type"), line) != SockOpt.SCM_TIMESTAMPING)
                return ("an IP_RECVERR control message first", all);
            var data = (StructExpr)Field(c, "cmsg_data");
            long wantNs = Value(Field(data, "scm_sec"), line) * 1_000_000_000 + Value(Field(data, "scm_nsec"), line);
            if (wantNs != 0 && Math.Abs((stamp - start).Nanoseconds - wantNs) > _tolerance.Nanoseconds)
                return ($"SCM_TIMESTAMPING {wantNs} ns (±{_tolerance.Nanoseconds} ns)", all);
        }
        var r = (StructExpr)want[i];
        if (Value(Field(r, "cmsg_level"), line) != SockOpt.IPPROTO_IP || Value(Field(r, "cmsg_type"), line) != SockOpt.IP_RECVERR)
            return ("an SCM_TIMESTAMPING control message first", all);
        if (Field(r, "cmsg_data") is not StructExpr d) return null;
        long F(string name) => Value(Field(d, name), line);
        if (F("ee_errno") != ee.Errno || F("ee_origin") != (long)ee.Origin || F("ee_type") != ee.Type || F("ee_code") != ee.Code
            || (uint)F("ee_info") != ee.Info || (uint)F("ee_data") != ee.Data)
            return ($"IP_RECVERR ee_errno={F("ee_errno")} ee_origin={F("ee_origin")} ee_type={F("ee_type")} ee_code={F("ee_code")} ee_info={F("ee_info")} ee_data={F("ee_data")}", all);
        return null;
    }

    private static string ExpectedText(SyscallAction c) =>
        c.Result switch
        {
            IntExpr { Value: < 0 } i => $"{i.Value} {c.Errno}",
            IntExpr i => i.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => "…",
        };
}
