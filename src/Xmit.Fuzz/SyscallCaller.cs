using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Fuzz;

/// <summary>
/// Makes one random system call at a time on one of the processes, with arguments drawn from values that matter
/// (the hosts' addresses and ports in use, sizes around the limits, every option name) and values that do not
/// (negative lengths, unknown levels, descriptors never opened). A call that could block forever gets a finite
/// SO_RCVTIMEO/SO_SNDTIMEO first: blocking for ever is the program's choice, not a stack bug, and a run must end.
/// </summary>
public sealed class SyscallCaller(Simulation.Simulation sim, Syscalls[] processes, DeterministicRandom random)
{
    private static readonly Ipv4Address[] Addresses =
    [
        new(198, 18, 0, 1), new(198, 18, 0, 2), Ipv4Address.Any, new(198, 18, 0, 99), new(198, 18, 0, 255),
        Ipv4Address.Broadcast, new(127, 0, 0, 1), new(10, 1, 2, 3), new(224, 0, 0, 1),
    ];
    private static readonly ushort[] Ports = [0, 7, 9, 80, 5000, 5001, 5002, 32768, 60999, 65535];
    private static readonly int[] Ints = [0, 1, -1, 2, 3, 4, 7, 8, 16, 64, 100, 536, 1000, 1460, 2304, 4096, 4608, 65535, 65536, 212992, 1 << 30, int.MaxValue, int.MinValue];
    private static readonly int[] SendSizes = [0, 1, 10, 100, 536, 1000, 1472, 1473, 4000, 16384, 65507, 65508, 70000, 200000];
    private static readonly int[] RecvSizes = [0, 1, 10, 100, 1500, 4096, 65536, 200000];
    private static readonly (int Level, int Name)[] Options =
    [
        (SockOpt.SOL_SOCKET, SockOpt.SO_TYPE), (SockOpt.SOL_SOCKET, SockOpt.SO_ERROR), (SockOpt.SOL_SOCKET, SockOpt.SO_BROADCAST),
        (SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF), (SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF), (SockOpt.SOL_SOCKET, SockOpt.SO_PRIORITY),
        (SockOpt.SOL_SOCKET, SockOpt.SO_REUSEADDR), (SockOpt.SOL_SOCKET, SockOpt.SO_KEEPALIVE), (SockOpt.SOL_SOCKET, SockOpt.SO_LINGER),
        (SockOpt.SOL_SOCKET, SockOpt.SO_REUSEPORT), (SockOpt.SOL_SOCKET, SockOpt.SO_RCVTIMEO), (SockOpt.SOL_SOCKET, SockOpt.SO_SNDTIMEO),
        (SockOpt.IPPROTO_IP, SockOpt.IP_TOS), (SockOpt.IPPROTO_IP, SockOpt.IP_TTL), (SockOpt.IPPROTO_IP, SockOpt.IP_MTU_DISCOVER),
        (SockOpt.IPPROTO_IP, SockOpt.IP_RECVERR), (SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY), (SockOpt.IPPROTO_TCP, SockOpt.TCP_MAXSEG),
        (SockOpt.IPPROTO_TCP, SockOpt.TCP_CORK), (SockOpt.IPPROTO_TCP, SockOpt.TCP_QUICKACK), (SockOpt.IPPROTO_TCP, SockOpt.TCP_NOTSENT_LOWAT),
        (SockOpt.IPPROTO_UDP, SockOpt.UDP_CORK), (SockOpt.IPPROTO_UDP, SockOpt.UDP_SEGMENT),
    ];
    private static readonly MsgFlags[] FlagBits =
        [MsgFlags.More, MsgFlags.Eor, MsgFlags.Confirm, MsgFlags.DontRoute, MsgFlags.Oob, MsgFlags.Peek, MsgFlags.Trunc, MsgFlags.WaitAll, MsgFlags.DontWait];

    private readonly List<int>[] _fds = processes.Select(_ => new List<int>()).ToArray();
    // Descriptors that listen, and that were connected or accepted: calls that need one find one more often.
    private readonly List<int>[] _listening = processes.Select(_ => new List<int>()).ToArray();
    private readonly List<int>[] _connected = processes.Select(_ => new List<int>()).ToArray();
    private readonly byte[] _buffer = new byte[200_000];
    private readonly string[] _recent = new string[24];
    private long _calls;
    private int _process;

    /// <summary>Each call's name with the errno it returned (or "ok"), counted.</summary>
    public Dictionary<string, long> Results { get; } = new();

