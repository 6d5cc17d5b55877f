using Xmit.Buffers;
using Xmit.Link;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Neighbour;

/// <summary>One neighbour: the link address of an on-link IPv4 address, its NUD state and timer, the packets waiting for it, and the prebuilt Ethernet header (hh_cache).</summary>
/// <remarks>Linux: include/net/neighbour.h struct neighbour, struct hh_cache</remarks>
public sealed class NeighbourEntry
{
    internal NeighbourEntry(NeighbourTable table, NetDevice device, Ipv4Address key)
    {
        Table = table;
        Device = device;
        Key = key;
        Timer = new Timer(device.Scheduler, () => table.OnTimer(this), $"neigh-{key}");
    }

    public NeighbourTable Table { get; }
    public NetDevice Device { get; }
    public Ipv4Address Key { get; }
    public NudState State { get; internal set; }
    public MacAddress LinkAddress { get; internal set; }
    public int Probes { get; internal set; }
    public Instant Confirmed { get; internal set; }
    public Instant Updated { get; internal set; }
    public Instant Used { get; internal set; }
    public Duration ReachableTime { get; internal set; }
    internal Timer Timer { get; }

    /// <summary>Packets waiting for resolution (arp_queue), bounded by truesize.</summary>
    internal SkBuffQueue ArpQueue { get; } = new();

    /// <summary>The cached Ethernet header: destination, source, type (hh_cache).</summary>
    internal byte[] HeaderCache { get; } = new byte[EthernetFrame.HeaderLength];

    /// <summary>neigh_update_hhs(): rebuild the cached header after the link address changed.</summary>
    internal void UpdateHeaderCache()
    {
        LinkAddress.Write(HeaderCache);
        Device.Mac.Write(HeaderCache.AsSpan(6));
        HeaderCache[12] = EtherType.Ipv4 >> 8;
        HeaderCache[13] = EtherType.Ipv4 & 0xFF;
    }

    public int QueuedPackets => ArpQueue.Count;

    public override string ToString() => $"{Key} dev {Device.Name} lladdr {LinkAddress} {State.Name()}";
}
