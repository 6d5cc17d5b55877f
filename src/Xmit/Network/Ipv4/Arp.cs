using Xmit.Buffers;
using Xmit.Link;
using Xmit.Neighbour;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>ARP counters (what `ip -s neigh` and /proc/net/stat show, plus requests/replies seen).</summary>
public sealed class ArpStats
{
    public long RequestsSent, RepliesSent, RequestsReceived, RepliesReceived, Invalid, Ignored;
    /// <summary>ARP packets parsed and consumed (whatever came of them): the receive path's ledger counts them as delivered.</summary>
    public long Consumed;
}

/// <summary>
/// ARP for IPv4 over Ethernet: solicits for the neighbour table (broadcast while INCOMPLETE, unicast while
/// PROBE), answers requests for our addresses (learning the asker as STALE), and updates entries from
/// replies (REACHABLE) and gratuitous ARP (existing entries only: arp_accept = 0).
/// </summary>
/// <remarks>Linux: net/ipv4/arp.c arp_solicit(), arp_process(), arp_create(), arp_constructor()</remarks>
public sealed class Arp : INeighbourSolicitor
{
    private readonly SkBuffPool _pool;
    private readonly IScheduler _scheduler;

    public Arp(SkBuffPool pool, IScheduler scheduler, NeighbourTable table, AddressTable addresses)
    {
        _pool = pool;
        _scheduler = scheduler;
        Table = table;
        Addresses = addresses;
        table.Solicitor = this;
    }

    public NeighbourTable Table { get; }
    public AddressTable Addresses { get; }
    public ArpStats Stats { get; } = new();

    /// <summary>
    /// The neighbour for a next hop, created on first use. Broadcast and multicast next hops need no
    /// resolution (NUD_NOARP with the mapped address), nor does anything on lo (NUD_NOARP with lo's all-zero
    /// address, which is both ends of every frame on lo), as arp_constructor() sets up.
    /// </summary>
    public NeighbourEntry? NeighbourFor(NetDevice dev, Ipv4Address nextHop)
    {
        var n = Table.Lookup(dev, nextHop);
        if (n is not null) return n;
        n = Table.LookupOrCreate(dev, nextHop);
        if (n is null) return null; // the table is full (neigh_create failed)
        if (nextHop.IsMulticast)
            Table.Update(n, new MacAddress(0x01005E000000UL | (nextHop.Value & 0x7FFFFF)), NudState.NoArp, overrideAddress: true);
        else if (dev.IsLoopback) Table.Update(n, dev.Mac, NudState.NoArp, overrideAddress: true);
        else if (Addresses.IsBroadcast(nextHop)) Table.Update(n, MacAddress.Broadcast, NudState.NoArp, overrideAddress: true);
        return n;
    }

    /// <summary>arp_solicit(): broadcast a request, or unicast it to the known address while probing.</summary>
    public void Solicit(NeighbourEntry n, SkBuff? pending)
    {
        var source = Ipv4Address.Any;
        if (pending is not null && Ipv4Packet.TryCreate(pending.Data, out var ip) && Addresses.IsLocal(ip.Source))
            source = ip.Source;
        if (source.IsUnspecified) source = Addresses.SelectSource(n.Device, n.Key);
        // probes counts up from ucast_solicit while INCOMPLETE, from 0 while PROBE: below ucast_solicit means unicast.
        bool unicast = n.Probes < Table.Params.UcastSolicit && n.State.Has(NudStates.Valid);
        var dest = unicast ? n.LinkAddress : MacAddress.Broadcast;
        Send(n.Device, ArpOperation.Request, dest, source, unicast ? n.LinkAddress : MacAddress.Zero, n.Key);
        Stats.RequestsSent++;
    }

    /// <summary>Sends an unsolicited (gratuitous) ARP request announcing <paramref name="address"/>.</summary>
    public void Announce(NetDevice dev, Ipv4Address address) =>
        Send(dev, ArpOperation.Request, MacAddress.Broadcast, address, MacAddress.Zero, address);

    /// <summary>arp_create() + arp_xmit(): a 28-byte ARP packet in an Ethernet frame, straight to dev_queue_xmit.</summary>
    private void Send(NetDevice dev, ArpOperation op, MacAddress ethDest, Ipv4Address senderIp, MacAddress targetMac, Ipv4Address targetIp)
    {
        var skb = _pool.Alloc(ArpPacket.Length + dev.LinkReserve);
        skb.Reserve(dev.LinkReserve);
        var body = skb.Put(ArpPacket.Length);
        new ArpRepr(op, dev.Mac, senderIp, targetMac, targetIp).Emit(body);
        skb.NetworkHeader = skb.DataOffset;
        EthernetFrame.TryCreate(skb.Push(EthernetFrame.HeaderLength), out var eth);
        new EthernetRepr(ethDest, dev.Mac, EtherType.Arp).Emit(eth);
        skb.MacHeader = skb.DataOffset;
        skb.Protocol = EtherType.Arp;
        dev.QueueXmit(skb);
    }

    /// <summary>arp_rcv() + arp_process(): takes ownership of an ARP packet (Ethernet header already pulled).</summary>
    public void Receive(NetDevice dev, SkBuff skb, bool toUs)
    {
        if (!ArpPacket.TryCreate(skb.Data, out var p))
        {
            Stats.Invalid++;
            skb.Free(SkbDropReason.ArpInvalid);
            return;
        }
        var arp = ArpRepr.Parse(p);
        Stats.Consumed++;
        skb.Consume();
        // arp_process(): nothing is said about loopback or multicast targets.
        if (arp.SenderIp.IsMulticast || arp.SenderMac.IsMulticast || arp.TargetIp.IsMulticast || arp.TargetIp.IsLoopback || arp.SenderMac == dev.Mac)
        {
            Stats.Invalid++;
            return;
        }
        if (arp.Operation == ArpOperation.Request) Stats.RequestsReceived++;
        else if (arp.Operation == ArpOperation.Reply) Stats.RepliesReceived++;

        // A request for one of our addresses: learn the asker (STALE, override) and answer.
        if (arp.Operation == ArpOperation.Request && Addresses.IsLocal(arp.TargetIp) && !arp.SenderIp.IsUnspecified)
        {
            if (Table.LookupOrCreate(dev, arp.SenderIp) is { } asker) Table.Update(asker, arp.SenderMac, NudState.Stale, overrideAddress: true);
            Send(dev, ArpOperation.Reply, arp.SenderMac, arp.TargetIp, arp.SenderMac, arp.SenderIp);
            Stats.RepliesSent++;
            return;
        }

        // Otherwise only update an entry we already have (arp_accept = 0 creates none).
        var n = Table.Lookup(dev, arp.SenderIp);
        if (n is null)
        {
            Stats.Ignored++;
            return;
        }
        bool isGratuitous = arp.IsGratuitous;
        bool overrideAddress = _scheduler.Now > n.Updated + Table.Params.LockTime || isGratuitous;
        var state = arp.Operation == ArpOperation.Reply && toUs ? NudState.Reachable : NudState.Stale;
        Table.Update(n, arp.SenderMac, state, overrideAddress);
    }
}