    /// <summary>The last calls made, oldest first: what a report needs to reproduce a finding.</summary>
    public string Recent => string.Join('\n', Enumerable.Range(0, _recent.Length)
        .Select(i => _recent[(int)((_calls + i) % _recent.Length)]).Where(s => s is not null));

    public void CloseAll()
    {
        foreach (var p in processes) p.CloseAll();
        foreach (var l in _fds.Concat(_listening).Concat(_connected)) l.Clear();
    }

    public void One()
    {
        int pi = _process = (int)random.NextUInt32((uint)processes.Length);
        var s = processes[pi];
        var fds = _fds[pi];
        string host = pi == 0 ? "A" : "B";
        uint op = random.NextUInt32(100);
        // A process with many descriptors closes more: with a dozen or so, calls keep meeting the same sockets.
        if (fds.Count > 12 && random.NextUInt32(4) == 0) op = 84;
        int fd = Fd(fds);
        int rc;
        string call;
        switch (op)
        {
            case < 8:
            {
                int domain = random.NextUInt32(10) == 0 ? Pick([Af.AF_UNSPEC, Af.AF_INET6, 1, -1]) : Af.AF_INET;
                int type = random.NextUInt32(10) == 0 ? Pick([0, SockType.SOCK_RAW, 5, -1]) : random.NextUInt32(2) == 0 ? SockType.SOCK_STREAM : SockType.SOCK_DGRAM;
                if (random.NextUInt32(2) == 0) type |= SockType.SOCK_NONBLOCK;
                if (random.NextUInt32(8) == 0) type |= SockType.SOCK_CLOEXEC;
                int protocol = random.NextUInt32(8) == 0 ? Pick([1, 6, 17, -1, 255]) : 0;
                call = $"socket({domain}, {type:x}, {protocol})";
                rc = s.Socket(domain, type, protocol);
                if (rc >= 0) fds.Add(rc);
                break;
            }
            case < 14: { var addr = random.NextUInt32(5) < 3 ? new SockAddrIn(random.NextUInt32(2) == 0 ? Ipv4Address.Any : Addresses[_process], Ports[1 + random.NextUInt32(4)]) : Address(); call = $"bind({fd}, {addr})"; rc = s.Bind(fd, addr); break; }
            case < 20: { Guard(s, fd, MsgFlags.None); var addr = Address(); call = $"connect({fd}, {addr})"; rc = s.Connect(fd, addr); if (rc is 0 or -(int)Errno.EINPROGRESS) _connected[pi].Add(fd); break; }
            case < 24: { int backlog = Int(); call = $"listen({fd}, {backlog})"; rc = s.Listen(fd, backlog); if (rc == 0) _listening[pi].Add(fd); break; }
            case < 29:
            {
                fd = Prefer(_listening[pi], fd);
                Guard(s, fd, MsgFlags.None);
                call = $"accept({fd})";
                rc = s.Accept(fd, out _);
                if (rc >= 0) { fds.Add(rc); _connected[pi].Add(rc); }
                break;
            }
            case < 41:
            {
                fd = Prefer(_connected[pi], fd);
                int len = SendSizes[random.NextUInt32((uint)SendSizes.Length)];
                var flags = Flags(send: true);
                Guard(s, fd, flags);
                var span = _buffer.AsSpan(0, len);
                switch (random.NextUInt32(4))
                {
                    case 0: call = $"send({fd}, {len}, {flags})"; rc = s.Send(fd, span, flags); break;
                    case 1: { var to = Address(); call = $"sendto({fd}, {len}, {flags}, {to})"; rc = s.SendTo(fd, span, flags, to); break; }
                    case 2: call = $"write({fd}, {len})"; Guard(s, fd, MsgFlags.None); rc = s.Write(fd, span); break;
                    default:
                    {
                        int half = len / 2;
                        call = $"sendmsg({fd}, [{half}, {len - half}], {flags})";
                        rc = s.SendMsg(fd, [_buffer.AsMemory(0, half), _buffer.AsMemory(half, len - half)], flags);
                        break;
                    }
                }
                break;
            }
            case < 42: { int len = Pick([0, 1, 100, 5000, -1]); var flags = Flags(send: true); Guard(s, fd, flags); call = $"send({fd}, NULL, {len}, {flags})"; rc = s.SendToUnmapped(fd, len, flags); break; }
            case < 43: { int len = Pick([0, 1, 100, 5000, -1]); var flags = Flags(send: false); Guard(s, fd, flags); call = $"recv({fd}, NULL, {len}, {flags})"; rc = s.RecvFromUnmapped(fd, len, flags); break; }
            case < 55:
            {
                fd = Prefer(_connected[pi], fd);
                int len = RecvSizes[random.NextUInt32((uint)RecvSizes.Length)];
                var flags = Flags(send: false);
                Guard(s, fd, flags);
                var span = _buffer.AsSpan(0, len);
                switch (random.NextUInt32(3))
                {
                    case 0: call = $"recv({fd}, {len}, {flags})"; rc = s.Recv(fd, span, flags); break;
                    case 1: call = $"recvfrom({fd}, {len}, {flags})"; rc = s.RecvFrom(fd, span, flags, out _); break;
                    default: call = $"read({fd}, {len})"; Guard(s, fd, MsgFlags.None); rc = s.Read(fd, span); break;
                }
                break;
            }
            case < 63:
            {
                var (level, name) = Option();
                int value = Int();
                call = $"setsockopt({fd}, {level}, {name}, {value})";
                rc = s.SetSockOpt(fd, level, name, value);
                break;
            }
            case < 68: { var (level, name) = Option(); call = $"getsockopt({fd}, {level}, {name})"; rc = s.GetSockOpt(fd, level, name, out _); break; }
            case < 70:
            {
                int name = random.NextUInt32(2) == 0 ? SockOpt.SO_RCVTIMEO : SockOpt.SO_SNDTIMEO;
                // Zero means for ever (the guard turns it finite again before a blocking call); at most a second otherwise.
                var t = Duration.FromMicroseconds(Pick([0, 1, 1000, 50_000, 1_000_000]));
                call = $"setsockopt({fd}, SOL_SOCKET, {name}, {t})";
                rc = s.SetSockOptTimeout(fd, name, t);
                break;
            }
            case < 72: { bool on = random.NextUInt32(2) == 0; int secs = Pick([0, 1, 5, -1]); call = $"setsockopt({fd}, SO_LINGER, {on}, {secs})"; rc = s.SetLinger(fd, on, secs); break; }
            case < 75: { int cmd = Pick([Fcntl.F_GETFL, Fcntl.F_SETFL, Fcntl.F_SETFL, 0, 99]); int arg = Pick([0, Fcntl.O_NONBLOCK, Fcntl.O_RDWR | Fcntl.O_NONBLOCK, -1]); call = $"fcntl({fd}, {cmd}, {arg:x})"; rc = s.Fcntl(fd, cmd, arg); break; }
            case < 78: { uint req = (uint)Pick([(int)Ioctl.SIOCINQ, (int)Ioctl.SIOCOUTQ, (int)Ioctl.SIOCOUTQNSD, 0, 0x8912]); call = $"ioctl({fd}, {req:x})"; rc = s.Ioctl(fd, req, out _); break; }
            case < 81: { int how = Pick([Shut.SHUT_RD, Shut.SHUT_WR, Shut.SHUT_RDWR, -1, 3]); call = $"shutdown({fd}, {how})"; rc = s.Shutdown(fd, how); break; }
            case < 85: { call = $"close({fd})"; rc = s.Close(fd); if (rc == 0) { fds.Remove(fd); _listening[pi].Remove(fd); _connected[pi].Remove(fd); } break; }
            case < 87:
            {
                var pfds = new PollFd[random.NextUInt32(5)];
                for (int i = 0; i < pfds.Length; i++) pfds[i] = new PollFd(Fd(fds), random.NextUInt32() & 0x203F);
                int timeout = Pick([0, 0, 1, 10]);
                call = $"poll({pfds.Length} fds, {timeout})";
                rc = s.Poll(pfds, timeout);
                break;
            }
            case < 88: { int flags = Pick([0, 0, SockType.SOCK_CLOEXEC, 1]); call = $"epoll_create1({flags})"; rc = s.EpollCreate(flags); if (rc >= 0) fds.Add(rc); break; }
            case < 92:
            {
                int epfd = Fd(fds);
                int ctl = Pick([Ev.EPOLL_CTL_ADD, Ev.EPOLL_CTL_ADD, Ev.EPOLL_CTL_MOD, Ev.EPOLL_CTL_DEL, 0, 4]);
                uint events = random.NextUInt32(2) == 0 ? Ev.EPOLLIN | Ev.EPOLLOUT : random.NextUInt32();
                call = $"epoll_ctl({epfd}, {ctl}, {fd}, {events:x})";
                rc = s.EpollCtl(epfd, ctl, fd, new EpollEvent(events, (ulong)fd));
                break;
            }
            case < 95:
            {
                var events = new EpollEvent[Pick([0, 1, 4, 16])];
                int timeout = Pick([0, 0, 1, 10]);
                call = $"epoll_wait({fd}, {events.Length}, {timeout})";
                rc = s.EpollWait(fd, events, timeout);
                break;
            }
            default:
            {
                var d = Duration.FromMicroseconds(Pick([100, 1000, 1000, 10_000, 100_000, 1_000_000, 5_000_000]));
                call = $"(time passes: {d})";
                sim.RunFor(d);
                rc = 0;
                break;
            }
        }
        _recent[_calls++ % _recent.Length] = $"{host} {call} = {Describe(rc)}";
        string key = $"call {call.Split('(')[0]} {(rc >= 0 ? "ok" : Describe(rc))}";
        Results[key] = Results.GetValueOrDefault(key) + 1;
    }

