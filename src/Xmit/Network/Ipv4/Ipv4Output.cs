using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Neighbour;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>
/// The IPv4 output chain: build the header, ip_local_out (total length, checksum) → LOCAL_OUT hook →
/// ip_output → POST_ROUTING hook → ip_finish_output (fragment when over the MTU and DF allows) →
/// ip_finish_output2 → neighbour output. Every method takes ownership of the skb and returns 0, a
/// positive NET_XMIT code from the device, or a negative errno.
/// </summary>
public sealed class Ipv4Output
{
    private readonly SkBuffPool _pool;
    private readonly IpMib _mib;

    public Ipv4Output(SkBuffPool pool, SnmpMib mib, RouteTable routes, AddressTable addresses, NetfilterHooks hooks, IpIdentGenerator ident, NeighbourTable neighbours, Arp arp)
    {
        _pool = pool;
        _mib = mib.Ip;
        Routes = routes;
        Addresses = addresses;
        Hooks = hooks;
        Ident = ident;
        Neighbours = neighbours;
        Arp = arp;
    }

    public RouteTable Routes { get; }
    public AddressTable Addresses { get; }
    public NetfilterHooks Hooks { get; }
    public IpIdentGenerator Ident { get; }
    public NeighbourTable Neighbours { get; }
    public Arp Arp { get; }

    /// <summary>
    /// Routes, pushes an IPv4 header in front of the transport data at skb->data, chooses DF and the IP ID,
    /// and sends the packet through <see cref="LocalOut"/>. Takes ownership.
    /// </summary>
    /// <remarks>Linux: net/ipv4/ip_output.c __ip_make_skb() header part, ip_send_skb(); include/net/ip.h ip_select_ident_segs()</remarks>
    public int Send(SkBuff skb, in IpSendParams p)
    {
        var route = Routes.Lookup(p.Destination);
        if (route is null)
        {
            _mib.OutNoRoutes++;
            skb.Free(SkbDropReason.IpOutNoRoutes);
            return NetXmit.FromErrno(Errno.ENETUNREACH);
        }
        var source = p.Source.IsUnspecified ? SourceFor(route, p.Destination) : p.Source;

        int mtu = route.EffectiveMtu;
        int length = skb.Len + Ipv4Packet.MinHeaderLength;
        bool df = PmtuDiscRules.SetsDf(p.PmtuMode, length, mtu);
        skb.IgnoreDf = PmtuDiscRules.IgnoreDf(p.PmtuMode);

        ushort id = Ident.Select(p.SocketIdent, df, skb.IgnoreDf, p.Destination, source, p.Protocol);

        var header = skb.Push(Ipv4Packet.MinHeaderLength);
        skb.NetworkHeader = skb.DataOffset;
        new Ipv4Repr(source, p.Destination, p.Protocol, length - Ipv4Packet.MinHeaderLength, p.Ttl, p.Tos, id, df).Emit(header);
        return LocalOut(skb, route);
    }

    /// <summary>The source address for a packet on <paramref name="route"/>: the route's preferred source, else the device's address for the destination.</summary>
    /// <remarks>Linux: include/net/ip_fib.h fib_result_prefsrc(); net/ipv4/devinet.c inet_select_addr()</remarks>
    public Ipv4Address SourceFor(Route route, Ipv4Address destination) =>
        route.PreferredSource.IsUnspecified ? Addresses.SelectSource(route.Device, destination) : route.PreferredSource;

    /// <summary>ip_local_out(): set total length and checksum, run LOCAL_OUT, then dst_output.</summary>
    /// <remarks>Linux: net/ipv4/ip_output.c __ip_local_out(), ip_local_out()</remarks>
    public int LocalOut(SkBuff skb, Route route)
    {
        if (!Ipv4Packet.TryCreate(skb.Data, out var ip)) ThrowHelper.Bug("ip_local_out without an IPv4 header at skb->data");
        ip.TotalLength = (ushort)skb.Len;
        ip.FillChecksum();
        skb.NetworkHeader = skb.DataOffset;
        skb.Protocol = EtherType.Ipv4;
        _mib.OutRequests++;
        if (Hooks.Run(NfHook.LocalOut, skb) == NfVerdict.Drop)
        {
            skb.Free(SkbDropReason.NetfilterDrop);
            return NetXmit.FromErrno(Errno.EPERM);
        }
        return Output(skb, route);
    }

