using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Buffers;

/// <summary>How much of the checksum work is still to be done for an outgoing skb, or was done for an incoming one.</summary>
/// <remarks>Linux: include/linux/skbuff.h CHECKSUM_NONE / CHECKSUM_PARTIAL / CHECKSUM_UNNECESSARY / CHECKSUM_COMPLETE</remarks>
public enum ChecksumState : byte
{
    None,
    /// <summary>Transmit: the L4 checksum at <see cref="SkBuff.CsumStart"/>+<see cref="SkBuff.CsumOffset"/> holds the pseudo-header sum; the device (or skb_checksum_help) completes it.</summary>
    Partial,
    /// <summary>Receive: verified already (by hardware or a loopback path).</summary>
    Unnecessary,
}

/// <summary>Called exactly once when an skb is freed, to return what it charged to its owner.</summary>
/// <remarks>Linux: skb->destructor (sock_wfree, sock_rfree, tcp_wfree)</remarks>
public interface ISkbDestructor
{
    void Destruct(SkBuff skb);
}

/// <summary>A socket that skbs are charged to: what skb_set_owner_w() needs from it.</summary>
public interface ISkbOwner
{
    /// <summary>skb_set_owner_w(): charge <paramref name="skb"/>'s truesize to write memory; its destructor gives it back.</summary>
    void SetOwnerW(SkBuff skb);

    /// <summary>sk_tx_queue_mapping: the TX queue this socket's last packet took (-1: none cached).</summary>
    int TxQueueMapping { get; set; }

    /// <summary>
    /// sk_fullsock() with a cached route (sk_dst_cache): netdev_pick_tx() remembers the queue only for such a socket.
    /// It is also what sch_fq tests (sk_state != TCP_CLOSE) to give a socket one flow rather than a flow per hash.
    /// </summary>
    bool CachesTxQueue { get; }

    /// <summary>sk_pacing_rate in bytes per second (ulong.MaxValue: unlimited, as for a socket that does not pace).</summary>
    ulong SkPacingRate { get; }

    /// <summary>sk_pacing_status: who paces the socket — nobody, TCP itself (SO_MAX_PACING_RATE), or an fq qdisc that took its packets.</summary>
    SkPacingStatus PacingStatus { get; set; }
}

/// <summary>sk_pacing_status.</summary>
/// <remarks>Linux: include/net/sock.h enum sk_pacing</remarks>
public enum SkPacingStatus : byte
{
    /// <summary>SK_PACING_NONE: no departure times are kept.</summary>
    None,
    /// <summary>SK_PACING_NEEDED: TCP paces itself with a timer (tcp_pacing_check), set by SO_MAX_PACING_RATE.</summary>
    Needed,
    /// <summary>SK_PACING_FQ: an fq qdisc honours the departure times TCP sets.</summary>
    Fq,
}

/// <summary>The TCP scoreboard bits of a sent skb (tcp_skb_cb sacked, TCPCB_SACKED_ACKED …).</summary>
/// <remarks>Linux: include/net/tcp.h TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS, TCPCB_LOST</remarks>
[Flags]
public enum TcpSacked : byte
{
    None = 0,
    /// <summary>The peer SACKed it.</summary>
    Acked = 0x01,
    /// <summary>It was retransmitted (and the retransmission is still out).</summary>
    Retrans = 0x02,
    /// <summary>It is considered lost (RTO, RACK or a duplicate-ACK count).</summary>
    Lost = 0x04,
    /// <summary>TCPCB_EVER_RETRANS: it was retransmitted at some time (kept when the retransmission is lost or SACKed).</summary>
    EverRetrans = 0x08,
}

/// <summary>What a qdisc keeps per skb while it holds it (Linux: qdisc_skb_cb's data, e.g. sch_fq's fq_skb_cb).</summary>
internal struct QdiscControlBlock
{
    public Time.Instant TimeToSend;
    public byte Band;
}

