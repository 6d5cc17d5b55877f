using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>
/// IPv4 input: validate the header (version, length, checksum), trim to the total length, PRE_ROUTING,
/// accept only packets for us (forwarding is off), reassemble fragments, LOCAL_IN, and deliver to the
/// protocol, or answer protocol unreachable.
/// </summary>
/// <remarks>Linux: net/ipv4/ip_input.c ip_rcv(), ip_rcv_core(), ip_rcv_finish(), ip_local_deliver(), ip_protocol_deliver_rcu()</remarks>
public sealed class Ipv4Input
{
    private readonly IpMib _mib;
    private readonly IIpProtocol?[] _protocols = new IIpProtocol?[256];

    public Ipv4Input(SnmpMib mib, AddressTable addresses, NetfilterHooks hooks, Reassembler reassembler)
    {
        _mib = mib.Ip;
        Addresses = addresses;
        Hooks = hooks;
        Reassembler = reassembler;
    }

    public AddressTable Addresses { get; }
    public NetfilterHooks Hooks { get; }
    public Reassembler Reassembler { get; }
    public Icmp? Icmp { get; set; }

    public void Register(IIpProtocol protocol) => _protocols[protocol.Protocol] = protocol;

    public IIpProtocol? Protocol(byte number) => _protocols[number];

    /// <summary>
    /// ip_rcv(): takes ownership; skb->data is at the IP header (the Ethernet header was pulled). A packet from lo
    /// keeps the output route that sent it there (netif_keep_dst), so it is delivered without an input route; on any
    /// other device a loopback source or destination is martian and dropped.
    /// </summary>
    /// <remarks>Linux: net/ipv4/ip_input.c ip_rcv_finish_core() (skb_valid_dst); net/ipv4/route.c ip_route_input_slow() (martian_source, martian_destination)</remarks>
    public void Receive(SkBuff skb, bool otherHost, bool fromLoopback = false)
    {
        _mib.InReceives++;
        _mib.InOctets += skb.Len;
        if (otherHost)
        {
            skb.Free(SkbDropReason.OtherHost);
            return;
        }
        skb.NetworkHeader = skb.DataOffset;
        var data = skb.Data;
        if (!Ipv4Packet.TryCreate(data, out var ip))
        {
            _mib.InHdrErrors++;
            skb.Free(SkbDropReason.IpInHdrErrors);
            return;
        }
        if (!ip.VerifyChecksum())
        {
            _mib.InCsumErrors++;
            _mib.InHdrErrors++;
            skb.Free(SkbDropReason.IpCsum);
            return;
        }
        int total = ip.TotalLength;
        if (skb.Len < total)
        {
            _mib.InTruncatedPkts++;
            skb.Free(SkbDropReason.PktTooSmall);
            return;
        }
        if (total < ip.HeaderLength)
        {
            _mib.InHdrErrors++;
            skb.Free(SkbDropReason.IpInHdrErrors);
            return;
        }
        skb.Trim(total); // Ethernet padding goes
        if (Hooks.Run(NfHook.PreRouting, skb) == NfVerdict.Drop)
        {
            skb.Free(SkbDropReason.NetfilterDrop);
            return;
        }
        var dst = ip.Destination;
        if (!fromLoopback && (dst.IsLoopback || ip.Source.IsLoopback))
        {
            skb.Free(dst.IsLoopback ? SkbDropReason.IpInvalidDest : SkbDropReason.IpInvalidSource);
            return;
        }
        if (!Addresses.IsLocal(dst) && !Addresses.IsBroadcast(dst))
        {
            // No forwarding: ip_error() counts the packet and drops it without an ICMP.
            _mib.InAddrErrors++;
            skb.Free(SkbDropReason.IpInAddrErrors);
            return;
        }
        LocalDeliver(skb);
    }

    /// <summary>ip_local_deliver(): reassemble, LOCAL_IN, then the protocol handler.</summary>
    private void LocalDeliver(SkBuff skb)
    {
        Ipv4Packet.TryCreate(skb.Data, out var ip);
        if (ip.IsFragment)
        {
            var whole = Reassembler.Defrag(skb);
            if (whole is null) return;
            skb = whole;
            Ipv4Packet.TryCreate(skb.Data, out ip);
        }
        if (Hooks.Run(NfHook.LocalIn, skb) == NfVerdict.Drop)
        {
            skb.Free(SkbDropReason.NetfilterDrop);
            return;
        }
        var source = ip.Source;
        var destination = ip.Destination;
        byte protocol = ip.Protocol;
        skb.Pull(ip.HeaderLength);
        skb.TransportHeader = skb.DataOffset;

        var handler = _protocols[protocol];
        if (handler is null)
        {
            _mib.InUnknownProtos++;
            if (Addresses.IsLocal(destination)) Icmp?.SendError(skb, IcmpType.DestinationUnreachable, IcmpCode.ProtocolUnreachable);
            skb.Free(SkbDropReason.Unhandled);
            return;
        }
        _mib.InDelivers++;
        handler.Receive(skb, source, destination);
    }
}
