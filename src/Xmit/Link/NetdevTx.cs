namespace Xmit.Link;

/// <summary>What a driver's ndo_start_xmit returns.</summary>
/// <remarks>Linux: include/linux/netdevice.h enum netdev_tx</remarks>
public enum NetdevTx
{
    /// <summary>The driver took the skb (it now owns it).</summary>
    Ok,
    /// <summary>The driver could not take it; the caller still owns it and must requeue.</summary>
    Busy,
}

/// <summary>The driver side of a device: ndo_start_xmit.</summary>
public interface INetDeviceDriver
{
    /// <summary>Transmit <paramref name="skb"/> on <paramref name="txq"/>. On <see cref="NetdevTx.Ok"/> the driver owns the skb.</summary>
    NetdevTx StartXmit(Buffers.SkBuff skb, NetdevQueue txq);

    /// <summary>Device features the driver offers (checksum offload, scatter-gather).</summary>
    DeviceFeatures Features { get; }
}

/// <summary>A driver whose hardware receives frames itself (an RX ring): the medium hands each arriving frame here.</summary>
public interface IRxHardware
{
    /// <summary>A frame has arrived at the NIC (its receive buffer is <paramref name="skb"/>, owned by the driver from now).</summary>
    void HardwareReceive(Buffers.SkBuff skb);
}

[Flags]
public enum DeviceFeatures
{
    None = 0,
    /// <summary>NETIF_F_HW_CSUM: the hardware fills L4 checksums of CHECKSUM_PARTIAL skbs.</summary>
    HwChecksum = 1,
    /// <summary>NETIF_F_SG: paged skbs can be sent without linearising.</summary>
    ScatterGather = 2,
    /// <summary>NETIF_F_GSO_UDP_L4: the device segments UDP GSO skbs itself (USO); otherwise the stack does.</summary>
    GsoUdpL4 = 4,
    /// <summary>NETIF_F_TSO: the device segments TCP GSO skbs itself (TCP builds them only for such devices here).</summary>
    Tso = 8,
}

/// <summary>Something that sees every frame crossing a device (ptype_all: tcpdump, our pcap writer, tracers).</summary>
/// <remarks>Linux: net/core/dev.c dev_queue_xmit_nit() / deliver_skb for ETH_P_ALL taps</remarks>
public interface IPacketTap
{
    void OnPacket(NetDevice device, Buffers.SkBuff skb, bool outgoing);
}