/// <summary>Per-layer scratch space that travels with the skb, like Linux's skb->cb[48].</summary>
public struct SkbControlBlock
{
    /// <summary>IP fragment offset in bytes (reassembly), or other per-layer integer.</summary>
    public int Offset;
    /// <summary>Per-layer flags.</summary>
    public int Flags;
    /// <summary>TCP: the sequence range the skb covers (tcp_skb_cb seq / end_seq, SYN and FIN count one).</summary>
    public TcpSeq Seq, EndSeq;
    /// <summary>TCP: header flags to send with the skb (tcp_skb_cb tcp_flags).</summary>
    public byte TcpFlags;
    /// <summary>TCP: the scoreboard bits (tcp_skb_cb sacked).</summary>
    public TcpSacked Sacked;
    /// <summary>TCP: when the skb was last sent (skb->skb_mstamp_ns).</summary>
    public Instant SentAt;
    /// <summary>
    /// Receive: the page fragments the skb holds as Linux would have built it (0: all its data in the linear
    /// head), which skb_try_coalesce counts against MAX_SKB_FRAGS.
    /// </summary>
    public int RxFrags;
    /// <summary>Receive: the linear head is a page fragment (head_frag), which coalescing may steal as one more fragment.</summary>
    public bool RxHeadFrag;
    /// <summary>Receive: the truesize of the head alone (SKB_TRUESIZE(skb_end_offset)); the rest moves with the fragments.</summary>
    public int RxHeadTruesize;
    /// <summary>
    /// TCP send: where the segment's first data byte sits in its sender's 32 KiB page-fragment page (tcp_sendmsg fills
    /// those pages in stream order), so a receiver on veth or loopback counts one fragment per page it crosses.
    /// </summary>
    public int TxPageOffset;
    /// <summary>TCP receive: the TOS byte of the segment's IP header (tcp_skb_cb ip_dsfield), for its ECN field.</summary>
    public byte IpDsfield;
}

/// <summary>
/// The one packet buffer type, shaped like Linux's sk_buff: a linear head with headroom for every
/// header below, optional page fragments and a frag list, truesize accounting, an owner socket with
/// a destructor, and clones that share data. Instances are pooled: get one from a
/// <see cref="SkBuffPool"/> and give it back with <see cref="Free"/> or <see cref="Consume"/>.
/// Whoever holds an skb owns it: passing it to a method documented "takes ownership" hands it over,
/// and the caller must not touch it afterwards.
/// </summary>
/// <remarks>Linux: include/linux/skbuff.h struct sk_buff</remarks>
public sealed class SkBuff
{
    /// <summary>MAX_SKB_FRAGS with 4 KiB pages.</summary>
    public const int MaxFrags = 17;

    internal SkbShared? Shared;
    private int _data;
    private int _tail;

    internal SkBuff(SkBuffPool pool, int serial)
    {
        Pool = pool;
        Serial = serial;
    }

    public SkBuffPool Pool { get; }

    /// <summary>
    /// Which of its pool's heads this is (1, 2, …, in the order the pool made them): the skbaddr of the tracepoints.
    /// A reused head keeps its number, as a reused sk_buff keeps its address; the same run numbers them the same.
    /// </summary>
    public int Serial { get; }

    /// <summary>True while the skb is out of the pool.</summary>
    public bool InUse { get; internal set; }

    /// <summary>Total bytes: linear part plus paged fragments plus frag list.</summary>
    public int Len { get; private set; }

    /// <summary>Bytes that are not in the linear head (fragments and frag list).</summary>
    public int DataLen { get; private set; }

    /// <summary>skb_headlen(): bytes in the linear head.</summary>
    public int HeadLen => _tail - _data;

    /// <summary>What this skb costs its owner, Linux's skb->truesize.</summary>
    public int Truesize { get; set; }

    /// <summary>skb_headroom().</summary>
    public int Headroom => _data;

    /// <summary>skb_tailroom() (0 for non-linear skbs, as in Linux).</summary>
    public int Tailroom => DataLen != 0 ? 0 : SharedInfo.End - _tail;

