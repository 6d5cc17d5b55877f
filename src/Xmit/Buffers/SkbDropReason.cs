namespace Xmit.Buffers;

/// <summary>Why an skb was freed; drops are counted by reason like Linux's skb:kfree_skb tracepoint.</summary>
/// <remarks>Linux: include/net/dropreason-core.h enum skb_drop_reason</remarks>
public enum SkbDropReason
{
    /// <summary>Not a drop: consume_skb().</summary>
    Consumed,
    NotSpecified,
    QdiscDrop,
    NeighQueueFull,
    NeighFailed,
    NeighDead,
    IpOutNoRoutes,
    IpInHdrErrors,
    IpInAddrErrors,
    IpCsum,
    FragTooFar,
    FragReasmTimeout,
    FragOverlap,
    IpFragFails,
    NetfilterDrop,
    UdpCsum,
    NoSocket,
    SocketRcvBuff,
    IcmpCsum,
    PktTooSmall,
    OtherHost,
    Unhandled,
    DevReady,
    TxRingFull,
    LinkLoss,
    ArpInvalid,
    /// <summary>TCP data outside the receive window (SKB_DROP_REASON_TCP_OVERWINDOW, _ZEROWINDOW).</summary>
    TcpOverWindow,
    /// <summary>No receive memory for it, even after pruning (SKB_DROP_REASON_PROTO_MEM).</summary>
    ProtoMem,
    /// <summary>Pruned from the out-of-order queue (SKB_DROP_REASON_TCP_OFO_DROP).</summary>
    TcpOfoDrop,
    /// <summary>Too big: a reassembled IPv4 datagram over 65535 bytes (SKB_DROP_REASON_PKT_TOO_BIG).</summary>
    PktTooBig,
    /// <summary>No neighbour entry could be made for the next hop (SKB_DROP_REASON_NEIGH_CREATEFAIL).</summary>
    NeighCreateFail,
    /// <summary>netif_rx() found the CPU's backlog full (SKB_DROP_REASON_CPU_BACKLOG).</summary>
    CpuBacklog,
    /// <summary>
    /// The NIC found no free RX descriptor and missed the frame (rx_missed_errors). Linux has no drop reason for it: the
    /// frame never becomes an skb there. The simulated wire has already put it in a receive buffer, freed with this.
    /// </summary>
    RxMissed,
    /// <summary>A loopback destination arriving on a device other than lo: martian (SKB_DROP_REASON_IP_INVALID_DEST).</summary>
    IpInvalidDest,
    /// <summary>A loopback source arriving on a device other than lo: martian (SKB_DROP_REASON_IP_INVALID_SOURCE).</summary>
    IpInvalidSource,
    /// <summary>A TCP segment whose checksum is wrong (tcp_v4_rcv csum_error).</summary>
    TcpCsum,
    /// <summary>A TCP segment signed with an MD5 option for a socket that has no TCP_MD5SIG key (tcp_inbound_hash).</summary>
    TcpMd5Unexpected,
    /// <summary>Data that arrived while the receive window was zero (tcp_data_queue, TCPZeroWindowDrop).</summary>
    TcpZeroWindow,
    /// <summary>fq: the packet's band already holds the qdisc's limit of packets.</summary>
    FqBandLimit,
    /// <summary>fq: the packet's departure time is beyond the horizon (horizon_drop).</summary>
    FqHorizonLimit,
    /// <summary>fq: the packet's flow already holds flow_limit packets.</summary>
    FqFlowLimit,
}
