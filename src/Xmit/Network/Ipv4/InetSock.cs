using Xmit.Buffers;
using Xmit.Sockets;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>What a corked datagram remembers between appends: route, addresses, sizes and header fields.</summary>
/// <remarks>Linux: include/net/inet_sock.h struct inet_cork, struct inet_cork_full</remarks>
public sealed class IpCork
{
    public Route? Route { get; set; }
    public Ipv4Address Source { get; set; }
    public Ipv4Address Destination { get; set; }
    public ushort DestinationPort { get; set; }
    /// <summary>cork->fragsize: the MTU the datagram is cut to.</summary>
    public int FragSize { get; set; }
    /// <summary>cork->length: bytes appended so far (transport header included).</summary>
    public int Length { get; set; }
    public byte Tos { get; set; }
    public byte Ttl { get; set; }
    public uint Priority { get; set; }
    /// <summary>cork->gso_size: a UDP_SEGMENT send builds one GSO skb of many segments.</summary>
    public int GsoSize { get; set; }
    /// <summary>cork->tx_flags: the transmit timestamps the datagram's first skb asks for (sock_tx_timestamp at ip_setup_cork).</summary>
    public Buffers.SkbTxFlags TxFlags { get; set; }

    public void Release()
    {
        Route = null;
        Length = 0;
    }
}

/// <summary>The IPv4 part of a socket: addresses, ports, TOS/TTL/priority, PMTU mode, IP_RECVERR, the IP ID counter and the cork.</summary>
/// <remarks>Linux: include/net/inet_sock.h struct inet_sock</remarks>
public abstract class InetSock(int sndBuf, int rcvBuf) : Sock(sndBuf, rcvBuf)
{
    public Ipv4Address LocalAddress { get; set; }
    public ushort LocalPort { get; set; }
    public Ipv4Address RemoteAddress { get; set; }
    public ushort RemotePort { get; set; }
    public bool IsConnected => RemotePort != 0;

    /// <summary>A connected socket keeps its route (sk_dst_cache), so netdev_pick_tx() caches its TX queue.</summary>
    public override bool CachesTxQueue => IsConnected;

    /// <summary>IP_TOS.</summary>
    public byte Tos { get; set; }
    /// <summary>IP_TTL (0: the default, 64).</summary>
    public byte Ttl { get; set; }
    /// <summary>SO_PRIORITY; IP_TOS also sets it (rt_tos2priority).</summary>
    public uint Priority { get; set; }
    /// <summary>IP_MTU_DISCOVER (default WANT, ip_no_pmtu_disc = 0).</summary>
    public PmtuDisc PmtuDisc { get; set; } = PmtuDisc.Want;
    /// <summary>IP_RECVERR.</summary>
    public bool RecvErr { get; set; }
    /// <summary>IP_FREEBIND: bind() may take an address the host does not have (yet).</summary>
    public bool FreeBind { get; set; }
    /// <summary>inet_id: the per-socket IP ID counter for connected sockets.</summary>
    public ushort InetId { get; set; }

    /// <summary>inet->cork: the datagram being corked.</summary>
    public IpCork Cork { get; } = new();

    /// <summary>sk_write_queue: a corked datagram's skbs (UDP); the sent and unsent stream (TCP).</summary>
    public SkBuffQueue WriteQueue { get; } = new();

    /// <summary>net.ipv4.ip_default_ttl, for sockets that did not set IP_TTL.</summary>
    public byte DefaultTtl { get; set; } = 64;

    /// <summary>The TTL to put in headers.</summary>
    public byte EffectiveTtl => Ttl == 0 ? DefaultTtl : Ttl;

    /// <summary>rt_tos2priority(): the pfifo_fast priority a TOS value implies.</summary>
    /// <remarks>Linux: include/net/route.h rt_tos2priority(), net/ipv4/route.c ip_tos2prio</remarks>
    public static uint TosToPriority(byte tos)
    {
        ReadOnlySpan<byte> map = [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4];
        return map[(tos & 0x1E) >> 1];
    }
}