    /// <summary>The data is shared with a clone: headers must not be written in place (skb_cow_head).</summary>
    public bool IsCloned => SharedInfo.DataRef > 1;
    public bool IsNonLinear => DataLen != 0;

    // Offsets of the headers, relative to the head buffer (Linux: skb->mac_header etc.).
    public int MacHeader { get; set; } = -1;
    public int NetworkHeader { get; set; } = -1;
    public int TransportHeader { get; set; } = -1;

    /// <summary>Ethertype (skb->protocol).</summary>
    public ushort Protocol { get; set; }

    /// <summary>skb->priority, which selects the pfifo_fast band.</summary>
    public uint Priority { get; set; }

    public uint Mark { get; set; }

    /// <summary>TX queue chosen by netdev_pick_tx().</summary>
    public int QueueMapping { get; set; }

    /// <summary>
    /// skb->hash: the flow hash netdev_pick_tx() spreads over the TX queues — the socket's sk_txhash for its own skbs
    /// (skb_set_hash_from_sk), else computed from the headers on first use (skb_get_hash); 0 means not computed yet.
    /// </summary>
    public uint Hash { get; set; }

    /// <summary>
    /// skb->ooo_okay: nothing of the socket is queued below TCP, so this skb may take another TX queue than the one
    /// the socket cached without reordering the flow.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c __tcp_transmit_skb(); net/core/dev.c netdev_pick_tx()</remarks>
    public bool OooOkay { get; set; }

    public ChecksumState IpSummed { get; set; }

    /// <summary>For <see cref="ChecksumState.Partial"/>: where checksumming starts (offset from the head buffer).</summary>
    public int CsumStart { get; set; }

    /// <summary>For <see cref="ChecksumState.Partial"/>: where the result goes, relative to <see cref="CsumStart"/>.</summary>
    public int CsumOffset { get; set; }

    /// <summary>skb->ignore_df: fragment even if DF is set (local sockets in PMTUDISC_WANT/DONT).</summary>
    public bool IgnoreDf { get; set; }

    /// <summary>When the skb entered the stack (or the layer that last stamped it).</summary>
    public Time.Instant Timestamp { get; set; }

    /// <summary>
    /// skb->tstamp on transmit (Earliest Departure Time): when TCP wants the skb to leave (tcp_wstamp_ns), which fq
    /// honours; <see cref="Time.Instant.Zero"/> means none.
    /// </summary>
    /// <remarks>Linux: include/linux/skbuff.h skb_set_delivery_time(); net/ipv4/tcp_output.c __tcp_transmit_skb()</remarks>
    public Time.Instant DeliveryTime { get; set; }

    /// <summary>qdisc_skb_cb: a qdisc's own per-skb scratch (fq: when the skb may be sent, and its band).</summary>
    internal QdiscControlBlock QdiscCb;

    /// <summary>The owning socket, or null (skb->sk).</summary>
    public ISkbOwner? Sk { get; set; }

    /// <summary>Called once on free (skb->destructor).</summary>
    public ISkbDestructor? Destructor { get; set; }

    public SkbControlBlock Cb;

    // Intrusive links for SkBuffQueue and frag lists (Linux: skb->next/prev).
    internal SkBuff? Next;
    internal SkBuff? Prev;
    internal SkBuffQueue? Queue;

    /// <summary>Where this skb was rented, when the pool tracks allocations.</summary>
    internal string? RentedAt;

    internal SkbShared SharedInfo => Shared ?? ThrowFreed();

    /// <summary>The whole head buffer; offsets like <see cref="NetworkHeader"/> index into it.</summary>
    public byte[] Head => SharedInfo.Buffer;

    /// <summary>skb->data as an offset into <see cref="Head"/>.</summary>
    public int DataOffset => _data;

    /// <summary>skb->tail as an offset into <see cref="Head"/>.</summary>
    public int TailOffset => _tail;

    /// <summary>The linear data from skb->data to skb->tail.</summary>
    public Span<byte> Data => SharedInfo.Buffer.AsSpan(_data, _tail - _data);

