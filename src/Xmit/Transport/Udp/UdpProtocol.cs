using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Link;
using Xmit.Network.Ipv4;
using Xmit.Sockets;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Udp;

/// <summary>A datagram read from a socket.</summary>
public readonly record struct UdpReceived(int Length, Ipv4Address Source, ushort SourcePort);

/// <summary>
/// UDP: delivery to the socket bound to the destination (connected sockets first), receive-buffer
/// accounting with truesize (drops counted as RcvbufErrors), port unreachable for nobody listening, ICMP
/// errors to connected sockets as ECONNREFUSED and the like, and a plain datagram sender.
/// </summary>
/// <remarks>Linux: net/ipv4/udp.c __udp4_lib_rcv(), __udp_enqueue_schedule_skb(), __udp4_lib_err(), udp_recvmsg()</remarks>
public sealed class UdpProtocol : IIpProtocol
{
    private readonly SkBuffPool _pool;
    private readonly SnmpMib _mib;
    private readonly Ipv4Output _output;
    private readonly IScheduler _clock;
    private readonly DeterministicRandom _random;
    private readonly DeterministicRandom _txHashes;
    private readonly IpAppendData _append;
    private readonly List<UdpSock> _sockets = [];

    public UdpProtocol(SkBuffPool pool, SnmpMib mib, Ipv4Output output, IScheduler clock, DeterministicRandom random)
    {
        _pool = pool;
        _mib = mib;
        _output = output;
        _clock = clock;
        _random = random;
        _txHashes = random.Fork(0x7a); // sk_txhash values: a stream of their own, so the IP IDs drawn do not move
        _append = new IpAppendData(pool, clock, mib, output);
    }

    /// <summary>UDP_MAX_SEGMENTS: the most segments one UDP_SEGMENT send may make.</summary>
    public const int MaxSegments = 128;

    /// <summary>The host's tunables: default buffer sizes, port range, TTL.</summary>
    public Configuration.Sysctls Sysctls { get; init; } = new();

    public byte Protocol => IpProtocol.Udp;
    public Icmp? Icmp { get; set; }
    public IReadOnlyList<UdpSock> Sockets => _sockets;

    /// <summary>socket(AF_INET, SOCK_DGRAM, 0): an unbound socket with wmem_default / rmem_default buffers.</summary>
    public UdpSock Create(int? sndBuf = null, int? rcvBuf = null)
    {
        var sk = new UdpSock(sndBuf ?? Sysctls.WmemDefault, rcvBuf ?? Sysctls.RmemDefault) { DefaultTtl = (byte)Sysctls.IpDefaultTtl };
        _sockets.Add(sk);
        return sk;
    }

    /// <summary>Creates a socket bound to <paramref name="address"/>:<paramref name="port"/> (a test and tool convenience).</summary>
    public UdpSock Bind(Ipv4Address address, ushort port, int? rcvBuf = null, int? sndBuf = null)
    {
        var sk = Create(sndBuf, rcvBuf);
        int rc = Bind(sk, address, port);
        if (rc < 0)
        {
            _sockets.Remove(sk);
            ThrowHelper.Argument($"bind {address}:{port}: {(Errno)(-rc)}", nameof(port));
        }
        return sk;
    }

    /// <summary>
    /// inet_bind() + udp_v4_get_port(): the address must be ours (or any); port 0 picks a free ephemeral port
    /// from ip_local_port_range at a random start, like udp_lib_get_port().
    /// </summary>
    /// <remarks>Linux: net/ipv4/af_inet.c __inet_bind(); net/ipv4/udp.c udp_lib_get_port()</remarks>
    public int Bind(UdpSock sk, Ipv4Address address, ushort port)
    {
        if (sk.LocalPort != 0) return -(int)Errno.EINVAL;
        if (!address.IsUnspecified && !_output.Addresses.IsLocal(address) && !address.IsBroadcast && !address.IsMulticast
            && !sk.FreeBind && Sysctls.IpNonlocalBind == 0) // inet_addr_valid_or_nonlocal()
            return -(int)Errno.EADDRNOTAVAIL;
        if (port == 0)
        {
            port = PickEphemeral(address);
            if (port == 0) return -(int)Errno.EADDRINUSE;
        }
        else
        {
            if (InUse(address, port, sk)) return -(int)Errno.EADDRINUSE;
            sk.PortLocked = true;
        }
        sk.LocalAddress = address;
        sk.AddressLocked = !address.IsUnspecified;
        sk.LocalPort = port;
        return 0;
    }

