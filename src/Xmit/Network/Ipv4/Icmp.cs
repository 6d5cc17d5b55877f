using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>An echo reply that reached us (for ping).</summary>
public readonly record struct EchoReply(Ipv4Address From, ushort Identifier, ushort Sequence, int DataLength, byte Ttl, Instant Received, long SentTimestampNs);

/// <summary>
/// ICMP: answers echo requests, passes echo replies to listeners, hands destination-unreachable and
/// time-exceeded errors to the protocol that sent the offending packet, and sends errors (port and
/// protocol unreachable, reassembly time exceeded) with Linux's rules and rate limits.
/// </summary>
/// <remarks>Linux: net/ipv4/icmp.c icmp_rcv(), icmp_echo(), icmp_reply(), icmp_unreach(), __icmp_send()</remarks>
public sealed class Icmp : IIpProtocol
{
    private readonly SkBuffPool _pool;
    private readonly IScheduler _clock;
    private readonly SnmpMib _mib;
    private readonly Ipv4Output _output;
    private readonly Func<byte, IIpProtocol?> _protocols;

    public Icmp(SkBuffPool pool, IScheduler clock, SnmpMib mib, Ipv4Output output, Func<byte, IIpProtocol?> protocols)
    {
        _pool = pool;
        _clock = clock;
        _mib = mib;
        _output = output;
        _protocols = protocols;
        RateLimiter = new IcmpRateLimiter(clock);
    }

    public byte Protocol => IpProtocol.Icmp;
    public IcmpRateLimiter RateLimiter { get; }

    /// <summary>Echo replies received (ping sockets listen here).</summary>
    public event Action<EchoReply>? EchoReplyReceived;