    private static string Describe(int rc) => rc >= 0 ? rc.ToString(System.Globalization.CultureInfo.InvariantCulture) : Enum.IsDefined((Errno)(-rc)) ? ((Errno)(-rc)).ToString() : $"errno {-rc}";

    /// <summary>Usually one of <paramref name="preferred"/> (still open), else <paramref name="fd"/>.</summary>
    private int Prefer(List<int> preferred, int fd)
    {
        preferred.RemoveAll(p => !_fds[_process].Contains(p));
        return preferred.Count > 0 && random.NextUInt32(3) != 0 ? preferred[(int)random.NextUInt32((uint)preferred.Count)] : fd;
    }

    /// <summary>An open descriptor most of the time; otherwise one that is not (or never was) open.</summary>
    private int Fd(List<int> fds) => fds.Count > 0 && random.NextUInt32(10) != 0 ? fds[(int)random.NextUInt32((uint)fds.Count)] : Pick([-1, 0, 1, 2, 3, 1000, int.MaxValue]);

    private SockAddrIn? Address()
    {
        if (random.NextUInt32(20) == 0) return null;
        // Often the other host, on a port something may listen on: that is where connections and datagrams happen.
        if (random.NextUInt32(5) < 2) return new SockAddrIn(Addresses[1 - _process], Ports[1 + random.NextUInt32(4)]);
        var addr = Addresses[random.NextUInt32((uint)Addresses.Length)];
        ushort port = random.NextUInt32(8) == 0 ? (ushort)random.NextUInt32(65536) : Ports[random.NextUInt32((uint)Ports.Length)];
        int family = random.NextUInt32(12) switch { 0 => Af.AF_UNSPEC, 1 => Af.AF_INET6, 2 => (int)random.NextUInt32(64), _ => Af.AF_INET };
        return new SockAddrIn(addr, port, family);
    }