    /// <summary>
    /// udp_lib_lport_inuse(): another socket on the port with an overlapping address conflicts, unless both set
    /// SO_REUSEADDR (then the lookup prefers the one that matches more of the datagram, a connected one first).
    /// The ephemeral search passes no socket and takes only a port nobody has.
    /// </summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_lib_lport_inuse()</remarks>
    private bool InUse(Ipv4Address address, ushort port, UdpSock? sk = null)
    {
        foreach (var s in _sockets)
            if (s != sk && s.LocalPort == port && (s.LocalAddress.IsUnspecified || address.IsUnspecified || s.LocalAddress == address)
                && !(sk is { ReuseAddr: true } && s.ReuseAddr))
                return true;
        return false;
    }

    private ushort PickEphemeral(Ipv4Address address) => EphemeralPort.Pick(_random, Sysctls.LocalPortRange, port => InUse(address, port));

    /// <summary>
    /// connect(): route to the peer, take a source address and a port if unbound, remember the peer, and
    /// start the socket's IP ID counter at a random value.
    /// </summary>
    /// <remarks>Linux: net/ipv4/datagram.c __ip4_datagram_connect()</remarks>
    public int Connect(UdpSock sk, Ipv4Address address, ushort port)
    {
        if (port == 0) return -(int)Errno.EINVAL;
        var route = _output.Routes.Lookup(address);
        if (route is null)
        {
            _mib.Ip.OutNoRoutes++;
            return -(int)Errno.ENETUNREACH;
        }
        if (address.IsBroadcast && !sk.Broadcast) return -(int)Errno.EACCES;
        if (sk.LocalPort == 0)
        {
            int rc = Bind(sk, Ipv4Address.Any, 0);
            if (rc < 0) return rc;
        }
        if (sk.LocalAddress.IsUnspecified) sk.LocalAddress = _output.SourceFor(route, address);
        sk.RemoteAddress = address;
        sk.RemotePort = port;
        sk.InetId = (ushort)_random.NextUInt32();
        sk.TxHash = Xmit.Sockets.Sock.NewTxHash(_txHashes); // sk_set_txhash()
        sk.TxQueueMapping = -1; // a new route: sk_dst_set() clears the cached queue
        return 0;
    }

    /// <summary>connect(AF_UNSPEC): forget the peer (and an address taken by connect).</summary>
    /// <remarks>Linux: net/ipv4/udp.c __udp_disconnect()</remarks>
    public int Disconnect(UdpSock sk)
    {
        sk.RemoteAddress = Ipv4Address.Any;
        sk.RemotePort = 0;
        sk.TxQueueMapping = -1; // sk_dst_reset() → sk_tx_queue_clear()
        if (!sk.AddressLocked) sk.LocalAddress = Ipv4Address.Any;
        return 0;
    }

    /// <summary>Closes the socket: a corked datagram is discarded, queued datagrams are freed, memory returns.</summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_destroy_sock() → udp_flush_pending_frames()</remarks>
    public void Close(UdpSock sk)
    {
        FlushPending(sk);
        sk.ReceiveQueue.Purge(SkbDropReason.Consumed);
        sk.Dead = true;
        sk.PurgeErrorQueue();
        sk.PageFrag.Release();
        _sockets.Remove(sk);
    }

