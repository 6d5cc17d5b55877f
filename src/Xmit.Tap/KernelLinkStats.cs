using System.Text.Json;

namespace Xmit.Tap;

/// <summary>
/// The kernel side's counters of the TAP device, as `ip -s -j link show dev X` prints them inside the namespace:
/// its rx is what we wrote to the fd, its tx what it queued to us, and tx_dropped what it could not (the tun
/// queue full, txqueuelen frames waiting for our reads).
/// </summary>
/// <remarks>Linux: drivers/net/tun.c tun_net_xmit() (dev->tx_dropped on a full ring), tun_get_user() (rx)</remarks>
public sealed record KernelLinkStats(long RxPackets, long RxDropped, long TxPackets, long TxDropped)
{
    public static KernelLinkStats? Read(NetNamespace? ns, string device)
    {
        var (code, output, _) = ns is null
            ? NetNamespace.Run("ip", "-s", "-j", "link", "show", "dev", device)
            : ns.Exec("ip", "-s", "-j", "link", "show", "dev", device);
        if (code != 0) return null;
        try
        {
            var stats = JsonDocument.Parse(output).RootElement[0].GetProperty("stats64");
            var rx = stats.GetProperty("rx");
            var tx = stats.GetProperty("tx");
            return new KernelLinkStats(rx.GetProperty("packets").GetInt64(), rx.GetProperty("dropped").GetInt64(),
                tx.GetProperty("packets").GetInt64(), tx.GetProperty("dropped").GetInt64());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or IndexOutOfRangeException or InvalidOperationException)
        {
            return null;
        }
    }

    public override string ToString() =>
        $"kernel side of the device (since it was created): rx {RxPackets} packets ({RxDropped} dropped), tx {TxPackets} packets ({TxDropped} dropped)";
}
