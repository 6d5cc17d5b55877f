using Xmit.Buffers;

namespace Xmit.Sockets;

/// <summary>
/// The page a socket copies appended data into when the device does scatter-gather: 32 KiB pages, reused
/// from the start when nobody else holds them, replaced when fewer than 32 bytes are left.
/// </summary>
/// <remarks>Linux: net/core/sock.c sk_page_frag_refill(), skb_page_frag_refill(); include/net/sock.h struct page_frag</remarks>
public sealed class PageFrag
{
    public Page? Page { get; private set; }
    public int Offset { get; set; }
    public int Size => SkBuffPool.PageSize;

    public bool Refill(SkBuffPool pool, int minimum = 32)
    {
        if (Page is not null)
        {
            if (Page.RefCount == 1) { Offset = 0; return true; }
            if (Offset + minimum <= Size) return true;
            Page.Put();
        }
        Page = pool.RentPage();
        Offset = 0;
        return true;
    }

    /// <summary>skb_can_coalesce(): the skb's last fragment ends exactly where this page frag continues.</summary>
    public bool CanCoalesce(SkBuff skb)
    {
        int i = skb.NrFrags;
        if (i == 0) return false;
        ref var last = ref skb.Frag(i - 1);
        return last.Page == Page && last.Offset + last.Size == Offset;
    }

    /// <summary>Drops the socket's reference (socket destruction).</summary>
    public void Release()
    {
        Page?.Put();
        Page = null;
        Offset = 0;
    }
}