    /// <summary>
    /// udp_sendmsg(): one datagram of <paramref name="data"/> to <paramref name="destination"/> (or the connected
    /// peer when null). Without UDP_CORK or MSG_MORE it is built privately and sent at once (the lockless
    /// path); otherwise it is appended to the pending datagram, which goes out on a send without MSG_MORE or
    /// when the cork is removed. Returns the byte count or a negative errno.
    /// </summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_sendmsg()</remarks>
    public int SendMsg(UdpSock sk, ReadOnlySpan<byte> data, (Ipv4Address Address, ushort Port)? destination, MsgFlags flags)
    {
        int err = SendMsgCore(sk, data, destination, flags);
        if (err == 0) return data.Length;
        if (err == -(int)Errno.ENOBUFS || sk.NoSpace) _mib.Udp.SndbufErrors++;
        return err;
    }

    private int SendMsgCore(UdpSock sk, ReadOnlySpan<byte> data, (Ipv4Address Address, ushort Port)? destination, MsgFlags flags)
    {
        if (data.Length > 0xFFFF) return -(int)Errno.EMSGSIZE;
        if ((flags & MsgFlags.Oob) != 0) return -(int)Errno.EOPNOTSUPP;
        if (sk.LocalPort == 0)
        {
            int rc = Bind(sk, Ipv4Address.Any, 0); // inet_autobind
            if (rc < 0) return -(int)Errno.EAGAIN;
        }
        bool corkreq = sk.CorkFlag || (flags & MsgFlags.More) != 0;
        int ulen = data.Length + UdpDatagram.HeaderLength;

        if (sk.Pending) return AppendPending(sk, data, ulen, flags, corkreq);

        Ipv4Address daddr;
        ushort dport;
        if (destination is { } d)
        {
            daddr = d.Address;
            dport = d.Port;
            if (dport == 0) return -(int)Errno.EINVAL;
        }
        else
        {
            if (!sk.IsConnected) return -(int)Errno.EDESTADDRREQ;
            daddr = sk.RemoteAddress;
            dport = sk.RemotePort;
        }
        var route = _output.Routes.Lookup(daddr);
        if (route is null)
        {
            _mib.Ip.OutNoRoutes++;
            return -(int)Errno.ENETUNREACH;
        }
        if (_output.Addresses.IsBroadcast(daddr) && !sk.Broadcast) return -(int)Errno.EACCES;
        var saddr = sk.LocalAddress.IsUnspecified ? _output.SourceFor(route, daddr) : sk.LocalAddress;

        if (!corkreq)
        {
            // The lockless path: build the whole datagram privately, then send it.
            var cork = sk.LocklessCork;
            var queue = sk.LocklessQueue;
            IpAppendData.SetupCork(sk, cork, route, saddr, daddr, dport, sk.GsoSize);
            int err = _append.Append(sk, cork, queue, data, UdpDatagram.HeaderLength, flags, Sysctls.OptmemMax);
            if (err != 0)
            {
                IpAppendData.Flush(cork, queue);
                return err;
            }
            var skb = _append.MakeSkb(sk, cork, queue, IpProtocol.Udp);
            int gso = cork.GsoSize, fragSize = cork.FragSize;
            cork.Release();
            return skb is null ? 0 : SendSkb(sk, skb, gso, fragSize, route, saddr, daddr, dport);
        }

        IpAppendData.SetupCork(sk, sk.Cork, route, saddr, daddr, dport, sk.GsoSize);
        sk.Pending = true;
        return AppendPending(sk, data, ulen, flags, corkreq);
    }

    private int AppendPending(UdpSock sk, ReadOnlySpan<byte> data, int ulen, MsgFlags flags, bool corkreq)
    {
        sk.PendingLength += ulen;
        int transhdrlen = sk.WriteQueue.IsEmpty ? UdpDatagram.HeaderLength : 0;
        int err = _append.Append(sk, sk.Cork, sk.WriteQueue, data, transhdrlen, corkreq ? flags | MsgFlags.More : flags, Sysctls.OptmemMax);
        if (err != 0) FlushPending(sk);
        else if (!corkreq) err = PushPending(sk);
        else if (sk.WriteQueue.IsEmpty) sk.Pending = false;
        return err;
    }

