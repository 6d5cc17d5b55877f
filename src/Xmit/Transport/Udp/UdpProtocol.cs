using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Network.Ipv4;
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
    private readonly List<UdpSock> _sockets = [];

    public UdpProtocol(SkBuffPool pool, SnmpMib mib, Ipv4Output output)
    {
        _pool = pool;
        _mib = mib;
        _output = output;
    }

    public byte Protocol => IpProtocol.Udp;
    public Icmp? Icmp { get; set; }
    public IReadOnlyList<UdpSock> Sockets => _sockets;

    /// <summary>Creates a socket bound to <paramref name="address"/>:<paramref name="port"/> (Any for all addresses).</summary>
    public UdpSock Bind(Ipv4Address address, ushort port, int rcvBuf = UdpSock.DefaultBuffer, int sndBuf = UdpSock.DefaultBuffer)
    {
        if (port == 0) ThrowHelper.OutOfRange(nameof(port));
        foreach (var s in _sockets)
            if (s.LocalPort == port && (s.LocalAddress.IsUnspecified || address.IsUnspecified || s.LocalAddress == address))
                ThrowHelper.Argument($"port {port} is in use", nameof(port));
        var sk = new UdpSock(sndBuf, rcvBuf) { LocalAddress = address, LocalPort = port };
        _sockets.Add(sk);
        return sk;
    }

    public void Connect(UdpSock sk, Ipv4Address address, ushort port)
    {
        sk.RemoteAddress = address;
        sk.RemotePort = port;
    }

    /// <summary>Closes the socket: its queued datagrams are freed (their memory returns).</summary>
    public void Close(UdpSock sk)
    {
        sk.ReceiveQueue.Purge(SkbDropReason.Consumed);
        _sockets.Remove(sk);
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
        var src = source.IsUnspecified && route is not null ? _output.Addresses.SelectSource(route.Device, destination) : source;
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
        if (!d.VerifyChecksum(source, destination))
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

    /// <summary>__udp4_lib_err(): an ICMP error about a datagram we sent.</summary>
    public void Error(ReadOnlySpan<byte> offending, byte icmpType, byte icmpCode, uint info)
    {
        var bytes = offending.ToArray();
        if (!Ipv4Packet.TryCreate(bytes, out var ip) || bytes.Length < ip.HeaderLength + 4) return;
        var udp = bytes.AsSpan(ip.HeaderLength);
        ushort sport = (ushort)(udp[0] << 8 | udp[1]);
        ushort dport = (ushort)(udp[2] << 8 | udp[3]);
        var sk = Lookup(ip.Source, sport, ip.Destination, dport);
        if (sk is null) return;
        Errno err = icmpType switch
        {
            IcmpType.DestinationUnreachable when icmpCode == IcmpCode.PortUnreachable => Errno.ECONNREFUSED,
            IcmpType.DestinationUnreachable when icmpCode == IcmpCode.FragmentationNeeded => Errno.EMSGSIZE,
            IcmpType.DestinationUnreachable when icmpCode == IcmpCode.NetUnreachable => Errno.ENETUNREACH,
            IcmpType.DestinationUnreachable => Errno.EHOSTUNREACH,
            _ => Errno.EHOSTUNREACH,
        };
        // Unconnected sockets hear about errors only with IP_RECVERR (ip_icmp_error).
        if (sk.IsConnected || sk.RecvErr) sk.PendingError = err;
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
