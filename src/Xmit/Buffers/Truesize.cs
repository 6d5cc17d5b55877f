namespace Xmit.Buffers;

/// <summary>
/// Linux's memory accounting for socket buffers: what an skb "costs" (skb->truesize), which is what
/// sk_wmem_alloc / sk_rmem_alloc are charged with. The figures are the x86_64 ones measured in
/// linux-truth: a 256-byte sk_buff, a 320-byte skb_shared_info at the end of the data buffer,
/// 64-byte cache-line alignment, and the slab size classes the data buffer is rounded up to.
/// </summary>
public static class Truesize
{
    /// <summary>SKB_DATA_ALIGN(sizeof(struct sk_buff)).</summary>
    public const int SkBuffStruct = 256;

    /// <summary>SKB_DATA_ALIGN(sizeof(struct skb_shared_info)).</summary>
    public const int SharedInfo = 320;

    /// <summary>SMP_CACHE_BYTES on x86_64.</summary>
    public const int CacheLine = 64;

    /// <summary>The small-head cache: heads up to this size come from skb_small_head_cache.</summary>
    public const int SmallHeadCache = 576;

    /// <summary>Above this, kmalloc goes to the page allocator (power-of-two pages).</summary>
    public const int KmallocMaxCacheSize = 8192;

    /// <summary>NET_SKB_PAD: headroom a driver's netdev_alloc_skb() adds.</summary>
    public const int NetSkbPad = 64;

    public static int CacheAlign(int n) => (n + CacheLine - 1) & ~(CacheLine - 1);

    /// <summary>SKB_TRUESIZE(1): the smallest skb's cost, below which a socket has nothing queued.</summary>
    public const int OfOneByte = CacheLine + SkBuffStruct + SharedInfo;

    /// <summary>
    /// The size the allocator really hands out for a head of <paramref name="size"/> bytes
    /// (data plus shared info, already aligned).
    /// </summary>
    /// <remarks>Linux: net/core/skbuff.c kmalloc_reserve(); mm/slab_common.c kmalloc_size_roundup()</remarks>
    public static int HeadAllocationSize(int size)
    {
        if (size <= SmallHeadCache) return SmallHeadCache;
        if (size <= 1024) return 1024;
        // kmalloc size classes are powers of two from here; above 8192 the page allocator also
        // hands out power-of-two runs of pages, so one rule covers both.
        return (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)size);
    }

    /// <summary>The allocation for alloc_skb(<paramref name="size"/>): data area rounded up, shared info appended.</summary>
    /// <remarks>Linux: net/core/skbuff.c __alloc_skb()</remarks>
    public static int AllocSkbHead(int size) => HeadAllocationSize(CacheAlign(size) + SharedInfo);

    /// <summary>skb->truesize right after alloc_skb(<paramref name="size"/>).</summary>
    /// <remarks>Linux: net/core/skbuff.c __finalize_skb_around(): SKB_TRUESIZE(ksize - shinfo)</remarks>
    public static int ForAllocSkb(int size) => AllocSkbHead(size) + SkBuffStruct;

    /// <summary>The usable data area (skb_end_offset) of alloc_skb(<paramref name="size"/>).</summary>
    public static int UsableForAllocSkb(int size) => AllocSkbHead(size) - SharedInfo;

    /// <summary>
    /// skb->truesize of a receive buffer from netdev_alloc_skb(<paramref name="length"/>): small heads
    /// come from kmalloc, larger ones from the page-fragment cache, which does not round up.
    /// </summary>
    /// <remarks>Linux: net/core/skbuff.c __netdev_alloc_skb()</remarks>
    public static int ForNetdevAllocSkb(int length)
    {
        int len = length + NetSkbPad;
        if (len <= 1024 - SharedInfo) return ForAllocSkb(len);
        return CacheAlign(len) + SharedInfo + SkBuffStruct;
    }

    /// <summary>
    /// Whether netdev_alloc_skb(<paramref name="length"/>) takes its head from the page-fragment cache (head_frag)
    /// rather than kmalloc: above the small sizes and within one page with the shared info.
    /// </summary>
    /// <remarks>Linux: net/core/skbuff.c __netdev_alloc_skb()</remarks>
    public static bool NetdevHeadIsPageFrag(int length)
    {
        int len = length + NetSkbPad;
        return len > 1024 - SharedInfo && CacheAlign(len) + SharedInfo <= 4096;
    }
}