    /// <summary>setsockopt(UDP_CORK): removing the cork sends the pending datagram.</summary>
    public int SetCork(UdpSock sk, bool on)
    {
        if (on)
        {
            sk.CorkFlag = true;
            return 0;
        }
        sk.CorkFlag = false;
        int err = PushPending(sk);
        if (err == -(int)Errno.ENOBUFS || err < 0 && sk.NoSpace) _mib.Udp.SndbufErrors++;
        return err;
    }

    /// <summary>udp_push_pending_frames(): the corked datagram becomes one skb and is sent.</summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_push_pending_frames()</remarks>
    private int PushPending(UdpSock sk)
    {
        var cork = sk.Cork;
        int err = 0;
        var skb = _append.MakeSkb(sk, cork, sk.WriteQueue, IpProtocol.Udp);
        if (skb is not null) err = SendSkb(sk, skb, cork.GsoSize, cork.FragSize, cork.Route!, cork.Source, cork.Destination, cork.DestinationPort);
        cork.Release();
        sk.PendingLength = 0;
        sk.Pending = false;
        return err;
    }

    /// <summary>udp_flush_pending_frames().</summary>
    private static void FlushPending(UdpSock sk)
    {
        if (!sk.Pending) return;
        sk.PendingLength = 0;
        sk.Pending = false;
        IpAppendData.Flush(sk.Cork, sk.WriteQueue);
    }

