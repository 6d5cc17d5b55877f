using Xmit.Buffers;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// Collapsing: when the receive buffer is over its limit, runs of skbs that cost more than the data they hold
/// (small segments that could not coalesce, each with a head of its own) are copied into compact skbs of about a
/// page — what tcp_prune_queue tries before it throws any data away.
/// </summary>
public sealed partial class TcpProtocol
{
    /// <summary>SKB_MAX_ORDER(0, 0) = SKB_WITH_OVERHEAD(PAGE_SIZE): the data a one-page skb holds beside its shared info.</summary>
    private const int CollapseChunk = 4096 - Truesize.SharedInfo;

    /// <summary>
    /// tcp_collapse_ofo_queue(): every contiguous run of the out-of-order queue made of more than one skb (or spanning
    /// a page) is collapsed; runs that are a single small skb are left, until they add up to an eighth of the buffer.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_collapse_ofo_queue()</remarks>
    private void CollapseOfoQueue(TcpSock sk)
    {
        long sumTiny = 0;
        var skb = sk.OutOfOrder.Peek();
        while (skb is not null)
        {
            var head = skb;
            TcpSeq start = skb.Cb.Seq, end = skb.Cb.EndSeq;
            long rangeTruesize = skb.Truesize;
            // The run ends at a gap or the end of the queue.
            for (skb = SkBuffQueue.NextOf(skb); skb is not null && skb.Cb.Seq <= end && skb.Cb.EndSeq >= start; skb = SkBuffQueue.NextOf(skb))
            {
                rangeTruesize += skb.Truesize;
                if (skb.Cb.Seq < start) start = skb.Cb.Seq;
                if (skb.Cb.EndSeq > end) end = skb.Cb.EndSeq;
            }
            if (rangeTruesize != head.Truesize || (int)(end - start) >= CollapseChunk)
                Collapse(sk, sk.OutOfOrder, head, skb, start, end);
            else if ((sumTiny += rangeTruesize) > sk.RcvBuf >> 3)
                return;
        }
    }

    /// <summary>
    /// tcp_collapse(): from <paramref name="head"/> up to <paramref name="tail"/> (exclusive), skip the skbs that are
    /// compact already, then copy the data from <paramref name="start"/> to <paramref name="end"/> into new skbs of at
    /// most a page, freeing each collapsed skb (TCPRcvCollapsed). Skbs carrying SYN or FIN are never collapsed.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_collapse(), tcp_collapse_one()</remarks>
    private void Collapse(TcpSock sk, SkBuffQueue queue, SkBuff head, SkBuff? tail, TcpSeq start, TcpSeq end)
    {
        var skb = head;
        while (true)
        {
            if (skb is null || skb == tail) return; // nothing here is worth collapsing
            if (start >= skb.Cb.EndSeq)
            {
                skb = CollapseOne(sk, queue, skb); // no new data in it (possible out of order)
                continue;
            }
            bool synFin = (skb.Cb.TcpFlags & (TcpFlags.Syn | TcpFlags.Fin)) != 0;
            // The first skb to collapse costs more than its data, or holds data before start.
            if (!synFin && (WinFromSpace(sk, skb.Truesize) > skb.Len || skb.Cb.Seq < start)) break;
            var next = SkBuffQueue.NextOf(skb);
            if (next is not null && next != tail && skb.Cb.EndSeq != next.Cb.Seq) break; // overlaps the next
            start = skb.Cb.EndSeq;
            skb = next;
        }
        if ((skb.Cb.TcpFlags & (TcpFlags.Syn | TcpFlags.Fin)) != 0) return;
        while (start < end)
        {
            int copy = Math.Min(CollapseChunk, (int)(end - start));
            var nskb = _pool.Alloc(copy);
            nskb.Cb = skb.Cb;
            nskb.Cb.Seq = nskb.Cb.EndSeq = start;
            nskb.Cb.RxFrags = 0;
            nskb.Cb.RxHeadFrag = false;
            nskb.Cb.RxHeadTruesize = nskb.Truesize;
            queue.InsertBefore(skb, nskb);
            sk.SetOwnerR(nskb);
            while (copy > 0)
            {
                int size = (int)(skb.Cb.EndSeq - start);
                if (size > 0)
                {
                    size = Math.Min(copy, size);
                    skb.CopyBits((int)(start - skb.Cb.Seq), nskb.Put(size));
                    queue.Resized(size, 0);
                    nskb.Cb.EndSeq += (uint)size;
                    copy -= size;
                    start += (uint)size;
                }
                if (start >= skb.Cb.EndSeq)
                {
                    skb = CollapseOne(sk, queue, skb);
                    if (skb is null || skb == tail || (skb.Cb.TcpFlags & (TcpFlags.Syn | TcpFlags.Fin)) != 0) return;
                }
            }
        }
    }

    /// <summary>tcp_collapse_one(): an skb whose data now lives in a collapsed copy is freed; returns the next one.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_collapse_one()</remarks>
    private SkBuff? CollapseOne(TcpSock sk, SkBuffQueue queue, SkBuff skb)
    {
        var next = SkBuffQueue.NextOf(skb);
        queue.Unlink(skb);
        skb.Free(SkbDropReason.Consumed);
        Mib.RcvCollapsed++;
        return next;
    }
}
