using Xmit.Buffers;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// Coalescing on receive: data that continues the tail of the receive queue joins that skb instead of queueing
/// an skb of its own, so the receive buffer is charged for the data and not for one head per segment — which is
/// what lets the advertised window stay open while a reader is slow.
/// </summary>
public sealed partial class TcpProtocol
{
    /// <summary>
    /// tcp_try_coalesce() / skb_try_coalesce(): <paramref name="from"/> joins <paramref name="to"/> if it starts where
    /// <paramref name="to"/> ends — copied into <paramref name="to"/>'s tailroom while <paramref name="to"/> is linear
    /// (nothing more is charged), or its page fragments (a head that is a page fragment counts as one, stolen) added
    /// while <paramref name="to"/> stays within MAX_SKB_FRAGS, charging only the truesize that moves with them. The
    /// data keeps its place on <paramref name="to"/>'s frag list; <paramref name="from"/>'s own charge is returned.
    /// <paramref name="copied"/>: the data was copied, and <paramref name="from"/> is the caller's to free.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_try_coalesce(); net/core/skbuff.c skb_try_coalesce()</remarks>
    private static bool TryCoalesce(TcpSock sk, SkBuff to, SkBuff from, out bool copied)
    {
        copied = false;
        int toLen = to.Len, toTruesize = to.Truesize;
        bool joined = TryJoin(sk, to, from, ref copied);
        if (joined) to.Queue?.Resized(to.Len - toLen, to.Truesize - toTruesize);
        return joined;
    }

    private static bool TryJoin(TcpSock sk, SkBuff to, SkBuff from, ref bool copied)
    {
        if (from.Cb.Seq != to.Cb.EndSeq || (to.Cb.TcpFlags & TcpFlags.Fin) != 0 || from.Len == 0) return false;
        int len = from.Len;
        bool toLinear = to.Cb.RxFrags == 0 && to.FragList is null;
        if (toLinear && len <= to.Tailroom && !from.IsNonLinear)
        {
            from.Data.CopyTo(to.Put(len));
            Absorb(to, from);
            from.Orphan();
            copied = true; // the caller frees it once it has looked at the segment
            return true;
        }
        int delta, frags;
        if (from.Cb.RxFrags == 0)
        {
            // The data is in from's linear head: only a page-fragment head can be stolen.
            if (!from.Cb.RxHeadFrag || to.Cb.RxFrags + 1 >= SkBuff.MaxFrags) return false;
            delta = from.Truesize - Truesize.SkBuffStruct;
            frags = 1;
        }
        else
        {
            if (to.Cb.RxFrags + from.Cb.RxFrags > SkBuff.MaxFrags) return false;
            delta = from.Truesize - from.Cb.RxHeadTruesize;
            frags = from.Cb.RxFrags;
        }
        Absorb(to, from);
        from.Orphan();
        sk.ChargeRead(delta);
        to.AppendToFragList(from);
        to.Truesize -= from.Truesize - delta; // to grows by delta only; its destructor returns that with the rest
        to.Cb.RxFrags += frags;
        return true;
    }

    private static void Absorb(SkBuff to, SkBuff from)
    {
        to.Cb.EndSeq = from.Cb.EndSeq;
        to.Cb.TcpFlags |= from.Cb.TcpFlags;
    }
}