    public int NrFrags => SharedInfo.NrFrags;
    public ref SkbFrag Frag(int i) => ref SharedInfo.Frags[i];

    /// <summary>skb_shinfo(skb)->frag_list: further skbs whose data follows this one's.</summary>
    public SkBuff? FragList => SharedInfo.FragList;

    /// <summary>GSO segment size (skb_shinfo()->gso_size), 0 for a non-GSO skb.</summary>
    public int GsoSize { get => SharedInfo.GsoSize; set => SharedInfo.GsoSize = value; }

    /// <summary>skb_shinfo()->gso_type (SKB_GSO_UDP_L4 for UDP_SEGMENT).</summary>
    public GsoType GsoType { get => SharedInfo.GsoType; set => SharedInfo.GsoType = value; }

    /// <summary>skb_zcopy(): the MSG_ZEROCOPY notification the data belongs to, if any.</summary>
    public Sockets.ZerocopyArg? Zerocopy => SharedInfo.Uarg;

    /// <summary>skb_zcopy_set(): the data now belongs to <paramref name="uarg"/> (a reference is taken; nothing if it already has one).</summary>
    internal void ZerocopySet(Sockets.ZerocopyArg uarg)
    {
        bool noRefToHand = false;
        ZerocopySet(uarg, ref noRefToHand);
    }

    /// <summary>
    /// skb_zcopy_set() with have_ref: the caller's own reference (<paramref name="haveRef"/>) is handed to the skb
    /// rather than a new one taken, once.
    /// </summary>
    internal void ZerocopySet(Sockets.ZerocopyArg uarg, ref bool haveRef)
    {
        var sh = SharedInfo;
        if (sh.Uarg is not null) return;
        if (haveRef) haveRef = false;
        else uarg.Get();
        sh.Uarg = uarg;
    }

    /// <summary>The frags this skb's zerocopy pages take (see <see cref="SkbShared.ZerocopyPages"/>).</summary>
    internal int ZerocopyPages { get => SharedInfo.ZerocopyPages; set => SharedInfo.ZerocopyPages = value; }

    /// <summary>skb_zerocopy_clone(): a new skb made from <paramref name="from"/>'s data belongs to the same notification.</summary>
    internal void ZerocopyCloneFrom(SkBuff from)
    {
        if (from.SharedInfo.Uarg is { } uarg) ZerocopySet(uarg);
    }

    /// <summary>skb_shinfo()->tx_flags.</summary>
    public SkbTxFlags TxFlags { get => SharedInfo.TxFlags; set => SharedInfo.TxFlags = value; }

    /// <summary>skb_shinfo()->tskey.</summary>
    public uint TsKey { get => SharedInfo.TsKey; set => SharedInfo.TsKey = value; }

    /// <summary>skb_is_gso().</summary>
    public bool IsGso => SharedInfo.GsoSize != 0;

    public Span<byte> NetworkHeaderSpan => SharedInfo.Buffer.AsSpan(NetworkHeader, _tail - NetworkHeader);
    public Span<byte> TransportHeaderSpan => SharedInfo.Buffer.AsSpan(TransportHeader, _tail - TransportHeader);
    public Span<byte> MacHeaderSpan => SharedInfo.Buffer.AsSpan(MacHeader, _tail - MacHeader);

    /// <summary>skb_reserve(): moves data and tail forward to leave headroom. Only on an empty skb.</summary>
    public void Reserve(int len)
    {
        if (Len != 0 || _tail + len > SharedInfo.End) ThrowHelper.Bug("skb_reserve on a non-empty or too small skb");
        _data += len;
        _tail += len;
    }

    /// <summary>skb_put(): extends the linear data at the tail and returns the new bytes.</summary>
    public Span<byte> Put(int len)
    {
        if (DataLen != 0) ThrowHelper.Bug("skb_put on a non-linear skb");
        if (_tail + len > SharedInfo.End) ThrowHelper.Bug($"skb_over_panic: put {len} with tailroom {SharedInfo.End - _tail}");
        int at = _tail;
        _tail += len;
        Len += len;
        return SharedInfo.Buffer.AsSpan(at, len);
    }

