namespace Xmit.Sockets.Api;

/// <summary>The Linux constants of the socket API (x86_64 values), named as in C.</summary>
#pragma warning disable CA1707 // C names, so scripts and the kernel sources read the same
public static class Af
{
    public const int AF_UNSPEC = 0;
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
}

public static class SockType
{
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_RAW = 3;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
}

public static class SockOpt
{
    public const int SOL_SOCKET = 1;
    public const int SO_TYPE = 3;
    public const int SO_ERROR = 4;
    public const int SO_BROADCAST = 6;
    public const int SO_SNDBUF = 7;
    public const int SO_RCVBUF = 8;
    public const int SO_PRIORITY = 12;
    public const int SO_RCVTIMEO = 20;
    public const int SO_SNDTIMEO = 21;
    /// <summary>SO_TIMESTAMPING (SO_TIMESTAMPING_OLD on x86_64); also the cmsg type SCM_TIMESTAMPING.</summary>
    public const int SO_TIMESTAMPING = 37, SCM_TIMESTAMPING = SO_TIMESTAMPING;
    public const int SO_ZEROCOPY = 60;
    public const int SO_MAX_PACING_RATE = 47;

    public const int IPPROTO_IP = 0;
    public const int IP_TOS = 1;
    public const int IP_TTL = 2;
    public const int IP_MTU_DISCOVER = 10;
    public const int IP_RECVERR = 11;
    public const int IP_FREEBIND = 15;

    public const int IPPROTO_UDP = 17;
    public const int IPPROTO_TCP = 6;
    public const int SO_REUSEADDR = 2;
    public const int SO_KEEPALIVE = 9;
    public const int SO_LINGER = 13;
    public const int SO_REUSEPORT = 15;
    public const int TCP_NODELAY = 1;
    public const int TCP_MAXSEG = 2;
    /// <summary>struct tcp_info (<see cref="Syscalls.GetSockOpt(int, int, int, System.Span{byte}, out int)"/>).</summary>
    public const int TCP_INFO = 11;
    public const int TCP_CORK = 3;
    public const int TCP_QUICKACK = 12;
    public const int TCP_NOTSENT_LOWAT = 25;
    /// <summary>Keepalive timing (seconds, count), SYN retries, the user timeout (ms) and TCP_INQ (whose cmsg type is TCP_CM_INQ, the same number).</summary>
    public const int TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5, TCP_KEEPCNT = 6, TCP_SYNCNT = 7, TCP_USER_TIMEOUT = 18, TCP_INQ = 36, TCP_CM_INQ = TCP_INQ;
    /// <summary>Fast Open: a listener's TFO queue length; a client's connect() that defers the SYN to the first write; a socket's cookie key; no cookie needed.</summary>
    public const int TCP_FASTOPEN = 23, TCP_FASTOPEN_CONNECT = 30, TCP_FASTOPEN_KEY = 33, TCP_FASTOPEN_NO_COOKIE = 34;
    public const int UDP_CORK = 1;
    public const int UDP_SEGMENT = 103;
}

public static class Shut
{
    public const int SHUT_RD = 0;
    public const int SHUT_WR = 1;
    public const int SHUT_RDWR = 2;
}

public static class Fcntl
{
    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int O_RDWR = 2;
    public const int O_NONBLOCK = 0x800;
}

public static class Ioctl
{
    /// <summary>SIOCOUTQ (= TIOCOUTQ): bytes charged for sending.</summary>
    public const uint SIOCOUTQ = 0x5411;
    /// <summary>SIOCINQ (= FIONREAD): for UDP, the size of the next datagram's payload.</summary>
    public const uint SIOCINQ = 0x541B;
    /// <summary>SIOCOUTQNSD: for TCP, bytes written and not yet sent.</summary>
    public const uint SIOCOUTQNSD = 0x894B;
}

public static class Ev
{
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLPRI = 0x002;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLNVAL = 0x020;
    public const uint EPOLLRDNORM = 0x040;
    public const uint EPOLLRDBAND = 0x080;
    public const uint EPOLLWRNORM = 0x100;
    public const uint EPOLLWRBAND = 0x200;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLONESHOT = 1u << 30;
    public const uint EPOLLET = 1u << 31;

    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;

    /// <summary>Names of the bits set in <paramref name="mask"/>, e.g. "EPOLLOUT|EPOLLWRNORM".</summary>
    public static string Describe(uint mask)
    {
        var names = new List<string>();
        foreach (var (bit, name) in Names) if ((mask & bit) != 0) names.Add(name);
        return names.Count == 0 ? "0" : string.Join('|', names);
    }

    private static readonly (uint, string)[] Names =
    [
        (EPOLLIN, "EPOLLIN"), (EPOLLPRI, "EPOLLPRI"), (EPOLLOUT, "EPOLLOUT"), (EPOLLERR, "EPOLLERR"), (EPOLLHUP, "EPOLLHUP"),
        (EPOLLNVAL, "EPOLLNVAL"), (EPOLLRDNORM, "EPOLLRDNORM"), (EPOLLRDBAND, "EPOLLRDBAND"), (EPOLLWRNORM, "EPOLLWRNORM"),
        (EPOLLWRBAND, "EPOLLWRBAND"), (EPOLLRDHUP, "EPOLLRDHUP"), (EPOLLONESHOT, "EPOLLONESHOT"), (EPOLLET, "EPOLLET"),
    ];
}
#pragma warning restore CA1707

/// <summary>struct sockaddr_in.</summary>
public readonly record struct SockAddrIn(Wire.Ipv4Address Address, ushort Port, int Family = Af.AF_INET)
{
    public override string ToString() => $"{Address}:{Port}";
}

/// <summary>struct epoll_event.</summary>
public record struct EpollEvent(uint Events, ulong Data);

/// <summary>struct pollfd.</summary>
public record struct PollFd(int Fd, uint Events, uint REvents = 0);
