using Xmit.Sockets;
using Xmit.Buffers;

namespace Xmit.Link.Drivers;

/// <summary>
/// A virtual device's driver (veth, tun): the frame is handed to the peer and the skb is freed at once, so
/// its memory returns to the socket the moment it leaves the qdisc. No ring, no completion interrupt.
/// </summary>
/// <remarks>Linux: drivers/net/veth.c veth_xmit() (skb_orphan via __dev_forward_skb); drivers/net/tun.c tun_net_xmit()</remarks>
public sealed class ImmediateDriver : INetDeviceDriver
{
    public ImmediateDriver(NetDevice device, IWirePort port)
    {
        Device = device;
        Port = port;
        device.AttachDriver(this);
    }

    public NetDevice Device { get; }
    public IWirePort Port { get; }
    /// <summary>Scatter-gather by default; a tun device as packetdrill sets it up also takes TSO (and checksum) offload.</summary>
    public DeviceFeatures Features { get; set; } = DeviceFeatures.ScatterGather;

    public NetdevTx StartXmit(SkBuff skb, NetdevQueue txq)
    {
        TxTimestamps.Snd(skb, Device.Scheduler.Now); // veth_xmit() / tun_net_xmit(): skb_tx_timestamp()
        // The peer (or the tun reader) gets a copy of the pages (skb_orphan_frags_rx): a zerocopy send was copied.
        skb.Zerocopy?.MarkCopied();
        Port.Transmit(skb, Device.Scheduler.Now);
        Device.Stats.TxPackets++;
        Device.Stats.TxBytes += skb.Len;
        skb.Consume();
        return NetdevTx.Ok;
    }
}