    /// <summary>skb_push(): claims <paramref name="len"/> bytes of headroom for a header and returns them.</summary>
    public Span<byte> Push(int len)
    {
        if (len > _data) ThrowHelper.Bug($"skb_under_panic: push {len} with headroom {_data}");
        _data -= len;
        Len += len;
        return SharedInfo.Buffer.AsSpan(_data, len);
    }

    /// <summary>skb_pull(): removes <paramref name="len"/> bytes from the front of the linear data.</summary>
    public bool Pull(int len)
    {
        if (len > HeadLen) return false;
        _data += len;
        Len -= len;
        return true;
    }

    /// <summary>skb_trim() for a linear skb: shortens it to <paramref name="len"/> bytes.</summary>
    public void Trim(int len)
    {
        if (DataLen != 0) ThrowHelper.Bug("trim of a non-linear skb");
        if (len < Len)
        {
            _tail = _data + len;
            Len = len;
        }
    }

    /// <summary>pskb_trim(): shortens the skb to <paramref name="len"/> bytes, dropping paged bytes from the end first (no frag list).</summary>
    public void TrimTo(int len)
    {
        if (len >= Len) return;
        var sh = SharedInfo;
        if (sh.FragList is not null) ThrowHelper.Bug("trim of an skb with a frag list");
        int headLen = HeadLen;
        if (len <= headLen)
        {
            for (int i = 0; i < sh.NrFrags; i++) { sh.Frags[i].Page.Put(); sh.Frags[i] = default; }
            sh.NrFrags = 0;
            DataLen = 0;
            _tail = _data + len;
            Len = len;
            return;
        }
        int keep = len - headLen;
        int n = 0;
        while (n < sh.NrFrags && keep > 0)
        {
            if (sh.Frags[n].Size > keep) sh.Frags[n].Size = keep;
            keep -= sh.Frags[n].Size;
            n++;
        }
        for (int i = n; i < sh.NrFrags; i++) { sh.Frags[i].Page.Put(); sh.Frags[i] = default; }
        sh.NrFrags = n;
        DataLen = len - headLen;
        Len = len;
    }

    /// <summary>Adds a page fragment to the paged part. The page reference taken is the caller's to give.</summary>
    /// <remarks>Linux: include/linux/skbuff.h skb_fill_page_desc() (caller does get_page())</remarks>
    public void AddFrag(Page page, int offset, int size, int truesize)
    {
        var sh = SharedInfo;
        if (sh.NrFrags >= MaxFrags) ThrowHelper.Bug("too many frags");
        ref var f = ref sh.Frags[sh.NrFrags++];
        f.Page = page; f.Offset = offset; f.Size = size;
        Len += size;
        DataLen += size;
        Truesize += truesize;
    }

    /// <summary>Grows the last page fragment in place (Linux: skb_frag_size_add after a coalescing copy).</summary>
    public void GrowLastFrag(int size, int truesize)
    {
        var sh = SharedInfo;
        sh.Frags[sh.NrFrags - 1].Size += size;
        Len += size;
        DataLen += size;
        Truesize += truesize;
    }

    /// <summary>Appends <paramref name="child"/> to the frag list, taking ownership. Its length and truesize count towards this skb.</summary>
    public void AppendToFragList(SkBuff child)
    {
        var sh = SharedInfo;
        child.Next = null;
        if (sh.FragList is null) sh.FragList = child;
        else
        {
            var last = sh.FragList;
            while (last.Next is not null) last = last.Next;
            last.Next = child;
        }
        Len += child.Len;
        DataLen += child.Len;
        Truesize += child.Truesize;
    }

    /// <summary>skb_orphan(): the owner's destructor runs now (its charge is returned) and the skb has no owner.</summary>
    public void Orphan()
    {
        Destructor?.Destruct(this);
        Destructor = null;
        Sk = null;
    }

