using System.Globalization;
using System.Text;

namespace Xmit.Link;

/// <summary>Per-device counters as `ip -s link` shows them.</summary>
/// <remarks>Linux: include/uapi/linux/if_link.h struct rtnl_link_stats64</remarks>
public sealed class DeviceStats
{
    public long TxPackets, TxBytes, TxDropped, TxErrors;
    public long RxPackets, RxBytes, RxDropped, RxErrors;

    /// <summary>
    /// rx_missed_errors: frames the device dropped for lack of buffer space — no free RX descriptor, the host not
    /// keeping up. Not part of rx_dropped (which counts packets the stack received but could not process) nor of
    /// rx_errors; /proc/net/dev folds it into "drop", `ip -s link` shows it as "missed".
    /// </summary>
    public long RxMissedErrors;

    /// <summary>
    /// The `ip -s link show dev NAME` statistics block (iproute2's layout: RX bytes, packets, errors, dropped,
    /// missed, mcast; TX bytes, packets, errors, dropped, carrier, collsns).
    /// </summary>
    /// <remarks>Linux: iproute2 ip/ipaddress.c print_link_stats64()</remarks>
    public string FormatIpSLink(string indent = "    ")
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(indent).AppendLine(string.Format(inv, "RX: {0,10} {1,8} {2,6} {3,7} {4,7} {5,7}", "bytes", "packets", "errors", "dropped", "missed", "mcast"));
        sb.Append(indent).AppendLine(string.Format(inv, "    {0,10} {1,8} {2,6} {3,7} {4,7} {5,7}", RxBytes, RxPackets, RxErrors, RxDropped, RxMissedErrors, 0));
        sb.Append(indent).AppendLine(string.Format(inv, "TX: {0,10} {1,8} {2,6} {3,7} {4,7} {5,7}", "bytes", "packets", "errors", "dropped", "carrier", "collsns"));
        sb.Append(indent).Append(string.Format(inv, "    {0,10} {1,8} {2,6} {3,7} {4,7} {5,7}", TxBytes, TxPackets, TxErrors, TxDropped, 0, 0));
        return sb.ToString();
    }
}