    private (int Level, int Name) Option() => random.NextUInt32(10) == 0
        ? (Pick([SockOpt.SOL_SOCKET, SockOpt.IPPROTO_IP, SockOpt.IPPROTO_TCP, SockOpt.IPPROTO_UDP, -1, 255]), Pick([0, -1, 99, 1000]))
        : Options[random.NextUInt32((uint)Options.Length)];

    private MsgFlags Flags(bool send)
    {
        var f = MsgFlags.None;
        int n = (int)random.NextUInt32(3);
        for (int i = 0; i < n; i++) f |= FlagBits[random.NextUInt32((uint)FlagBits.Length)];
        if (random.NextUInt32(30) == 0) f |= (MsgFlags)(1 << (int)random.NextUInt32(31));
        _ = send;
        return f;
    }

    /// <summary>Before a call that may block: a socket that would wait for ever gets a finite timeout instead.</summary>
    private void Guard(Syscalls s, int fd, MsgFlags flags)
    {
        if ((flags & MsgFlags.DontWait) != 0 || s.File(fd) is null) return;
        int fl = s.Fcntl(fd, Fcntl.F_GETFL);
        if (fl < 0 || (fl & Fcntl.O_NONBLOCK) != 0) return;
        foreach (int name in (ReadOnlySpan<int>)[SockOpt.SO_RCVTIMEO, SockOpt.SO_SNDTIMEO])
            if (s.GetSockOptTimeout(fd, name, out var t) == 0 && t == Duration.Zero)
                s.SetSockOptTimeout(fd, name, Duration.FromMilliseconds(1 + random.NextUInt32(200)));
    }

    private int Int() => random.NextUInt32(6) == 0 ? (int)random.NextUInt32() : Ints[random.NextUInt32((uint)Ints.Length)];

    private int Pick(ReadOnlySpan<int> values) => values[(int)random.NextUInt32((uint)values.Length)];
}
