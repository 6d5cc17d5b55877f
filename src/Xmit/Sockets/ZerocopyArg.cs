using Xmit.Buffers;

namespace Xmit.Sockets;

/// <summary>
/// One MSG_ZEROCOPY notification in the making (struct ubuf_info_msgzc): the range of send ids [Id, Id+Len-1] it will
/// report, whether every byte really left from the user's pages, and a reference for each skb whose data it covers
/// plus one for the send call that is filling it. When the last reference goes — the last skb holding the data is
/// freed, for TCP when the peer has acknowledged it — the range is reported on the socket's error queue, merged into
/// the message at its tail when the ranges touch. Its own skb (the notification) is charged to sk_omem_alloc from
/// the send that allocated it until the message is read.
/// </summary>
/// <remarks>
/// The bytes themselves are still copied into the skb: a .NET span gives no hold on the caller's memory after the
/// call returns. What Linux's user-visible behaviour depends on — ids, ranges, the COPIED code, optmem, EPOLLERR and
/// when the notification arrives — follows the kernel.
/// Linux: net/core/skbuff.c msg_zerocopy_alloc(), msg_zerocopy_realloc(), __msg_zerocopy_callback(),
/// skb_zerocopy_notify_extend(), msg_zerocopy_put_abort(); include/linux/skbuff.h skb_zcopy_set(), net_zcopy_get()
/// </remarks>
public sealed class ZerocopyArg
{
    /// <summary>"limit to a few TSO": a notification covers at most 512 KiB of sends.</summary>
    private const long ByteLimit = 1 << 19;

    /// <summary>A range holds fewer than USHRT_MAX ids.</summary>
    private const int MaxLen = ushort.MaxValue - 1;

    private readonly Sock _sk;
    private readonly int _truesize;
    private int _refs = 1;
    private long _byteLen;

    private ZerocopyArg(Sock sk, long size, int truesize)
    {
        _sk = sk;
        _truesize = truesize;
        Id = sk.ZcKey++;
        Len = 1;
        _byteLen = size;
    }

    /// <summary>The first send id the notification reports (ee_info).</summary>
    public uint Id { get; }

    /// <summary>How many sends it covers (ee_data is Id + Len - 1).</summary>
    public int Len { get; private set; }

    /// <summary>False once any of its data had to be copied (the message then carries SO_EE_CODE_ZEROCOPY_COPIED).</summary>
    public bool Zerocopy { get; private set; } = true;

    /// <summary>
    /// msg_zerocopy_realloc(): for a send of <paramref name="size"/> bytes, extend <paramref name="last"/> (the uarg of
    /// the skb the data would join) when it was the socket's latest and the limits allow, else a new one; null
    /// (ENOBUFS) when option memory is exhausted, or for a datagram socket that cannot extend.
    /// </summary>
    internal static ZerocopyArg? Realloc(Sock sk, long size, ZerocopyArg? last, bool stream, int optmemMax)
    {
        if (last is not null)
        {
            if (last.Len == MaxLen || last._byteLen + size > ByteLimit)
            {
                if (!stream) return null; // TCP can start a new skb for a new uarg
            }
            else if (last.Id + (uint)last.Len == sk.ZcKey)
            {
                last.Len++;
                last._byteLen += size;
                sk.ZcKey++;
                if (stream) last._refs++; // the send call's own reference (a datagram append shares the skb's)
                return last;
            }
        }
        int truesize = Truesize.ForAllocSkb(0);
        return sk.TryChargeOmem(truesize, optmemMax) ? new ZerocopyArg(sk, size, truesize) : null;
    }

    /// <summary>net_zcopy_get(): another skb holds the data.</summary>
    internal void Get() => _refs++;

    /// <summary>net_zcopy_put(): a holder let go; the last one reports the range.</summary>
    internal void Put()
    {
        if (--_refs == 0) Complete();
    }

    /// <summary>
    /// msg_zerocopy_put_abort(): the send that took an id sent nothing, so the id is given back, and the send's own
    /// reference goes when it still holds one (<paramref name="haveRef"/>).
    /// </summary>
    internal void PutAbort(bool haveRef = true)
    {
        _sk.ZcKey--;
        Len--;
        if (haveRef) Put();
    }

    /// <summary>skb_zcopy_clear(skb, false) from skb_copy_ubufs(): a device copied the pages (tun, veth and lo deliver copies).</summary>
    internal void MarkCopied() => Zerocopy = false;

    /// <summary>__msg_zerocopy_callback(): the range joins the error queue, or extends the zerocopy message at its tail.</summary>
    private void Complete()
    {
        if (Len == 0 || _sk.Dead)
        {
            _sk.UnchargeOmem(_truesize);
            return;
        }
        uint lo = Id, hi = Id + (uint)Len - 1;
        var tail = _sk.ErrorQueue.Tail;
        if (tail is { Ee.Origin: ErrOrigin.Zerocopy } && CanExtend(tail.Ee, lo, Len))
        {
            tail.Ee = tail.Ee with { Data = tail.Ee.Data + (uint)Len };
            _sk.UnchargeOmem(_truesize); // consume_skb of this notification's own skb
            _sk.ReportError();
            return;
        }
        var ee = new SockExtendedErr(0, ErrOrigin.Zerocopy, 0, Zerocopy ? (byte)0 : SockExtendedErr.CodeZerocopyCopied, lo, hi);
        _sk.QueueErrorPrecharged(new ErrorQueueEntry(ee, null, 0, _truesize, chargedToRmem: false));
    }

    /// <summary>skb_zerocopy_notify_extend(): ranges that follow each other merge while the sum stays below 2^32.</summary>
    private static bool CanExtend(SockExtendedErr tail, uint lo, int len)
    {
        ulong sum = (ulong)(tail.Data - tail.Info) + 1 + (ulong)len;
        return sum < 1UL << 32 && lo == tail.Data + 1;
    }
}
