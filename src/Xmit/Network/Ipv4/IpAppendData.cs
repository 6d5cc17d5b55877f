using Xmit.Sockets;
using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Link;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>Message flags the send path looks at.</summary>
[Flags]
public enum MsgFlags
{
    None = 0,
    Oob = 0x1,
    Peek = 0x2,
    DontRoute = 0x4,
    Trunc = 0x20,
    DontWait = 0x40,
    /// <summary>MSG_EOR: for TCP, the data ends a record — later writes start a new skb (tcp_skb_can_collapse_to).</summary>
    Eor = 0x80,
    WaitAll = 0x100,
    Confirm = 0x800,
    More = 0x8000,
    /// <summary>MSG_NOSIGNAL: no SIGPIPE with EPIPE. There are no signals here, so it changes nothing.</summary>
    NoSignal = 0x4000,
    /// <summary>MSG_ERRQUEUE: recvmsg() reads the socket's error queue (zerocopy completions, timestamps, ICMP errors).</summary>
    ErrQueue = 0x2000,
    /// <summary>MSG_ZEROCOPY: send from the caller's pages and report their release on the error queue (needs SO_ZEROCOPY).</summary>
    Zerocopy = 0x4000000,
    /// <summary>MSG_FASTOPEN: for TCP, sendto() connects with the data in the SYN (tcp_sendmsg_fastopen).</summary>
    FastOpen = 0x20000000,
}

/// <summary>
/// Building datagrams from socket data: ip_setup_cork(), __ip_append_data() (fragment-sized skbs, charged
/// to the socket as Linux charges them), __ip_make_skb() (one skb with a frag list and the IP header) and
/// ip_send_skb(). The transport header's room is left in the first skb for the caller to fill.
/// </summary>
public sealed class IpAppendData(SkBuffPool pool, IScheduler clock, SnmpMib mib, Ipv4Output output)
{
    /// <summary>SKB_MAX_ALLOC: SKB_WITH_OVERHEAD(PAGE_SIZE &lt;&lt; 2); above it, data goes to pages even in the first skb.</summary>
    private const int SkbMaxAlloc = 16384 - Truesize.SharedInfo;

    public Ipv4Output Output { get; } = output;

    /// <summary>ip_setup_cork(): remember the route and the header fields; fragsize is the route's MTU.</summary>
    /// <remarks>Linux: net/ipv4/ip_output.c ip_setup_cork()</remarks>
    public static void SetupCork(InetSock sk, IpCork cork, Route route, Ipv4Address source, Ipv4Address destination, ushort dport, int gsoSize = 0)
    {
        cork.GsoSize = gsoSize;
        cork.Route = route;
        cork.Source = source;
        cork.Destination = destination;
        cork.DestinationPort = dport;
        cork.FragSize = sk.PmtuDisc >= PmtuDisc.Probe ? route.Device.Mtu : route.EffectiveMtu;
        cork.Length = 0;
        cork.Tos = sk.Tos;
        cork.Ttl = sk.EffectiveTtl;
        cork.Priority = sk.Priority;
        cork.TxFlags = TxTimestamps.TxFlagsFor(sk.TsFlags);
    }

