using Xmit.Buffers;
using Xmit.Network.Ipv4;

namespace Xmit.Transport.Udp;

/// <summary>
/// A UDP socket's kernel side: addresses and options (from <see cref="InetSock"/>), the cork state of
/// udp_sock (UDP_CORK, pending datagram and its length), the receive queue with rcvbuf accounting and
/// the pending error an ICMP message leaves.
/// </summary>
/// <remarks>Linux: include/linux/udp.h struct udp_sock</remarks>
public sealed class UdpSock : InetSock
{
    /// <summary>Sizes come from the host's sysctls (wmem_default / rmem_default) or the caller; see <see cref="UdpProtocol.Create"/>.</summary>
    internal UdpSock(int sndBuf, int rcvBuf) : base(sndBuf, rcvBuf) { }

    /// <summary>UDP_CORK (up->corkflag).</summary>
    public bool CorkFlag { get; internal set; }

    /// <summary>up->pending: a corked datagram is being built on <see cref="InetSock.WriteQueue"/>.</summary>
    public bool Pending { get; internal set; }

    /// <summary>up->len: bytes of the pending datagram, UDP header included.</summary>
    public int PendingLength { get; internal set; }

    /// <summary>The cork of the lockless (uncorked) path, which Linux keeps on the stack; reused, never shared.</summary>
    internal IpCork LocklessCork { get; } = new();
    internal SkBuffQueue LocklessQueue { get; } = new();

    /// <summary>Bound explicitly to an address / a port (SOCK_BINDADDR_LOCK / SOCK_BINDPORT_LOCK).</summary>
    internal bool AddressLocked { get; set; }
    internal bool PortLocked { get; set; }

    /// <summary>UDP_SEGMENT (up->gso_size): 0, or the payload size of each segment of a GSO send.</summary>
    public int GsoSize { get; set; }

    /// <summary>SO_BROADCAST.</summary>
    public bool Broadcast { get; set; }

    /// <summary>SO_REUSEADDR (sk_reuse): a port may be bound again by a socket that sets it too.</summary>
    public bool ReuseAddr { get; internal set; }

    /// <summary>sk_receive_queue.</summary>
    public SkBuffQueue ReceiveQueue { get; } = new();

    /// <summary>sk_drops.</summary>
    public long Drops { get; internal set; }

    /// <summary>Raised when a datagram was queued (sk_data_ready: EPOLLIN).</summary>
    public event Action<UdpSock>? DataReady;

    internal void RaiseDataReady() => DataReady?.Invoke(this);

    /// <summary>SIOCINQ: the length of the next datagram's payload, 0 when none.</summary>
    public int NextDatagramLength => ReceiveQueue.Peek() is { } s ? s.Len - Wire.UdpDatagram.HeaderLength : 0;

    /// <summary>SIOCOUTQ: bytes charged for sending (sk_wmem_alloc).</summary>
    public long OutQueue => WmemAlloc;
}
