using Xmit.Network.Ipv4;
using Xmit.Time;
using Xmit.Transport.Udp;
using Xmit.Wire;

namespace Xmit.Sockets.Api;

/// <summary>A datagram socket's file: udp_prot's operations behind inet_dgram_ops.</summary>
/// <remarks>Linux: net/ipv4/af_inet.c inet_dgram_ops; net/ipv4/udp.c udp_prot</remarks>
public sealed class UdpSocketFile : InetSocketFile
{
    private readonly UdpProtocol _udp;

    internal UdpSocketFile(UdpProtocol udp, IScheduler clock, UdpSock sk) : base(clock, udp.Sysctls)
    {
        _udp = udp;
        Sk = sk;
        sk.DataReady += _ => WakeWatchers(Ev.EPOLLIN | Ev.EPOLLPRI | Ev.EPOLLRDNORM | Ev.EPOLLRDBAND);
        sk.WriteSpace += _ => WakeWatchers(Ev.EPOLLOUT | Ev.EPOLLWRNORM | Ev.EPOLLWRBAND);
        sk.ErrorReport += _ => WakeWatchers(Ev.EPOLLERR);
    }

    public override UdpSock Sk { get; }

    public override int Type => SockType.SOCK_DGRAM;

    private protected override bool Broadcast { get => Sk.Broadcast; set => Sk.Broadcast = value; }

    private protected override bool ReuseAddr { get => Sk.ReuseAddr; set => Sk.ReuseAddr = value; }

    /// <summary>sock_def_write_space(): wakes writers once the socket is writeable.</summary>
    private protected override void WriteSpace() => Sk.NotifyWriteSpace();

    /// <summary>
    /// udp_poll() / datagram_poll(): EPOLLERR for a pending error, EPOLLIN for a queued datagram, EPOLLOUT
    /// while sock_writeable() (wmem_alloc below half the send buffer, strictly).
    /// </summary>
    /// <remarks>Linux: net/core/datagram.c datagram_poll(); net/ipv4/udp.c udp_poll()</remarks>
    public override uint PollMask()
    {
        var sk = Sk;
        uint mask = 0;
        if (sk.Error != Errno.OK || !sk.ErrorQueue.IsEmpty) mask |= Ev.EPOLLERR;
        if ((sk.Shutdown & Sock.RcvShutdown) != 0) mask |= Ev.EPOLLRDHUP | Ev.EPOLLIN | Ev.EPOLLRDNORM;
        if (sk.Shutdown == (Sock.RcvShutdown | Sock.SendShutdown)) mask |= Ev.EPOLLHUP;
        if (!sk.ReceiveQueue.IsEmpty) mask |= Ev.EPOLLIN | Ev.EPOLLRDNORM;
        if (sk.IsWriteable) mask |= Ev.EPOLLOUT | Ev.EPOLLWRNORM | Ev.EPOLLWRBAND;
        return mask;
    }

    private protected override int Bind(Ipv4Address address, ushort port) => _udp.Bind(Sk, address, port);

