using Xmit.Buffers;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>An upper-layer protocol IPv4 delivers to (net_protocol: handler + err_handler).</summary>
/// <remarks>Linux: include/net/protocol.h struct net_protocol</remarks>
public interface IIpProtocol
{
    byte Protocol { get; }

    /// <summary>Takes ownership of a packet for us; skb->data is at the transport header, the network header is set.</summary>
    void Receive(SkBuff skb, Ipv4Address source, Ipv4Address destination);

    /// <summary>
    /// An ICMP error about a packet we sent: <paramref name="offending"/> is its IP header and at least 8 payload bytes;
    /// <paramref name="from"/> says who sent the ICMP message, and the truesize of the skb that carried it.
    /// </summary>
    void Error(ReadOnlySpan<byte> offending, byte icmpType, byte icmpCode, uint info, IcmpSource from);
}

/// <summary>Where an ICMP error came from (the offender of IP_RECVERR's message) and what its skb costs a receive buffer.</summary>
public readonly record struct IcmpSource(Ipv4Address Sender, int Truesize);