    /// <summary>Detaches and returns the frag list (the caller owns the chain; lengths are adjusted).</summary>
    public SkBuff? DetachFragList()
    {
        var sh = SharedInfo;
        var list = sh.FragList;
        sh.FragList = null;
        for (var f = list; f is not null; f = f.Next)
        {
            Len -= f.Len;
            DataLen -= f.Len;
        }
        return list;
    }

    /// <summary>The next skb in a frag list chain.</summary>
    public SkBuff? NextInChain => Next;

    /// <summary>skb_copy_bits(): copies <paramref name="dest"/>.Length bytes starting at <paramref name="offset"/> (from skb->data) across head, frags and frag list.</summary>
    public bool CopyBits(int offset, Span<byte> dest)
    {
        if (offset < 0 || offset + dest.Length > Len) return false;
        int headLen = HeadLen;
        if (offset < headLen)
        {
            int n = Math.Min(headLen - offset, dest.Length);
            Data.Slice(offset, n).CopyTo(dest);
            dest = dest[n..];
            offset = 0;
        }
        else offset -= headLen;
        var sh = SharedInfo;
        for (int i = 0; i < sh.NrFrags && dest.Length > 0; i++)
        {
            var span = sh.Frags[i].Span;
            if (offset >= span.Length) { offset -= span.Length; continue; }
            int n = Math.Min(span.Length - offset, dest.Length);
            span.Slice(offset, n).CopyTo(dest);
            dest = dest[n..];
            offset = 0;
        }
        for (var f = sh.FragList; f is not null && dest.Length > 0; f = f.Next)
        {
            if (offset >= f.Len) { offset -= f.Len; continue; }
            int n = Math.Min(f.Len - offset, dest.Length);
            f.CopyBits(offset, dest[..n]);
            dest = dest[n..];
            offset = 0;
        }
        return dest.Length == 0;
    }

    /// <summary>
    /// kfree_skb(): frees the skb because it was dropped. The caller's file and member are filled in by the compiler
    /// (constants, nothing computed at run time): they are the location skb:kfree_skb reports, where Linux prints the
    /// return address of the kfree_skb_reason() call.
    /// </summary>
    /// <remarks>Linux: net/core/skbuff.c kfree_skb_reason(), sk_skb_reason_drop()</remarks>
    public void Free(SkbDropReason reason = SkbDropReason.NotSpecified,
        [System.Runtime.CompilerServices.CallerFilePath] string callerFile = "",
        [System.Runtime.CompilerServices.CallerMemberName] string callerMember = "") =>
        Pool.Release(this, reason, callerFile, callerMember);

    /// <summary>consume_skb(): frees the skb after successful use (not a drop).</summary>
    public void Consume() => Pool.Release(this, SkbDropReason.Consumed, "", "");

    // Called by the pool.
    internal void Init(SkbShared shared, int reserve)
    {
        Shared = shared;
        _data = _tail = reserve;
        Len = DataLen = 0;
        InUse = true;
    }

    internal void InitClone(SkBuff original)
    {
        Shared = original.SharedInfo;
        Shared.DataRef++;
        _data = original._data;
        _tail = original._tail;
        Len = original.Len;
        DataLen = original.DataLen;
        CopyMetadataFrom(original);
        Truesize = original.Truesize;
        InUse = true;
    }

    /// <summary>Copies the header offsets and metadata Linux copies in __copy_skb_header() (not owner or destructor).</summary>
    public void CopyMetadataFrom(SkBuff other)
    {
        // Offsets are copied as they are: right for clones (same buffer); callers that copy into a new head set their own.
        MacHeader = other.MacHeader;
        NetworkHeader = other.NetworkHeader;
        TransportHeader = other.TransportHeader;
        Protocol = other.Protocol;
        Priority = other.Priority;
        Mark = other.Mark;
        QueueMapping = other.QueueMapping;
        Hash = other.Hash;
        OooOkay = other.OooOkay;
        IpSummed = other.IpSummed;
        CsumStart = other.CsumStart;
        CsumOffset = other.CsumOffset;
        IgnoreDf = other.IgnoreDf;
        Timestamp = other.Timestamp;
        DeliveryTime = other.DeliveryTime;
    }

