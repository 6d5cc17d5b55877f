namespace Xmit.Link;

/// <summary>Per-device counters as `ip -s link` shows them.</summary>
/// <remarks>Linux: include/uapi/linux/if_link.h struct rtnl_link_stats64</remarks>
public sealed class DeviceStats
{
    public long TxPackets, TxBytes, TxDropped, TxErrors;
    public long RxPackets, RxBytes, RxDropped, RxErrors;
}
