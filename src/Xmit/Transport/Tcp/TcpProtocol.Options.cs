using Xmit.Time;

namespace Xmit.Transport.Tcp;

/// <summary>The per-socket limits of do_tcp_setsockopt(): SYN retries, the user timeout, keepalive timing, TCP_INQ.</summary>
public sealed partial class TcpProtocol
{
    /// <summary>MAX_TCP_SYNCNT, MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT.</summary>
    private const int MaxSynCnt = 127, MaxKeepIdle = 32767, MaxKeepIntvl = 32767, MaxKeepCnt = 127;

    /// <summary>tcp_keepalive_time, tcp_keepalive_intvl, tcp_keepalive_probes: Linux's defaults.</summary>
    internal const int KeepaliveTimeSec = 7200, KeepaliveIntvlSec = 75, KeepaliveProbes = 9;

    /// <summary>TCP_SYNCNT: 1…127 SYN retransmissions before connect() fails.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sock_set_syncnt()</remarks>
    public static int SetSynCount(TcpSock sk, int value)
    {
        if (value is < 1 or > MaxSynCnt) return -(int)Errno.EINVAL;
        sk.SynRetries = value;
        return 0;
    }

    /// <summary>TCP_USER_TIMEOUT: milliseconds (not negative); 0 restores the retry counts.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sock_set_user_timeout(), do_tcp_setsockopt()</remarks>
    public static int SetUserTimeout(TcpSock sk, int ms)
    {
        if (ms < 0) return -(int)Errno.EINVAL;
        sk.UserTimeoutMs = ms;
        return 0;
    }

    /// <summary>TCP_KEEPIDLE (1…32767 s), TCP_KEEPINTVL (1…32767 s), TCP_KEEPCNT (1…127). Only the values are kept: keepalive probes are not modelled.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sock_set_keepidle_locked(), tcp_sock_set_keepintvl(), tcp_sock_set_keepcnt()</remarks>
    public static int SetKeepalive(TcpSock sk, int name, int value)
    {
        switch (name)
        {
            case Xmit.Sockets.Api.SockOpt.TCP_KEEPIDLE when value is >= 1 and <= MaxKeepIdle: sk.KeepIdle = value; return 0;
            case Xmit.Sockets.Api.SockOpt.TCP_KEEPINTVL when value is >= 1 and <= MaxKeepIntvl: sk.KeepIntvl = value; return 0;
            case Xmit.Sockets.Api.SockOpt.TCP_KEEPCNT when value is >= 1 and <= MaxKeepCnt: sk.KeepCnt = value; return 0;
            default: return -(int)Errno.EINVAL;
        }
    }

    /// <summary>TCP_INQ: 0 or 1.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c do_tcp_setsockopt() TCP_INQ</remarks>
    public static int SetInq(TcpSock sk, int value)
    {
        if (value is < 0 or > 1) return -(int)Errno.EINVAL;
        sk.RecvmsgInq = value == 1;
        return 0;
    }

    /// <summary>
    /// tcp_inq_hint(): rcv_nxt − copied_seq — the readable bytes, and one for a received FIN (which rcv_nxt
    /// passed), so that a reader reads once more to see the end; at least one once the connection is done.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_inq_hint()</remarks>
    public static int InqHint(TcpSock sk)
    {
        int inq = sk.ReadableBytes + (sk.FinReceived ? 1 : 0);
        if (inq == 0 && sk.State == TcpState.Close) inq = 1; // SOCK_DONE
        return inq;
    }

    /// <summary>tcp_clamp_rto_to_user_timeout(): the next timeout is at most what is left of the user timeout (1 µs once it has passed).</summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_clamp_rto_to_user_timeout()</remarks>
    private Duration ClampRtoToUserTimeout(TcpSock sk, Duration rto)
    {
        if (sk.UserTimeoutMs <= 0 || sk.RetransStamp is not { } start) return rto;
        var remaining = start + Duration.FromMilliseconds(sk.UserTimeoutMs) - Now;
        return remaining <= Duration.Zero ? Duration.FromMicroseconds(1) : Duration.Min(rto, remaining);
    }
}