    /// <summary>
    /// __ip_append_data(): appends <paramref name="transhdrlen"/> bytes of room for the transport header (first
    /// append only) and then <paramref name="data"/> to the datagram in
    /// <paramref name="queue"/>. Returns 0 or a negative errno; on error what was appended by this call is
    /// still queued (the caller flushes) and Ip OutDiscards grows.
    /// </summary>
    /// <remarks>Linux: net/ipv4/ip_output.c __ip_append_data()</remarks>
    public int Append(InetSock sk, IpCork cork, SkBuffQueue queue, ReadOnlySpan<byte> data, int transhdrlen, MsgFlags flags, int optmemMax = 131072)
    {
        var route = cork.Route!;
        var dev = route.Device;
        bool sg = (dev.Features & DeviceFeatures.ScatterGather) != 0;
        int length = data.Length + transhdrlen;
        int hhLen = dev.LinkReserve;
        const int fragheaderlen = Ipv4Packet.MinHeaderLength;
        // A GSO datagram is built as one skb up to IP's maximum, its data in pages; the device cuts it.
        int mtu = cork.GsoSize > 0 ? 65535 : cork.FragSize;
        bool paged = cork.GsoSize > 0;
        int maxfraglen = ((mtu - fragheaderlen) & ~7) + fragheaderlen;
        int maxnonfragsize = PmtuDiscRules.IgnoreDf(sk.PmtuDisc) ? 65535 : mtu;

        if (cork.Length + length > maxnonfragsize - fragheaderlen)
        {
            LocalError(sk, Errno.EMSGSIZE, cork.Destination, (uint)mtu);
            return -(int)Errno.EMSGSIZE;
        }

        // The device may finish the checksum only for a datagram that will not be fragmented or appended to.
        var csummode = transhdrlen > 0 && length + fragheaderlen <= mtu && (dev.Features & DeviceFeatures.HwChecksum) != 0 && ((flags & MsgFlags.More) == 0 || paged)
            ? ChecksumState.Partial : ChecksumState.None;

        var skb = queue.PeekTail();
        // MSG_ZEROCOPY with SO_ZEROCOPY: a notification for this send (extending the pending datagram's). The data
        // goes from the user's pages only to a scatter-gather device that finishes the checksum; otherwise it is
        // copied, and the notification says so.
        ZerocopyArg? uarg = null;
        bool zc = false, extraUref = false;
        if ((flags & MsgFlags.Zerocopy) != 0 && length > 0 && sk.ZerocopyEnabled)
        {
            uarg = ZerocopyArg.Realloc(sk, length, skb?.Zerocopy, stream: false, optmemMax);
            if (uarg is null) return -(int)Errno.ENOBUFS;
            extraUref = skb?.Zerocopy is null; // only a new notification brings a reference of its own
            if (sg && csummode == ChecksumState.Partial) paged = zc = true;
            else
            {
                uarg.MarkCopied();
                skb?.ZerocopySet(uarg, ref extraUref);
            }
        }
        // With OPT_ID every timestamped datagram takes the next key.
        uint tskey = cork.TxFlags != SkbTxFlags.None && (sk.TsFlags & TimestampingFlags.OptId) != 0 ? sk.TsKey++ : 0;

        cork.Length += length;
        long wmemDelta = 0;
        int offset = 0;
        int err = 0;
        bool allocNew = skb is null;

        while (length > 0)
        {
            int copy = 0;
            if (!allocNew)
            {
                copy = mtu - skb!.Len;
                if (copy < length) copy = maxfraglen - skb.Len;
                allocNew = copy <= 0;
            }
            if (allocNew)
            {
                allocNew = false;
                var prev = skb;
                int fraggap = prev is null ? 0 : prev.Len - maxfraglen;
                int datalen = length + fraggap;
                if (datalen > mtu - fragheaderlen) datalen = maxfraglen - fragheaderlen;
                int fraglen = datalen + fragheaderlen;
                int pagedlen = 0;
                int allocExtra = hhLen + 15;
                int alloclen;
                if ((flags & MsgFlags.More) != 0 && !sg) alloclen = mtu;
                else if (!paged && (fraglen + allocExtra < SkbMaxAlloc || !sg)) alloclen = fraglen;
                else
                {
                    alloclen = fragheaderlen + transhdrlen;
                    pagedlen = datalen - transhdrlen;
                }
                alloclen += allocExtra;

                SkBuff? next;
                if (transhdrlen > 0)
                {
                    next = sk.AllocSendSkb(pool, clock, alloclen, (flags & MsgFlags.DontWait) != 0, out var e);
                    if (next is null) { err = -(int)e; break; }
                }
                else
                {
                    // Later fragments may take the socket up to twice its send buffer (the raw refcount has the +1).
                    if (sk.WmemAlloc + 1 + wmemDelta > 2L * sk.SndBuf) { err = -(int)Errno.ENOBUFS; break; }
                    next = pool.Alloc(alloclen);
                }
                next.IpSummed = csummode;
                next.Reserve(hhLen);
                var area = next.Put(fraglen - pagedlen);
                next.NetworkHeader = next.DataOffset;
                next.TransportHeader = next.DataOffset + fragheaderlen;
                int at = fragheaderlen;
                if (fraggap > 0)
                {
                    // The previous skb ran past maxfraglen: its tail moves here so it ends on an 8-byte boundary.
                    prev!.CopyBits(maxfraglen, area.Slice(at + transhdrlen, fraggap));
                    at += fraggap;
                    prev.TrimTo(maxfraglen);
                }
                copy = datalen - transhdrlen - fraggap - pagedlen; // negative with pages: then it is -fraggap
                if (copy > 0) data.Slice(offset, copy).CopyTo(area.Slice(at + transhdrlen));
                offset += copy;
                length -= copy + transhdrlen;
                transhdrlen = 0;
                csummode = ChecksumState.None;
                // Only the datagram's first skb is timestamped; every skb holds the zerocopy notification.
                next.TxFlags = cork.TxFlags;
                cork.TxFlags = SkbTxFlags.None;
                next.TsKey = tskey;
                tskey = 0;
                if (uarg is not null) next.ZerocopySet(uarg, ref extraUref);
                if (next.Destructor is null)
                {
                    sk.AttachWithoutCharge(next);
                    wmemDelta += next.Truesize;
                }
                queue.Enqueue(next);
                skb = next;
                continue;
            }

            if (copy > length) copy = length;
            if (!sg && skb!.Tailroom >= copy)
            {
                data.Slice(offset, copy).CopyTo(skb.Put(copy));
            }
            else
            {
                var pfrag = sk.PageFrag;
                pfrag.Refill(pool);
                if (!pfrag.CanCoalesce(skb!))
                {
                    if (skb!.NrFrags == SkBuff.MaxFrags) { err = -(int)Errno.EMSGSIZE; break; }
                    pfrag.Page!.Get();
                    skb.AddFrag(pfrag.Page, pfrag.Offset, 0, 0);
                }
                copy = Math.Min(copy, pfrag.Size - pfrag.Offset);
                data.Slice(offset, copy).CopyTo(pfrag.Page!.Data.AsSpan(pfrag.Offset, copy));
                pfrag.Offset += copy;
                // skb_zerocopy_iter_dgram(): pinned user pages are charged whole (PAGE_ALIGN(len + offset in the first
                // page); the caller's buffer is taken to start a page). The bytes are still copied: see ZerocopyArg.
                int charge = zc ? (copy + offset % PageSize + PageSize - 1) / PageSize * PageSize : copy;
                skb!.GrowLastFrag(copy, truesize: charge);
                wmemDelta += charge;
            }
            offset += copy;
            length -= copy;
        }

        if (err != 0)
        {
            cork.Length -= length;
            mib.Ip.OutDiscards++;
            uarg?.PutAbort(extraUref); // net_zcopy_put_abort(): the id goes back
        }
        else if (extraUref) uarg!.Put(); // no skb took the new notification's reference
        if (wmemDelta != 0) sk.ChargeWrite(wmemDelta);
        return err;
    }

