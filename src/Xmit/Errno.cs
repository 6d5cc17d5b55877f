namespace Xmit;

/// <summary>Linux errno values, returned (negated in kernel-style int results) instead of thrown.</summary>
public enum Errno
{
    OK = 0,
    EPERM = 1,
    ENOENT = 2,
    EINTR = 4,
    EIO = 5,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    EINVAL = 22,
    EMFILE = 24,
    ENOTTY = 25,
    EPIPE = 32,
    EDOM = 33,
    /// <summary>No message of desired type: the ee_errno of a transmit timestamp.</summary>
    ENOMSG = 42,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    ESOCKTNOSUPPORT = 94,
    EOPNOTSUPP = 95,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTUNREACH = 113,
    EALREADY = 114,
    EINPROGRESS = 115,
    EMSGSIZE = 90,
    EDESTADDRREQ = 89,
    ENOTSOCK = 88,
}

/// <summary>
/// Return codes of the device transmit path, kernel style: 0 success, small positive NET_XMIT_*
/// codes from qdiscs, negative errno for local errors.
/// </summary>
/// <remarks>Linux: include/linux/netdevice.h NET_XMIT_SUCCESS / NET_XMIT_DROP / NET_XMIT_CN, net_xmit_errno()</remarks>
public static class NetXmit
{
    public const int Success = 0;
    /// <summary>The skb was dropped (e.g. qdisc full).</summary>
    public const int Drop = 1;
    /// <summary>Congestion notification: the skb may have been queued or another dropped.</summary>
    public const int Congestion = 2;

    public static int FromErrno(Errno e) => -(int)e;

    /// <summary>net_xmit_errno(): what a NET_XMIT_* code means to a socket (CN is not an error).</summary>
    public static int ToErrno(int code) => code == Congestion ? 0 : code > 0 ? -(int)Errno.ENOBUFS : code;

    public static string Describe(int code) => code switch
    {
        Success => "NET_XMIT_SUCCESS",
        Drop => "NET_XMIT_DROP",
        Congestion => "NET_XMIT_CN",
        < 0 => "-" + (Errno)(-code),
        _ => code.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