    internal void ResetHeadState()
    {
        Shared = null;
        _data = _tail = 0;
        Len = DataLen = 0;
        Truesize = 0;
        MacHeader = NetworkHeader = TransportHeader = -1;
        Protocol = 0; Priority = 0; Mark = 0; QueueMapping = 0; Hash = 0; OooOkay = false;
        IpSummed = ChecksumState.None; CsumStart = CsumOffset = 0;
        IgnoreDf = false;
        Timestamp = default;
        DeliveryTime = default;
        QdiscCb = default;
        Sk = null; Destructor = null;
        Cb = default;
        Next = Prev = null;
        Queue = null;
        RentedAt = null;
        InUse = false;
    }

    private static SkbShared ThrowFreed()
    {
        ThrowHelper.Bug("use of a freed skb");
        return null;
    }

    public override string ToString() => $"skb len={Len} head={HeadLen} data_len={DataLen} truesize={Truesize}";
}

/// <summary>The data buffer and skb_shared_info, shared by an skb and its clones (dataref counts them).</summary>
internal sealed class SkbShared
{
    public byte[] Buffer = [];
    public int End;
    public int DataRef;
    public readonly SkbFrag[] Frags = new SkbFrag[SkBuff.MaxFrags];
    public int NrFrags;
    public SkBuff? FragList;
    public int GsoSize;
    public GsoType GsoType;
    /// <summary>destructor_arg: the MSG_ZEROCOPY notification this data belongs to (one reference per shared info).</summary>
    public Sockets.ZerocopyArg? Uarg;
    /// <summary>
    /// The frags a zerocopy TCP skb's user pages would take (nr_frags; Xmit copies the bytes into the linear buffer,
    /// so only their count is kept): a send's pages never merge with an earlier send's, and MAX_SKB_FRAGS bounds them.
    /// </summary>
    public int ZerocopyPages;
    /// <summary>tx_flags: the transmit timestamps the data asks for.</summary>
    public SkbTxFlags TxFlags;
    /// <summary>tskey: the key a timestamp of this data reports (TCP: the sequence number of its last byte).</summary>
    public uint TsKey;
}

/// <summary>skb_shinfo()->tx_flags (SKBTX_*), and TCP's txstamp_ack, which travels with them.</summary>
/// <remarks>Linux: include/linux/skbuff.h SKBTX_SW_TSTAMP, SKBTX_SCHED_TSTAMP; include/net/tcp.h tcp_skb_cb txstamp_ack</remarks>
[Flags]
public enum SkbTxFlags : byte
{
    None = 0,
    /// <summary>SKBTX_SW_TSTAMP: the driver takes a software timestamp (SCM_TSTAMP_SND).</summary>
    SwTstamp = 1 << 1,
    /// <summary>SKBTX_SCHED_TSTAMP: a timestamp when the packet enters the device layer (SCM_TSTAMP_SCHED).</summary>
    SchedTstamp = 1 << 6,
    /// <summary>txstamp_ack: a timestamp when the peer acknowledges the last byte (SCM_TSTAMP_ACK).</summary>
    AckTstamp = 1 << 7,
    /// <summary>The timestamps a copy of the packet reports when it is sent.</summary>
    AnyTx = SwTstamp | SchedTstamp,
}

/// <summary>What kind of segmentation a GSO skb needs.</summary>
/// <remarks>Linux: include/linux/skbuff.h SKB_GSO_*</remarks>
public enum GsoType : byte
{
    None,
    /// <summary>SKB_GSO_UDP_L4: UDP segmentation (UDP_SEGMENT); each segment is a datagram of its own.</summary>
    UdpL4,
    /// <summary>SKB_GSO_TCPV4: TCP segmentation (TSO); each segment carries gso_size bytes of the stream.</summary>
    TcpV4,
}