    /// <summary>
    /// ip_local_error(): with IP_RECVERR, an error the host found itself (a datagram over the MTU) is queued too — no
    /// data, the destination and the socket's connected port (inet_dport, 0 unconnected) as msg_name, the MTU as
    /// ee_info, no offender. It does not set sk_err.
    /// </summary>
    /// <remarks>Linux: net/ipv4/ip_sockglue.c ip_local_error()</remarks>
    private static void LocalError(InetSock sk, Errno err, Ipv4Address destination, uint info)
    {
        if (!sk.RecvErr) return;
        var ee = new SockExtendedErr((int)err, ErrOrigin.Local, 0, 0, info, 0);
        sk.QueueErrorCharged(new ErrorQueueEntry(ee, null, 0, Truesize.ForAllocSkb(Ipv4Packet.MinHeaderLength), chargedToRmem: true)
        {
            Name = (destination, sk.RemotePort),
        });
    }

    /// <summary>PAGE_SIZE: what a pinned user page costs the send buffer.</summary>
    private const int PageSize = 4096;

    /// <summary>
    /// __ip_make_skb(): the queued skbs become one: the first carries the IP header and the rest hang on its
    /// frag list (their truesize moves to it, so one destructor returns it all). Sets DF, TTL, TOS, the IP ID
    /// and the priority. Returns null for an empty queue.
    /// </summary>
    /// <remarks>Linux: net/ipv4/ip_output.c __ip_make_skb()</remarks>
    public SkBuff? MakeSkb(InetSock sk, IpCork cork, SkBuffQueue queue, byte protocol)
    {
        var skb = queue.Dequeue();
        if (skb is null) return null;
        int hlen = skb.TransportHeader - skb.NetworkHeader;
        while (queue.Dequeue() is { } tmp)
        {
            tmp.Pull(hlen);
            tmp.Destructor = null;
            tmp.Sk = null;
            skb.AppendToFragList(tmp);
        }
        var route = cork.Route!;
        skb.IgnoreDf = PmtuDiscRules.IgnoreDf(sk.PmtuDisc);
        bool df = PmtuDiscRules.SetsDf(sk.PmtuDisc, skb.Len, route.EffectiveMtu);
        // A connected socket numbers its own datagrams (all fragments of one share the ID); UDP takes the
        // incremented value (atomic_add_return).
        ushort? own = sk.IsConnected ? ++sk.InetId : null;
        ushort id = Output.Ident.Select(own, df, skb.IgnoreDf, cork.Destination, cork.Source, protocol);

        new Ipv4Repr(cork.Source, cork.Destination, protocol, skb.Len - hlen, cork.Ttl, cork.Tos, id, df)
            .Emit(skb.Data[..Ipv4Packet.MinHeaderLength]);
        skb.Priority = cork.Priority;
        skb.Protocol = EtherType.Ipv4;
        return skb;
    }

    /// <summary>ip_send_skb(): ip_local_out, and a device drop becomes ENOBUFS and an Ip OutDiscards.</summary>
    /// <remarks>Linux: net/ipv4/ip_output.c ip_send_skb()</remarks>
    public int SendSkb(SkBuff skb, Route route)
    {
        int err = Output.LocalOut(skb, route);
        if (err > 0) err = NetXmit.ToErrno(err);
        if (err != 0) mib.Ip.OutDiscards++;
        return err;
    }

    /// <summary>__ip_flush_pending_frames(): free what was queued (its memory returns through the destructors).</summary>
    public static void Flush(IpCork cork, SkBuffQueue queue)
    {
        queue.Purge(SkbDropReason.Consumed);
        cork.Release();
    }
}
