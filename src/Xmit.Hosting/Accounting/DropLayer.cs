using Xmit.Buffers;

namespace Xmit.Hosting.Accounting;

/// <summary>Which layer frees an skb for a given reason, and the reason's name as Linux's tracepoint prints it.</summary>
/// <remarks>Linux: include/net/dropreason-core.h enum skb_drop_reason</remarks>
public static class DropLayer
{
    public const string Ip = "ip", Neighbour = "neighbour", Qdisc = "qdisc", Driver = "driver", Receiver = "receiver";

    /// <summary>The receiving NIC's RX ring (frames it missed for want of a descriptor).</summary>
    public const string RxRing = "rx ring";

    public static string Of(SkbDropReason reason) => reason switch
    {
        SkbDropReason.IpOutNoRoutes or SkbDropReason.IpFragFails => Ip,
        SkbDropReason.NeighQueueFull or SkbDropReason.NeighFailed or SkbDropReason.NeighDead or SkbDropReason.NeighCreateFail => Neighbour,
        SkbDropReason.QdiscDrop or SkbDropReason.FqBandLimit or SkbDropReason.FqHorizonLimit or SkbDropReason.FqFlowLimit => Qdisc,
        SkbDropReason.DevReady or SkbDropReason.TxRingFull => Driver,
        SkbDropReason.RxMissed => RxRing,
        // NetfilterDrop can be either way; in these scenarios no hook drops on output. Everything else is the receive path.
        _ => Receiver,
    };

    /// <summary>SKB_DROP_REASON_ without the prefix: QdiscDrop → QDISC_DROP, TxRingFull → FULL_RING.</summary>
    public static string LinuxName(SkbDropReason reason) => reason switch
    {
        SkbDropReason.NotSpecified => "NOT_SPECIFIED",
        SkbDropReason.TxRingFull => "FULL_RING",
        SkbDropReason.RxMissed => "rx_missed_errors", // no skb, so no drop reason in Linux: the device counter's name
        SkbDropReason.IpOutNoRoutes => "IP_OUTNOROUTES",
        SkbDropReason.TcpOverWindow => "TCP_OVERWINDOW",
        SkbDropReason.IpInHdrErrors => "IP_INHDR",
        SkbDropReason.IpInAddrErrors => "IP_INADDRERRORS",
        SkbDropReason.FragOverlap => "DUP_FRAG",
        SkbDropReason.IpFragFails => "IP_FRAGFAILS",
        SkbDropReason.Unhandled => "UNHANDLED_PROTO",
        SkbDropReason.LinkLoss => "LINK_LOSS",
        SkbDropReason.ArpInvalid => "ARP_INVALID",
        SkbDropReason.OtherHost => "OTHERHOST",
        SkbDropReason.NeighQueueFull => "NEIGH_QUEUEFULL",
        SkbDropReason.NeighCreateFail => "NEIGH_CREATEFAIL",
        SkbDropReason.SocketRcvBuff => "SOCKET_RCVBUFF",
        SkbDropReason.TcpOfoDrop => "TCP_OFODROP",
        SkbDropReason.TcpZeroWindow => "TCP_ZEROWINDOW",
        SkbDropReason.TcpMd5Unexpected => "TCP_MD5UNEXPECTED",
        _ => Snake(reason.ToString()),
    };

    private static string Snake(string name)
    {
        var b = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i])) b.Append('_');
            b.Append(char.ToUpperInvariant(name[i]));
        }
        return b.ToString();
    }
}
