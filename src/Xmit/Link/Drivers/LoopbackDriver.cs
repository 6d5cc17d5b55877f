using Xmit.Sockets;
using Xmit.Buffers;

namespace Xmit.Link.Drivers;

/// <summary>
/// lo's driver, loopback_xmit(): the skb is orphaned at once (its socket gets the memory back before the sender's
/// call returns, so TCP Small Queues never hold a loopback flow back), then given to netif_rx on the same device —
/// it goes up the stack from the CPU's backlog, after the sender returns. Offloads everything (checksum, TSO, USO,
/// scatter-gather): a 64 KB TCP skb crosses whole and a CHECKSUM_PARTIAL skb counts as verified. lo's counters are
/// one pair, counted here for packets the backlog took: rx = tx, bytes without the Ethernet header.
/// </summary>
/// <remarks>Linux: drivers/net/loopback.c loopback_xmit(), loopback_get_stats64(), gen_lo_setup() (features); net/core/sock.c skb_orphan()</remarks>
public sealed class LoopbackDriver : INetDeviceDriver
{
    private readonly RxBacklog _backlog;

    public LoopbackDriver(NetDevice device, RxBacklog backlog)
    {
        Device = device;
        _backlog = backlog;
        device.AttachDriver(this);
    }

    public NetDevice Device { get; }

    /// <summary>NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_GSO_SOFTWARE (TSO, USO among them).</summary>
    public DeviceFeatures Features => DeviceFeatures.ScatterGather | DeviceFeatures.HwChecksum | DeviceFeatures.Tso | DeviceFeatures.GsoUdpL4;

    public NetdevTx StartXmit(SkBuff skb, NetdevQueue txq)
    {
        // The receive side gets the sender's skb as it is (SkbForward); the sender's own skb is released here,
        // which is skb_orphan(): the destructor runs now, returning wmem to the socket.
        TxTimestamps.Snd(skb, Device.Scheduler.Now); // loopback_xmit(): skb_tx_timestamp()
        // The receiving socket reads a copy, not the sender's pages (skb_orphan_frags_rx): a zerocopy send was copied.
        skb.Zerocopy?.MarkCopied();
        var rx = SkbForward.CopyForReceive(skb, Device.Pool);
        skb.Consume();
        int len = rx.Len - Wire.EthernetFrame.HeaderLength; // counted after eth_type_trans
        if (_backlog.Enqueue(Device, rx))
        {
            var s = Device.Stats;
            s.TxPackets++;
            s.TxBytes += len;
            s.RxPackets++;
            s.RxBytes += len;
        }
        return NetdevTx.Ok;
    }
}