    /// <summary>Sends an echo request whose data starts with the send time (like ping's timestamp) followed by a byte pattern.</summary>
    public int SendEchoRequest(Ipv4Address destination, ushort id, ushort sequence, int dataLength, byte ttl = 64, PmtuDisc pmtu = PmtuDisc.Want)
    {
        if (dataLength < 0 || dataLength > 65507 - IcmpPacket.HeaderLength) return NetXmit.FromErrno(Errno.EMSGSIZE);
        int len = IcmpPacket.HeaderLength + dataLength;
        var skb = _pool.Alloc(len + Ipv4Packet.MinHeaderLength + 16 + 15);
        skb.Reserve(Ipv4Packet.MinHeaderLength + 16);
        var body = skb.Put(len);
        var data = body[IcmpPacket.HeaderLength..];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)i;
        if (data.Length >= 8) System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(data, _clock.Now.Nanoseconds);
        IcmpRepr.Echo(request: true, id, sequence, dataLength).Emit(body);
        skb.TransportHeader = skb.DataOffset;
        _mib.Icmp.OutMsgs++;
        _mib.Icmp.OutEchos++;
        return _output.Send(skb, new IpSendParams(Ipv4Address.Any, destination, IpProtocol.Icmp, ttl, 0, pmtu));
    }

    /// <summary>icmp_rcv(): takes ownership.</summary>
    public void Receive(SkBuff skb, Ipv4Address source, Ipv4Address destination)
    {
        _mib.Icmp.InMsgs++;
        if (!IcmpPacket.TryCreate(skb.Data, out var p) || skb.IpSummed != ChecksumState.Unnecessary && !p.VerifyChecksum())
        {
            if (p.Bytes.Length >= IcmpPacket.HeaderLength) _mib.Icmp.InCsumErrors++;
            _mib.Icmp.InErrors++;
            skb.Free(SkbDropReason.IcmpCsum);
            return;
        }
        switch (p.Type)
        {
            case IcmpType.EchoRequest:
                _mib.Icmp.InEchos++;
                // Echo requests sent to a broadcast address are ignored (icmp_echo_ignore_broadcasts = 1).
                if (_output.Addresses.IsLocal(destination)) Reply(skb, source, destination);
                break;
            case IcmpType.EchoReply:
                _mib.Icmp.InEchoReps++;
                long sent = p.Data.Length >= 8 ? System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(p.Data) : 0;
                var ip = skb.Head.AsSpan(skb.NetworkHeader);
                EchoReplyReceived?.Invoke(new EchoReply(source, p.EchoIdentifier, p.EchoSequence, p.Data.Length, ip[8], _clock.Now, sent));
                break;
            case IcmpType.DestinationUnreachable:
                _mib.Icmp.InDestUnreachs++;
                DeliverError(p, new IcmpSource(source, skb.Truesize));
                break;
            case IcmpType.TimeExceeded:
                _mib.Icmp.InTimeExcds++;
                DeliverError(p, new IcmpSource(source, skb.Truesize));
                break;
        }
        skb.Consume();
    }

    /// <summary>icmp_unreach(): pass the error to the protocol of the offending packet (which must be ours).</summary>
    private void DeliverError(IcmpPacket p, IcmpSource from)
    {
        if (!Ipv4Packet.TryCreate(p.Data, out var inner) || p.Data.Length < inner.HeaderLength + 8)
        {
            _mib.Icmp.InErrors++;
            return;
        }
        _protocols(inner.Protocol)?.Error(p.Data, p.Type, p.Code, p.RestOfHeader, from);
    }

    public void Error(ReadOnlySpan<byte> offending, byte icmpType, byte icmpCode, uint info, IcmpSource from) { }

    /// <summary>icmp_echo() → icmp_reply(): the request's data back, from the address it was sent to.</summary>
    private void Reply(SkBuff request, Ipv4Address from, Ipv4Address to)
    {
        int len = request.Len;
        var skb = _pool.Alloc(len + Ipv4Packet.MinHeaderLength + 16 + 15);
        skb.Reserve(Ipv4Packet.MinHeaderLength + 16);
        var body = skb.Put(len);
        request.CopyBits(0, body);
        IcmpPacket.TryCreate(body, out var p);
        p.Type = IcmpType.EchoReply;
        p.Code = 0;
        p.FillChecksum();
        byte tos = request.Head[request.NetworkHeader + 1];
        _mib.Icmp.OutMsgs++;
        _mib.Icmp.OutEchoReps++;
        // The ICMP control socket uses IP_PMTUDISC_DONT: replies carry no DF.
        _output.Send(skb, new IpSendParams(to, from, IpProtocol.Icmp, 64, tos, PmtuDisc.Dont));
    }

    /// <summary>
    /// __icmp_send(): an error about <paramref name="offending"/> (network header set). Not for ICMP errors,
    /// non-first fragments, or broadcast/multicast packets; rate limited; carries the offending IP header
    /// and as much data as fits in 576 bytes; TOS gets precedence "internetwork control".
    /// </summary>
    public void SendError(SkBuff offending, byte type, byte code, uint info = 0)
    {
        var ipSpan = offending.Head.AsSpan(offending.NetworkHeader, offending.TailOffset - offending.NetworkHeader);
        if (!Ipv4Packet.TryCreate(ipSpan, out var ip)) return;
        if (ip.FragmentOffset != 0) return;
        if (ip.Destination.IsMulticast || _output.Addresses.IsBroadcast(ip.Destination) || ip.Source.IsUnspecified || ip.Source.IsMulticast) return;
        if (ip.Protocol == IpProtocol.Icmp && ipSpan.Length >= ip.HeaderLength + 1)
        {
            byte innerType = ipSpan[ip.HeaderLength];
            if (innerType is not (IcmpType.EchoReply or IcmpType.EchoRequest)) return; // never an error about an error
        }
        // As __icmp_send(): the global limit is checked first, the per-peer one next, and the global token is
        // spent only when both allow; each refusal has its own counter.
        if (!RateLimiter.GlobalAvailable())
        {
            _mib.Icmp.OutRateLimitGlobal++;
            return;
        }
        if (!RateLimiter.AllowPeer(ip.Source, type))
        {
            _mib.Icmp.OutRateLimitHost++;
            return;
        }
        RateLimiter.ConsumeGlobal();

        int room = 576 - Ipv4Packet.MinHeaderLength - IcmpPacket.HeaderLength;
        int dataLen = Math.Min(Math.Min(ip.TotalLength, ipSpan.Length), room);
        int len = IcmpPacket.HeaderLength + dataLen;
        var skb = _pool.Alloc(len + Ipv4Packet.MinHeaderLength + 16 + 15);
        skb.Reserve(Ipv4Packet.MinHeaderLength + 16);
        var body = skb.Put(len);
        ipSpan[..dataLen].CopyTo(body[IcmpPacket.HeaderLength..]);
        new IcmpRepr(type, code, info, dataLen).Emit(body);
        var source = _output.Addresses.IsLocal(ip.Destination) ? ip.Destination : Ipv4Address.Any;
        byte tos = (byte)((ip.Tos & 0x1E) | 0xC0);
        _mib.Icmp.OutMsgs++;
        if (type == IcmpType.DestinationUnreachable) _mib.Icmp.OutDestUnreachs++;
        else if (type == IcmpType.TimeExceeded) _mib.Icmp.OutTimeExcds++;
        _output.Send(skb, new IpSendParams(source, ip.Source, IpProtocol.Icmp, 64, tos, PmtuDisc.Dont));
    }
}
