using Xmit.Configuration;
using Xmit.Network.Ipv4;
using Xmit.Time;

namespace Xmit.Sockets.Api;

/// <summary>
/// The file of an AF_INET socket: what every kind shares. Addresses are checked the same way for all, and the
/// socket-level (SOL_SOCKET) and IP-level (IPPROTO_IP) options are handled here once, on the
/// <see cref="InetSock"/> every kind is built on, as sk_setsockopt() and do_ip_setsockopt() serve every
/// protocol in Linux. A kind adds its protocol's operations and options (UDP_*, TCP_*).
/// </summary>
/// <remarks>Linux: net/socket.c __sys_bind(), __sys_connect(), __sys_setsockopt(); net/ipv4/af_inet.c inet_bind(), inet_shutdown()</remarks>
public abstract class InetSocketFile : SocketFile
{
    /// <summary>INET_ECN_MASK: the two ECN bits of the TOS byte.</summary>
    private const int InetEcnMask = 3;

    private readonly Sysctls _sysctls;

    private protected InetSocketFile(IScheduler clock, Sysctls sysctls)
    {
        Clock = clock;
        _sysctls = sysctls;
    }

    /// <summary>The kernel-side socket (struct sock), for reading its state.</summary>
    public abstract InetSock Sk { get; }

    /// <summary>sk->sk_type: SOCK_DGRAM or SOCK_STREAM (SO_TYPE).</summary>
    public abstract int Type { get; }

    private protected IScheduler Clock { get; }

    /// <summary>Whether a call on this file may not wait: O_NONBLOCK or MSG_DONTWAIT (sock_sendmsg / sock_recvmsg).</summary>
    private protected bool NoBlock(MsgFlags flags) => NonBlocking || (flags & MsgFlags.DontWait) != 0;

    /// <summary>The deadline a blocking call waits to: now when it may not wait, else <paramref name="timeout"/> away (SO_SNDTIMEO / SO_RCVTIMEO; never when unset).</summary>
    /// <remarks>Linux: include/net/sock.h sock_sndtimeo(), sock_rcvtimeo()</remarks>
    private protected Instant Deadline(bool noblock, Duration timeout) =>
        noblock ? Clock.Now : timeout.Nanoseconds == long.MaxValue ? Instant.Never : Clock.Now + timeout;

    /// <summary>sk->sk_write_space(sk): wake writers (after SO_SNDBUF grew, say).</summary>
    private protected abstract void WriteSpace();

    /// <summary>
    /// SOCK_BROADCAST (SO_BROADCAST) and sk_reuse (SO_REUSEADDR) are flags of struct sock for every protocol.
    /// The UDP sock keeps the first and the TCP sock the second, where their protocols read them; a kind whose
    /// protocol never reads one keeps it here, so setsockopt and getsockopt answer as on Linux.
    /// </summary>
    private protected virtual bool Broadcast { get; set; }

    /// <inheritdoc cref="Broadcast"/>
    private protected virtual bool ReuseAddr { get; set; }