    /// <summary>
    /// udp_send_skb(): fill the UDP header and checksum, send, and count: OutDatagrams on success; a device
    /// drop (ENOBUFS) without IP_RECVERR is reported as success but counted in SndbufErrors.
    /// </summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_send_skb()</remarks>
    private int SendSkb(UdpSock sk, SkBuff skb, int gsoSize, int fragSize, Route route, Ipv4Address saddr, Ipv4Address daddr, ushort dport)
    {
        int offset = skb.TransportHeader - skb.DataOffset;
        int len = skb.Len - offset;
        if (gsoSize > 0)
        {
            // UDP_SEGMENT: each segment must fit the path MTU, at most UDP_MAX_SEGMENTS of them, and the device
            // must finish checksums (a GSO skb is CHECKSUM_PARTIAL).
            int datalen = len - UdpDatagram.HeaderLength;
            int err0 = offset + UdpDatagram.HeaderLength + gsoSize > fragSize || datalen > gsoSize * MaxSegments ? -(int)Errno.EINVAL
                : skb.IpSummed != ChecksumState.Partial ? -(int)Errno.EIO : 0;
            if (err0 != 0)
            {
                skb.Free(SkbDropReason.NotSpecified);
                return err0;
            }
            if (datalen > gsoSize)
            {
                skb.GsoSize = gsoSize;
                skb.GsoType = GsoType.UdpL4;
            }
        }
        var udp = skb.Data.Slice(offset, UdpDatagram.HeaderLength);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(udp, sk.LocalPort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(udp[2..], dport);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)len);
        udp[6] = udp[7] = 0;
        ulong pseudo = Checksum.PseudoHeader(saddr, daddr, IpProtocol.Udp, len);
        if (skb.IpSummed == ChecksumState.Partial)
        {
            // udp4_hwcsum(): the pseudo-header sum goes in; the device finishes.
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(udp[6..], (ushort)~Checksum.Fold(pseudo));
            skb.CsumStart = skb.TransportHeader;
            skb.CsumOffset = 6;
        }
        else
        {
            ushort c = Checksum.Fold(SkbChecksum.Sum(skb, offset, len, pseudo));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(udp[6..], c == 0 ? (ushort)0xFFFF : c);
        }
        int err = _append.SendSkb(skb, route);
        if (err != 0)
        {
            if (err == -(int)Errno.ENOBUFS && !sk.RecvErr)
            {
                _mib.Udp.SndbufErrors++;
                err = 0;
            }
        }
        else _mib.Udp.OutDatagrams++;
        return err;
    }

    /// <summary>
    /// Sends one datagram as a single skb charged to <paramref name="sk"/> (if given), fragmented by IP if it
    /// exceeds the MTU. A foundation helper: it does not implement udp_sendmsg's memory checks.
    /// </summary>
    public int SendDatagram(UdpSock? sk, Ipv4Address source, ushort sourcePort, Ipv4Address destination, ushort destinationPort,
        ReadOnlySpan<byte> payload, PmtuDisc pmtu = PmtuDisc.Want, byte tos = 0)
    {
        if (payload.Length > 65507) return NetXmit.FromErrno(Errno.EMSGSIZE);
        int udpLen = UdpDatagram.HeaderLength + payload.Length;
        // Room for IP and link headers in front, like ip_append_data's alloc (hh_len + 15 + fragment).
        var skb = _pool.Alloc(16 + 15 + Ipv4Packet.MinHeaderLength + udpLen);
        skb.Reserve(16 + Ipv4Packet.MinHeaderLength);
        var body = skb.Put(udpLen);
        payload.CopyTo(body[UdpDatagram.HeaderLength..]);
        var route = _output.Routes.Lookup(destination);
        var src = source.IsUnspecified && route is not null ? _output.SourceFor(route, destination) : source;
        new UdpRepr(sourcePort, destinationPort, payload.Length).Emit(body, src, destination);
        skb.TransportHeader = skb.DataOffset;
        sk?.SetOwnerW(skb);
        int rc = _output.Send(skb, new IpSendParams(src, destination, IpProtocol.Udp, 64, tos, pmtu));
        if (rc == 0) _mib.Udp.OutDatagrams++;
        return rc;
    }

    /// <summary>__udp4_lib_rcv(): takes ownership; skb->data at the UDP header.</summary>
    public void Receive(SkBuff skb, Ipv4Address source, Ipv4Address destination)
    {
        if (!UdpDatagram.TryCreate(skb.Data, out var d) || d.Length != skb.Len)
        {
            _mib.Udp.InErrors++;
            skb.Free(SkbDropReason.PktTooSmall);
            return;
        }
        // udp4_csum_init(): a datagram that came through lo as CHECKSUM_PARTIAL counts as verified (skb_csum_unnecessary).
        if (skb.IpSummed != ChecksumState.Unnecessary && !d.VerifyChecksum(source, destination))
        {
            _mib.Udp.InCsumErrors++;
            _mib.Udp.InErrors++;
            skb.Free(SkbDropReason.UdpCsum);
            return;
        }
        var sk = Lookup(destination, d.DestinationPort, source, d.SourcePort);
        if (sk is null)
        {
            _mib.Udp.NoPorts++;
            Icmp?.SendError(skb, IcmpType.DestinationUnreachable, IcmpCode.PortUnreachable);
            skb.Free(SkbDropReason.NoSocket);
            return;
        }
        // __udp_enqueue_schedule_skb(): a datagram is refused only once rmem is already over rcvbuf, so one
        // datagram may always overshoot (and a tiny buffer still takes one packet).
        if (sk.RmemAlloc > sk.RcvBuf)
        {
            _mib.Udp.RcvbufErrors++;
            _mib.Udp.InErrors++;
            sk.Drops++;
            skb.Free(SkbDropReason.SocketRcvBuff);
            return;
        }
        skb.Cb.Offset = (int)source.Value;
        skb.Cb.Flags = d.SourcePort;
        sk.SetOwnerR(skb);
        sk.ReceiveQueue.Enqueue(skb);
        sk.RaiseDataReady();
    }

    /// <summary>udp_recvmsg(): copies the next datagram's payload; InDatagrams counts reads, as in Linux.</summary>
    public UdpReceived? Receive(UdpSock sk, Span<byte> buffer)
    {
        var skb = sk.ReceiveQueue.Dequeue();
        if (skb is null) return null;
        int len = skb.Len - UdpDatagram.HeaderLength;
        skb.CopyBits(UdpDatagram.HeaderLength, buffer[..Math.Min(len, buffer.Length)]);
        var result = new UdpReceived(len, new Ipv4Address((uint)skb.Cb.Offset), (ushort)skb.Cb.Flags);
        _mib.Udp.InDatagrams++;
        skb.Consume();
        return result;
    }

    /// <summary>
    /// __udp4_lib_err(): an ICMP error about a datagram we sent. A connected socket, or one with IP_RECVERR, takes it as
    /// sk_err; with IP_RECVERR it is also queued on the error queue with the datagram's payload (ip_icmp_error).
    /// </summary>
    /// <remarks>Linux: net/ipv4/udp.c __udp4_lib_err(); net/ipv4/ip_sockglue.c ip_icmp_error()</remarks>
    public void Error(ReadOnlySpan<byte> offending, byte icmpType, byte icmpCode, uint info, IcmpSource from)
    {
        var bytes = offending.ToArray();
        if (!Ipv4Packet.TryCreate(bytes, out var ip) || bytes.Length < ip.HeaderLength + 4) return;
        var udp = bytes.AsSpan(ip.HeaderLength);
        ushort sport = (ushort)(udp[0] << 8 | udp[1]);
        ushort dport = (ushort)(udp[2] << 8 | udp[3]);
        var sk = Lookup(ip.Source, sport, ip.Destination, dport);
        if (sk is null)
        {
            _mib.Icmp.InErrors++;
            return;
        }
        if (icmpType == IcmpType.DestinationUnreachable && icmpCode == IcmpCode.FragmentationNeeded)
        {
            // ipv4_sk_update_pmtu(): learn the path MTU; a socket that does no PMTU discovery hears nothing more.
            _output.Routes.UpdatePmtu(ip.Destination, (int)(info & 0xFFFF));
            if (sk.PmtuDisc == PmtuDisc.Dont) return;
        }
        Errno err = icmpType switch
        {
            IcmpType.DestinationUnreachable when icmpCode == IcmpCode.PortUnreachable => Errno.ECONNREFUSED,
            IcmpType.DestinationUnreachable when icmpCode == IcmpCode.FragmentationNeeded => Errno.EMSGSIZE,
            IcmpType.DestinationUnreachable when icmpCode == IcmpCode.NetUnreachable => Errno.ENETUNREACH,
            IcmpType.DestinationUnreachable => Errno.EHOSTUNREACH,
            _ => Errno.EHOSTUNREACH,
        };
        // Unconnected sockets hear about errors only with IP_RECVERR (ip_icmp_error).
        if (sk.RecvErr)
        {
            // The message carries what the ICMP error quoted of the datagram's payload, and names the datagram's
            // destination (msg_name) and the ICMP sender (the offender); ee_info is a frag-needed's MTU.
            int quoted = Math.Max(bytes.Length - ip.HeaderLength - UdpDatagram.HeaderLength, 0);
            var ee = new SockExtendedErr((int)err, ErrOrigin.Icmp, icmpType, icmpCode,
                icmpType == IcmpType.DestinationUnreachable && icmpCode == IcmpCode.FragmentationNeeded ? info & 0xFFFF : 0, 0);
            sk.QueueErrorCharged(new ErrorQueueEntry(ee, null, quoted, from.Truesize, chargedToRmem: true)
            {
                Name = (ip.Destination, dport), Offender = from.Sender,
            });
        }
        if (sk.IsConnected || sk.RecvErr)
        {
            sk.Error = err;
            sk.ReportError();
        }
    }

    private UdpSock? Lookup(Ipv4Address localAddr, ushort localPort, Ipv4Address remoteAddr, ushort remotePort)
    {
        UdpSock? best = null;
        int bestScore = -1;
        foreach (var s in _sockets)
        {
            if (s.LocalPort != localPort) continue;
            if (!s.LocalAddress.IsUnspecified && s.LocalAddress != localAddr) continue;
            if (s.IsConnected && (s.RemoteAddress != remoteAddr || s.RemotePort != remotePort)) continue;
            int score = (s.LocalAddress.IsUnspecified ? 0 : 2) + (s.IsConnected ? 4 : 0);
            if (score > bestScore) { best = s; bestScore = score; }
        }
        return best;
    }
}