    /// <summary>ip_output(): POST_ROUTING, then ip_finish_output.</summary>
    /// <remarks>Linux: net/ipv4/ip_output.c ip_output()</remarks>
    public int Output(SkBuff skb, Route route)
    {
        if (!route.Device.IsUp)
        {
            _mib.OutDiscards++;
            skb.Free(SkbDropReason.DevReady);
            return NetXmit.FromErrno(Errno.ENETDOWN);
        }
        if (Hooks.Run(NfHook.PostRouting, skb) == NfVerdict.Drop)
        {
            skb.Free(SkbDropReason.NetfilterDrop);
            return NetXmit.FromErrno(Errno.EPERM);
        }
        return FinishOutput(skb, route);
    }

    /// <summary>ip_finish_output(): fragment if the packet is larger than the route's MTU.</summary>
    /// <remarks>Linux: net/ipv4/ip_output.c __ip_finish_output(), ip_fragment()</remarks>
    private int FinishOutput(SkBuff skb, Route route)
    {
        int mtu = route.EffectiveMtu;
        if (skb.IsGso)
        {
            // ip_finish_output_gso(): segments that fit the MTU go down as one skb; the device (or the stack
            // just before it) cuts them. UDP refuses larger segments before this point.
            int l4Header = skb.GsoType == GsoType.TcpV4 ? (skb.Head[skb.TransportHeader + 12] >> 4) * 4 : UdpDatagram.HeaderLength;
            int segmentLength = skb.TransportHeader - skb.NetworkHeader + l4Header + skb.GsoSize;
            if (segmentLength <= mtu) return FinishOutput2(skb, route);
            _mib.FragFails++;
            skb.Free(SkbDropReason.IpFragFails);
            return NetXmit.FromErrno(Errno.EMSGSIZE);
        }
        if (skb.Len <= mtu) return FinishOutput2(skb, route);

        var ip = Header(skb);
        if (ip.DontFragment && !skb.IgnoreDf)
        {
            // The sender asked for DF and may not be fragmented: EMSGSIZE. Linux also sends itself an ICMP
            // frag-needed here; Xmit skips that loop-back (a frag-needed that arrives updates the route: Route.UpdatePmtu).
            _mib.FragFails++;
            skb.Free(SkbDropReason.IpFragFails);
            return NetXmit.FromErrno(Errno.EMSGSIZE);
        }
        return Fragment(skb, route, mtu);
    }

    /// <summary>
    /// ip_do_fragment(): the fast path reuses a frag list already cut to size (from ip_append_data), the slow
    /// path copies into new skbs. Fragments other than the last carry (mtu − hlen) rounded down to 8 bytes;
    /// all carry the same ID, MF on all but the last, DF clear. A failed fragment aborts the rest.
    /// </summary>
    /// <remarks>Linux: net/ipv4/ip_output.c ip_do_fragment(), ip_fraglist_init(), ip_fraglist_prepare(), ip_frag_next()</remarks>
    public int Fragment(SkBuff skb, Route route, int mtu)
    {
        var ip = Header(skb);
        int hlen = ip.HeaderLength;
        int space = mtu - hlen;
        if (space < 8)
        {
            _mib.FragFails++;
            skb.Free(SkbDropReason.IpFragFails);
            return NetXmit.FromErrno(Errno.EMSGSIZE);
        }
        if (skb.FragList is not null && FastPathFits(skb, hlen, space, route.Device.LinkReserve))
            return FragmentFast(skb, route, hlen);
        return FragmentSlow(skb, route, hlen, space);
    }

    private static bool FastPathFits(SkBuff skb, int hlen, int space, int linkReserve)
    {
        int firstLen = skb.Len - FragListBytes(skb);
        var ip = Header(skb);
        if (firstLen - hlen > space || ((firstLen - hlen) & 7) != 0 || ip.IsFragment || skb.IsCloned || skb.Headroom < linkReserve)
            return false;
        for (var f = skb.FragList; f is not null; f = f.NextInChain)
        {
            if (f.Len > space || (f.Len & 7) != 0 && f.NextInChain is not null || f.Headroom < hlen + linkReserve || f.IsCloned)
                return false;
        }
        return true;
    }

    private static int FragListBytes(SkBuff skb)
    {
        int n = 0;
        for (var f = skb.FragList; f is not null; f = f.NextInChain) n += f.Len;
        return n;
    }