    internal sealed override int Bind(SockAddrIn? addr)
    {
        if (addr is not { } a) return -(int)Errno.EFAULT;
        if (a.Family != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
        return Bind(a.Address, a.Port);
    }

    /// <summary>The protocol's bind (udp_v4_get_port / inet_csk_get_port through inet_bind).</summary>
    private protected abstract int Bind(Wire.Ipv4Address address, ushort port);

    internal sealed override int Connect(SockAddrIn? addr) => addr is { } a ? Connect(a) : -(int)Errno.EFAULT;

    /// <summary>The protocol's connect (ip4_datagram_connect / __inet_stream_connect).</summary>
    private protected abstract int Connect(SockAddrIn addr);

    /// <summary>listen() and accept() on a socket whose protocol has no connections.</summary>
    internal override int Listen(int backlog) => -(int)Errno.EOPNOTSUPP;

    internal override int Accept(out SocketFile? child, out SockAddrIn peer)
    {
        child = null;
        peer = default;
        return -(int)Errno.EOPNOTSUPP;
    }

    /// <summary>shutdown(): SHUT_RD, SHUT_WR or SHUT_RDWR, then every waiter is woken.</summary>
    /// <remarks>Linux: net/ipv4/af_inet.c inet_shutdown()</remarks>
    internal sealed override int Shutdown(int how)
    {
        if (how is < 0 or > 2) return -(int)Errno.EINVAL;
        int rc = ShutdownProtocol(how);
        WakeAll();
        return rc;
    }

    /// <summary>What shutdown() does to the protocol's socket, <paramref name="how"/> being valid.</summary>
    private protected abstract int ShutdownProtocol(int how);

    /// <summary>setsockopt(SO_LINGER): only a stream socket's close waits for it.</summary>
    internal override int SetLinger(bool on, int seconds) => 0;

    /// <summary>setsockopt() with an int value: SOL_SOCKET and IPPROTO_IP here, every other level by the protocol.</summary>
    /// <remarks>Linux: net/socket.c do_sock_setsockopt()</remarks>
    internal sealed override int SetSockOpt(int level, int name, int value) => level switch
    {
        SockOpt.SOL_SOCKET => SetSocketOption(name, value),
        SockOpt.IPPROTO_IP => SetIpOption(name, value),
        _ => SetProtocolOption(level, name, value),
    };

    /// <summary>getsockopt() of an int value: SOL_SOCKET and IPPROTO_IP here, every other level by the protocol.</summary>
    /// <remarks>Linux: net/socket.c do_sock_getsockopt()</remarks>
    internal sealed override int GetSockOpt(int level, int name, out int value)
    {
        int? known = level switch
        {
            SockOpt.SOL_SOCKET => GetSocketOption(name),
            SockOpt.IPPROTO_IP => GetIpOption(name),
            _ => GetProtocolOption(level, name),
        };
        value = known ?? 0;
        return known.HasValue ? 0 : -(int)Errno.ENOPROTOOPT;
    }

    /// <summary>
    /// getsockopt() into a buffer: an option the protocol answers as a structure (TCP_INFO) is copied truncated to the
    /// buffer; every int option as its first min(len, 4) bytes, as sk_getsockopt() / do_tcp_getsockopt() copy them.
    /// </summary>
    /// <remarks>Linux: net/socket.c do_sock_getsockopt(); net/core/sock.c sk_getsockopt()</remarks>
    internal sealed override int GetSockOpt(int level, int name, Span<byte> optval, out int optlen)
    {
        int rc = GetProtocolOptionBytes(level, name, optval, out optlen);
        if (rc != -(int)Errno.ENOPROTOOPT) return rc;
        rc = GetSockOpt(level, name, out int value);
        if (rc < 0) return rc;
        Span<byte> v = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(v, value);
        optlen = Math.Min(optval.Length, 4);
        v[..optlen].CopyTo(optval);
        return 0;
    }

    /// <summary>A structure-valued option of the protocol (TCP_INFO); ENOPROTOOPT sends the caller to the int options.</summary>
    private protected virtual int GetProtocolOptionBytes(int level, int name, Span<byte> optval, out int optlen)
    {
        optlen = 0;
        return -(int)Errno.ENOPROTOOPT;
    }

    /// <summary>The protocol's own options (UDP_CORK, TCP_NODELAY, …): ENOPROTOOPT for any it does not know.</summary>
    private protected abstract int SetProtocolOption(int level, int name, int value);

    /// <summary>The value of one of the protocol's own options; null (ENOPROTOOPT) for any it does not know.</summary>
    private protected abstract int? GetProtocolOption(int level, int name);

    /// <summary>
    /// sk_setsockopt() for int values: SO_SNDBUF and SO_RCVBUF capped at wmem_max / rmem_max and doubled,
    /// SO_PRIORITY, SO_MAX_PACING_RATE (its 32-bit form), the SO_BROADCAST and SO_REUSEADDR flags; SO_KEEPALIVE and SO_REUSEPORT are accepted and
    /// change nothing modelled. SO_SNDTIMEO / SO_RCVTIMEO take a struct timeval (<see cref="SetSockOptTimeout"/>).
    /// </summary>
    /// <remarks>Linux: net/core/sock.c sk_setsockopt()</remarks>
    private int SetSocketOption(int name, int value)
    {
        var sk = Sk;
        switch (name)
        {
            case SockOpt.SO_SNDBUF:
                sk.SetSndBufFromUser(value, _sysctls.WmemMax);
                WriteSpace(); // "wake up sending tasks if we upped the value"
                return 0;
            case SockOpt.SO_RCVBUF:
                sk.SetRcvBufFromUser(value, _sysctls.RmemMax);
                return 0;
            case SockOpt.SO_PRIORITY:
                sk.Priority = (uint)value;
                return 0;
            case SockOpt.SO_BROADCAST:
                Broadcast = value != 0;
                return 0;
            case SockOpt.SO_REUSEADDR:
                ReuseAddr = value != 0;
                return 0;
            case SockOpt.SO_KEEPALIVE or SockOpt.SO_REUSEPORT:
                return 0; // keepalive probes and port sharing are not modelled; the flag alone changes nothing a script sees
            case SockOpt.SO_ZEROCOPY:
                // TCP and UDP sockets only (the only kinds here); a boolean strictly 0 or 1.
                if (value is < 0 or > 1) return -(int)Errno.EINVAL;
                sk.ZerocopyEnabled = value == 1;
                return 0;
            case SockOpt.SO_TIMESTAMPING:
                return SetTimestamping((TimestampingFlags)(uint)value);
            case SockOpt.SO_MAX_PACING_RATE:
                sk.SetMaxPacingRate((uint)value == uint.MaxValue ? ulong.MaxValue : (uint)value); // the 32-bit form: ~0U is unlimited
                return 0;
            case SockOpt.SO_SNDTIMEO or SockOpt.SO_RCVTIMEO:
                return -(int)Errno.EINVAL; // a struct timeval: use SetSockOptTimeout
            default:
                return -(int)Errno.ENOPROTOOPT; // SO_TYPE and SO_ERROR are read-only
        }
    }

    /// <summary>
    /// sock_set_timestamping(): unknown bits and OPT_ID_TCP without OPT_ID are EINVAL; turning OPT_ID on starts the keys
    /// (a TCP socket must be connected: they count from snd_una, or from write_seq with OPT_ID_TCP); OPT_STATS needs
    /// OPT_TSONLY; BIND_PHC needs a socket bound to a device with a PTP clock, which no socket here is (EOPNOTSUPP).
    /// </summary>
    /// <remarks>Linux: net/core/sock.c sock_set_timestamping()</remarks>
    private int SetTimestamping(TimestampingFlags val)
    {
        var sk = Sk;
        if ((val & ~TimestampingFlags.Mask) != 0) return -(int)Errno.EINVAL;
        if ((val & TimestampingFlags.OptIdTcp) != 0 && (val & TimestampingFlags.OptId) == 0) return -(int)Errno.EINVAL;
        if ((val & TimestampingFlags.OptId) != 0 && (sk.TsFlags & TimestampingFlags.OptId) == 0)
        {
            if (StreamKeyStart(val) is not { } start) return -(int)Errno.EINVAL;
            sk.TsKey = start;
        }
        if ((val & TimestampingFlags.OptStats) != 0 && (val & TimestampingFlags.OptTsonly) == 0) return -(int)Errno.EINVAL;
        if ((val & TimestampingFlags.BindPhc) != 0) return -(int)Errno.EOPNOTSUPP;
        sk.TsFlags = val;
        return 0;
    }

    /// <summary>Where OPT_ID's keys start for this kind: 0 for datagrams; a stream socket's sequence number, or null while it has none (EINVAL).</summary>
    private protected virtual uint? StreamKeyStart(TimestampingFlags val) => 0;

    /// <summary>
    /// recvmsg(MSG_ERRQUEUE): the oldest error-queue message (EAGAIN when none) — its data up to the buffer's length
    /// (MSG_TRUNC if longer; the data itself is not modelled and reads as zeros), the
    /// extended error and timestamp for the control messages in <paramref name="message"/>. Never waits.
    /// </summary>
    /// <remarks>Linux: net/ipv4/ip_sockglue.c ip_recv_error(); net/socket.c __sock_recv_timestamp()</remarks>
    internal int RecvErrorQueue(Span<byte> buffer, out ErrQueueMessage message)
    {
        message = default;
        var sk = Sk;
        var entry = sk.DequeueError();
        if (entry is null) return -(int)Errno.EAGAIN;
        var flags = MsgFlags.ErrQueue;
        int copied = entry.Length;
        if (copied > buffer.Length)
        {
            flags |= MsgFlags.Trunc;
            copied = buffer.Length;
        }
        buffer[..copied].Clear();
        var stamp = (sk.TsFlags & TimestampingFlags.Software) != 0 ? entry.Timestamp : null;
        message = new ErrQueueMessage(entry.Ee, stamp, flags, entry.Name, entry.Offender);
        return copied;
    }

    /// <summary>sk_getsockopt() for int values; null for an option it does not know.</summary>
    /// <remarks>Linux: net/core/sock.c sk_getsockopt()</remarks>
    private int? GetSocketOption(int name) => name switch
    {
        SockOpt.SO_SNDBUF => Sk.SndBuf,
        SockOpt.SO_RCVBUF => Sk.RcvBuf,
        SockOpt.SO_PRIORITY => (int)Sk.Priority,
        SockOpt.SO_BROADCAST => Broadcast ? 1 : 0,
        SockOpt.SO_REUSEADDR => ReuseAddr ? 1 : 0,
        SockOpt.SO_TYPE => Type,
        SockOpt.SO_ERROR => (int)Sk.TakeError(),
        SockOpt.SO_ZEROCOPY => Sk.ZerocopyEnabled ? 1 : 0,
        SockOpt.SO_TIMESTAMPING => (int)Sk.TsFlags,
        SockOpt.SO_MAX_PACING_RATE => (int)(uint)Math.Min(Sk.MaxPacingRate, uint.MaxValue), // the 32-bit form
        _ => null,
    };

    /// <summary>do_ip_setsockopt(): IP_TOS (and the priority it implies), IP_TTL (-1: the default), IP_MTU_DISCOVER, IP_RECVERR, IP_FREEBIND.</summary>
    /// <remarks>Linux: net/ipv4/ip_sockglue.c do_ip_setsockopt()</remarks>
    private int SetIpOption(int name, int value)
    {
        var sk = Sk;
        switch (name)
        {
            case SockOpt.IP_TOS:
                SetTos(value);
                return 0;
            case SockOpt.IP_TTL:
                if (value == -1) value = 0;
                else if (value is < 1 or > 255) return -(int)Errno.EINVAL;
                sk.Ttl = (byte)value;
                return 0;
            case SockOpt.IP_MTU_DISCOVER:
                if (value is < 0 or > (int)PmtuDisc.Omit) return -(int)Errno.EINVAL;
                sk.PmtuDisc = (PmtuDisc)value;
                return 0;
            case SockOpt.IP_RECVERR:
                sk.RecvErr = value != 0;
                return 0;
            case SockOpt.IP_FREEBIND:
                sk.FreeBind = value != 0;
                return 0;
            default:
                return -(int)Errno.ENOPROTOOPT;
        }
    }

    /// <summary>
    /// IP_TOS: on a stream socket the ECN bits stay TCP's; a TOS that changes also sets sk_priority to what the
    /// TOS implies (rt_tos2priority), which picks the pfifo_fast band of every packet sent after it.
    /// </summary>
    /// <remarks>Linux: net/ipv4/ip_sockglue.c __ip_sock_set_tos(); include/net/route.h rt_tos2priority()</remarks>
    private void SetTos(int value)
    {
        var sk = Sk;
        if (Type == SockType.SOCK_STREAM) value = (value & ~InetEcnMask) | (sk.Tos & InetEcnMask);
        if (sk.Tos == value) return;
        sk.Tos = (byte)value;
        sk.Priority = InetSock.TosToPriority((byte)value);
    }

    /// <summary>do_ip_getsockopt() for int values: IP_TTL reads the TTL in use (the default when unset); null for an option it does not know.</summary>
    /// <remarks>Linux: net/ipv4/ip_sockglue.c do_ip_getsockopt()</remarks>
    private int? GetIpOption(int name) => name switch
    {
        SockOpt.IP_TOS => Sk.Tos,
        SockOpt.IP_TTL => Sk.EffectiveTtl,
        SockOpt.IP_MTU_DISCOVER => (int)Sk.PmtuDisc,
        SockOpt.IP_RECVERR => Sk.RecvErr ? 1 : 0,
        SockOpt.IP_FREEBIND => Sk.FreeBind ? 1 : 0,
        _ => null,
    };

    /// <summary>setsockopt(SO_SNDTIMEO / SO_RCVTIMEO) with a struct timeval; zero means block forever.</summary>
    /// <remarks>Linux: net/core/sock.c sock_set_timeout()</remarks>
    internal sealed override int SetSockOptTimeout(int name, Duration timeout)
    {
        if (timeout < Duration.Zero) return -(int)Errno.EDOM;
        var value = timeout == Duration.Zero ? Duration.FromNanoseconds(long.MaxValue) : timeout;
        if (name == SockOpt.SO_SNDTIMEO) Sk.SndTimeo = value;
        else if (name == SockOpt.SO_RCVTIMEO) Sk.RcvTimeo = value;
        else return -(int)Errno.ENOPROTOOPT;
        return 0;
    }

    /// <summary>getsockopt(SO_SNDTIMEO / SO_RCVTIMEO): zero when blocking forever.</summary>
    internal sealed override int GetSockOptTimeout(int name, out Duration timeout)
    {
        timeout = Duration.Zero;
        var value = name == SockOpt.SO_SNDTIMEO ? Sk.SndTimeo : name == SockOpt.SO_RCVTIMEO ? Sk.RcvTimeo : Duration.FromNanoseconds(-1);
        if (value.Nanoseconds < 0) return -(int)Errno.ENOPROTOOPT;
        timeout = value.Nanoseconds == long.MaxValue ? Duration.Zero : value;
        return 0;
    }
}