    /// <summary>connect() on a datagram socket: sets the default peer; AF_UNSPEC dissolves the association.</summary>
    /// <remarks>Linux: net/ipv4/datagram.c ip4_datagram_connect(); net/ipv4/udp.c udp_disconnect()</remarks>
    private protected override int Connect(SockAddrIn a)
    {
        if (a.Family == Af.AF_UNSPEC) return _udp.Disconnect(Sk);
        if (a.Family != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
        return _udp.Connect(Sk, a.Address, a.Port);
    }

    /// <summary>sendto(): the file's O_NONBLOCK becomes MSG_DONTWAIT (sock_sendmsg); MSG_CONFIRM is accepted and ignored.</summary>
    /// <remarks>Linux: net/socket.c __sys_sendto(); net/ipv4/udp.c udp_sendmsg()</remarks>
    internal override int SendTo(ReadOnlySpan<byte> buffer, MsgFlags flags, SockAddrIn? to)
    {
        if (NonBlocking) flags |= MsgFlags.DontWait;
        (Ipv4Address, ushort)? dest = null;
        if (to is { } a)
        {
            if (a.Family == Af.AF_UNSPEC && Sk.IsConnected) dest = null; // an AF_UNSPEC address means "the connected peer"
            else if (a.Family != Af.AF_INET) return -(int)Errno.EAFNOSUPPORT;
            else dest = (a.Address, a.Port);
        }
        return _udp.SendMsg(Sk, buffer, dest, flags & ~MsgFlags.Confirm);
    }

    /// <summary>
    /// recvfrom(): a pending error first, then the next datagram (truncated to the buffer; MSG_TRUNC returns
    /// its real length, MSG_PEEK leaves it queued), or EAGAIN / a wait up to SO_RCVTIMEO.
    /// </summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_recvmsg(); net/core/datagram.c __skb_try_recv_datagram()</remarks>
    internal override int RecvFrom(Span<byte> buffer, MsgFlags flags, out SockAddrIn from)
    {
        from = default;
        var sk = Sk;
        var deadline = Deadline(NoBlock(flags), sk.RcvTimeo);
        while (true)
        {
            var err = sk.TakeError();
            if (err != Errno.OK) return -(int)err;
            if (!sk.ReceiveQueue.IsEmpty) break;
            if ((sk.Shutdown & Sock.RcvShutdown) != 0) return 0; // shut down for reading: end of file
            if (Clock.Now >= deadline) return -(int)Errno.EAGAIN;
            if (!WaitForDatagram(deadline) && deadline == Instant.Never) return -(int)Errno.EAGAIN;
        }
        var head = sk.ReceiveQueue.Peek()!;
        int length = head.Len - UdpDatagram.HeaderLength;
        if ((flags & MsgFlags.Peek) != 0)
        {
            head.CopyBits(UdpDatagram.HeaderLength, buffer[..Math.Min(length, buffer.Length)]);
            from = new SockAddrIn(new Ipv4Address((uint)head.Cb.Offset), (ushort)head.Cb.Flags);
            return (flags & MsgFlags.Trunc) != 0 ? length : Math.Min(length, buffer.Length);
        }
        var got = _udp.Receive(sk, buffer)!.Value;
        from = new SockAddrIn(got.Source, got.SourcePort);
        return (flags & MsgFlags.Trunc) != 0 ? got.Length : Math.Min(got.Length, buffer.Length);
    }

    // A method of its own: the closure is allocated only when a read really blocks, not on every recvfrom.
    private bool WaitForDatagram(Instant deadline)
    {
        var sk = Sk;
        return Clock.WaitUntil(() => !sk.ReceiveQueue.IsEmpty || sk.Error != Errno.OK || (sk.Shutdown & Sock.RcvShutdown) != 0, deadline);
    }

    /// <summary>udp_lib_setsockopt(): UDP_CORK (removing the cork sends the pending datagram) and UDP_SEGMENT.</summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_lib_setsockopt()</remarks>
    private protected override int SetProtocolOption(int level, int name, int value)
    {
        switch (level, name)
        {
            case (SockOpt.IPPROTO_UDP, SockOpt.UDP_CORK):
                return _udp.SetCork(Sk, value != 0);
            case (SockOpt.IPPROTO_UDP, SockOpt.UDP_SEGMENT):
                if (value is < 0 or > 0xFFFF) return -(int)Errno.EINVAL;
                Sk.GsoSize = value;
                return 0;
            default:
                return -(int)Errno.ENOPROTOOPT;
        }
    }

    /// <summary>udp_lib_getsockopt().</summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_lib_getsockopt()</remarks>
    private protected override int? GetProtocolOption(int level, int name) => (level, name) switch
    {
        (SockOpt.IPPROTO_UDP, SockOpt.UDP_CORK) => Sk.CorkFlag ? 1 : 0,
        (SockOpt.IPPROTO_UDP, SockOpt.UDP_SEGMENT) => Sk.GsoSize,
        _ => null,
    };

    /// <summary>ioctl(SIOCOUTQ): bytes charged for sending; ioctl(SIOCINQ): the next datagram's payload size.</summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_ioctl()</remarks>
    internal override int Ioctl(uint request, out int value)
    {
        value = 0;
        switch (request)
        {
            case Api.Ioctl.SIOCOUTQ: value = (int)Sk.OutQueue; return 0;
            case Api.Ioctl.SIOCINQ: value = Sk.NextDatagramLength; return 0;
            default: return -(int)Errno.ENOTTY;
        }
    }

    /// <summary>
    /// shutdown() of a datagram socket: an unconnected socket answers ENOTCONN but is shut down all the same
    /// (Linux does it so pollers see EPOLLHUP); sends then fail with EPIPE, reads return 0 once the queue is empty.
    /// </summary>
    /// <remarks>Linux: net/ipv4/af_inet.c inet_shutdown()</remarks>
    private protected override int ShutdownProtocol(int how)
    {
        Sk.Shutdown |= how + 1; // SHUT_RD 0 → RCV_SHUTDOWN 1, SHUT_WR 1 → SEND_SHUTDOWN 2, SHUT_RDWR 2 → both
        return Sk.IsConnected ? 0 : -(int)Errno.ENOTCONN;
    }

    /// <remarks>Linux: net/ipv4/udp.c udp_lib_close()</remarks>
    internal override void Release() => _udp.Close(Sk);
}