    private int FragmentFast(SkBuff skb, Route route, int hlen)
    {
        var owner = skb.Sk;
        // Each fragment becomes its own packet, charged to the socket on its own (sock_wfree each).
        var frag = skb.DetachFragList();
        for (var f = frag; f is not null; f = f.NextInChain)
        {
            skb.Truesize -= f.Truesize;
            if (owner is not null) { f.Sk = owner; f.Destructor = skb.Destructor; }
        }
        var ip = Header(skb);
        ip.TotalLength = (ushort)skb.Len;
        ip.FragmentField = (ushort)(frag is null ? 0 : Ipv4Packet.FlagMf);
        ip.FillChecksum();

        int offset = 0;
        var current = skb;
        int err;
        while (true)
        {
            // Like ip_fraglist_prepare(): the next fragment gets its header before the current one goes out,
            // but stays on the list until then, so a failure frees it with the rest.
            if (frag is not null)
            {
                offset += current.Len - hlen;
                PrepareFollowingFragment(current, frag, hlen, offset, last: frag.NextInChain is null);
            }
            err = FinishOutput2(current, route);
            if (err == 0) _mib.FragCreates++;
            if (err != 0 || frag is null) break;
            current = frag;
            frag = frag.NextInChain;
            current.Next = null;
        }
        if (err == 0)
        {
            _mib.FragOKs++;
            return 0;
        }
        while (frag is not null)
        {
            var n = frag.NextInChain;
            frag.Next = null;
            frag.Free(SkbDropReason.IpFragFails);
            frag = n;
        }
        _mib.FragFails++;
        return err;
    }

    /// <summary>ip_fraglist_prepare(): copy the header in front of the next fragment and set its offset and MF.</summary>
    private static void PrepareFollowingFragment(SkBuff previous, SkBuff frag, int hlen, int offset, bool last)
    {
        previous.Data[..hlen].CopyTo(frag.Push(hlen));
        frag.NetworkHeader = frag.DataOffset;
        frag.CopyMetadataFrom(previous);
        frag.NetworkHeader = frag.DataOffset;
        frag.MacHeader = -1;
        var ip = Header(frag);
        ip.TotalLength = (ushort)frag.Len;
        ip.FragmentField = (ushort)((offset >> 3) | (last ? 0 : Ipv4Packet.FlagMf));
        ip.FillChecksum();
    }

    private int FragmentSlow(SkBuff skb, Route route, int hlen, int space)
    {
        var ip = Header(skb);
        int baseOffset = ip.FragmentOffset;
        bool notLastFrag = ip.MoreFragments;
        int left = skb.Len - hlen;
        int ptr = hlen;
        int offset = baseOffset;
        int linkReserve = route.Device.LinkReserve;
        int err = 0;

        while (left > 0)
        {
            int len = Math.Min(left, space);
            if (len < left) len &= ~7;

            // ip_frag_next(): a new skb with room for the link header, charged to the same socket.
            var frag = _pool.Alloc(len + hlen + linkReserve);
            frag.CopyMetadataFrom(skb);
            frag.Reserve(linkReserve);
            var data = frag.Put(len + hlen);
            frag.NetworkHeader = frag.DataOffset;
            frag.MacHeader = -1;
            skb.Sk?.SetOwnerW(frag);
            skb.Data[..hlen].CopyTo(data);
            skb.CopyBits(ptr, data.Slice(hlen, len));
            left -= len;
            var fip = Header(frag);
            fip.FragmentField = (ushort)((offset >> 3) | (left > 0 || notLastFrag ? Ipv4Packet.FlagMf : 0));
            fip.TotalLength = (ushort)(len + hlen);
            fip.FillChecksum();
            ptr += len;
            offset += len;

            err = FinishOutput2(frag, route);
            if (err != 0) break;
            _mib.FragCreates++;
        }
        if (err == 0)
        {
            skb.Consume();
            _mib.FragOKs++;
            return 0;
        }
        skb.Free(SkbDropReason.IpFragFails);
        _mib.FragFails++;
        return err;
    }

    /// <summary>ip_finish_output2(): find or create the neighbour for the next hop and hand the packet to it.</summary>
    /// <remarks>Linux: net/ipv4/ip_output.c ip_finish_output2()</remarks>
    private int FinishOutput2(SkBuff skb, Route route)
    {
        var dev = route.Device;
        if (skb.Headroom < dev.LinkReserve) ThrowHelper.Bug("no headroom for the link header (skb_expand_head is not modelled)");
        _mib.OutTransmits++;
        _mib.OutOctets += skb.Len;
        var dst = Header(skb).Destination;
        var n = Arp.NeighbourFor(dev, route.NextHop(dst));
        if (n is null)
        {
            // ip_finish_output2(): no neighbour could be created (the table is full).
            skb.Free(SkbDropReason.NeighCreateFail);
            return NetXmit.Drop;
        }
        return Neighbours.Output(n, skb);
    }

    private static Ipv4Packet Header(SkBuff skb)
    {
        if (!Ipv4Packet.TryCreate(skb.Data, out var ip)) ThrowHelper.Bug("expected an IPv4 header at skb->data");
        return ip;
    }
}
