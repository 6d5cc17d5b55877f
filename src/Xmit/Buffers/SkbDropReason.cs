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
}
