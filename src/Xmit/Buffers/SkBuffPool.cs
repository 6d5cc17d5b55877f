using System.Diagnostics;

namespace Xmit.Buffers;

/// <summary>
/// Hands out <see cref="SkBuff"/>s, their data buffers and pages, and takes them back. Nothing is
/// allocated once the pool is warm, so the packet path is allocation-free in steady state.
/// With <c>trackAllocations</c> the pool records where each outstanding skb was rented, so a leak
/// names its origin (aspnetcore's DiagnosticMemoryPool idea).
/// </summary>
/// <remarks>Linux: net/core/skbuff.c alloc_skb(), skb_clone(), kfree_skb(), consume_skb()</remarks>
public sealed class SkBuffPool
{
    /// <summary>Pages for paged fragments: Linux's sk_page_frag uses 32 KiB compound pages.</summary>
    public const int PageSize = 32768;

    private readonly Stack<SkBuff> _freeHeads = new();
    private readonly Stack<SkbShared> _freeShared = new();
    private readonly Dictionary<int, Stack<byte[]>> _freeBuffers = new();
    /// <summary>
    /// The free buffers of two sizes recently rented or returned: a flow's frames come in a few sizes (its full frames,
    /// its ACKs), so most rents and returns skip the dictionary lookup. A miss replaces the two in turn.
    /// </summary>
    private Stack<byte[]>? _cachedBuffers0, _cachedBuffers1;
    private int _cachedSize0 = -1, _cachedSize1 = -1;
    private bool _replaceCached1;
    private readonly Stack<Page> _freePages = new();
    private readonly HashSet<SkBuff>? _outstanding;
    private int _heads;
    private readonly long[] _drops = new long[Enum.GetValues<SkbDropReason>().Length];

    public SkBuffPool(bool trackAllocations = false)
    {
        TrackAllocations = trackAllocations;
        if (trackAllocations) _outstanding = new HashSet<SkBuff>(ReferenceEqualityComparer.Instance);
    }

    public bool TrackAllocations { get; }

    /// <summary>skbs rented and not yet freed.</summary>
    public int Outstanding { get; private set; }

    /// <summary>Data buffers in use (an skb and its clones share one).</summary>
    public int OutstandingBuffers { get; private set; }

    /// <summary>Pages in use by page fragments.</summary>
    public int OutstandingPages { get; private set; }

    public long TotalAllocated { get; private set; }

    /// <summary>
    /// Told of every kfree_skb with a drop reason (not of consume), before the skb is released: the tracepoint
    /// skb:kfree_skb. Null (the default) costs one test per drop.
    /// </summary>
    public ISkbDropObserver? DropObserver { get; set; }

    public long Drops(SkbDropReason reason) => _drops[(int)reason];

    /// <summary>alloc_skb(size): a linear skb with a data area of at least <paramref name="size"/> bytes, truesize as Linux charges it.</summary>
    public SkBuff Alloc(int size)
    {
        int head = Truesize.AllocSkbHead(size);
        var skb = Rent(head - Truesize.SharedInfo, reserve: 0);
        skb.Truesize = head + Truesize.SkBuffStruct;
        return skb;
    }

    /// <summary>netdev_alloc_skb(length): a receive buffer with NET_SKB_PAD headroom, truesize as the driver path charges it.</summary>
    public SkBuff AllocNetdev(int length)
    {
        var skb = Rent(Truesize.UsableForAllocSkb(length + Truesize.NetSkbPad), Truesize.NetSkbPad);
        skb.Truesize = Truesize.ForNetdevAllocSkb(length);
        skb.Cb.RxHeadFrag = Truesize.NetdevHeadIsPageFrag(length);
        skb.Cb.RxHeadTruesize = skb.Truesize;
        return skb;
    }

    /// <summary>skb_clone(): a new head sharing this skb's data (dataref + 1). The clone has no owner.</summary>
    public SkBuff Clone(SkBuff original)
    {
        var skb = RentHead();
        skb.InitClone(original);
        return skb;
    }

    /// <summary>A page for fragments, with one reference held by the caller.</summary>
    public Page RentPage()
    {
        var page = _freePages.Count > 0 ? _freePages.Pop() : new Page(new byte[PageSize]) { Pool = this };
        page.RefCount = 1;
        OutstandingPages++;
        return page;
    }

    internal void ReturnPage(Page page)
    {
        OutstandingPages--;
        _freePages.Push(page);
    }

    private SkBuff Rent(int usable, int reserve)
    {
        var shared = _freeShared.Count > 0 ? _freeShared.Pop() : new SkbShared();
        shared.Buffer = RentBuffer(usable);
        shared.End = usable;
        shared.DataRef = 1;
        shared.NrFrags = 0;
        shared.FragList = null;
        shared.GsoSize = 0;
        shared.GsoType = GsoType.None;
        OutstandingBuffers++;
        var skb = RentHead();
        skb.Init(shared, reserve);
        return skb;
    }

    private SkBuff RentHead()
    {
        var skb = _freeHeads.Count > 0 ? _freeHeads.Pop() : new SkBuff(this, ++_heads);
        Outstanding++;
        TotalAllocated++;
        if (_outstanding is not null)
        {
            skb.RentedAt = new StackTrace(2, false).ToString();
            _outstanding.Add(skb);
        }
        return skb;
    }

    private byte[] RentBuffer(int size)
    {
        var stack = FreeBuffersOf(size);
        return stack.Count > 0 ? stack.Pop() : new byte[size];
    }

    private void ReturnBuffer(byte[] buffer) => FreeBuffersOf(buffer.Length).Push(buffer);

    /// <summary>The free buffers of <paramref name="size"/> bytes (an empty stack made for a new size).</summary>
    private Stack<byte[]> FreeBuffersOf(int size)
    {
        if (size == _cachedSize0) return _cachedBuffers0!;
        if (size == _cachedSize1) return _cachedBuffers1!;
        if (!_freeBuffers.TryGetValue(size, out var stack))
        {
            stack = new Stack<byte[]>();
            _freeBuffers.Add(size, stack);
        }
        if (_replaceCached1)
        {
            _cachedSize1 = size;
            _cachedBuffers1 = stack;
        }
        else
        {
            _cachedSize0 = size;
            _cachedBuffers0 = stack;
        }
        _replaceCached1 = !_replaceCached1;
        return stack;
    }

    internal void Release(SkBuff skb, SkbDropReason reason, string callerFile, string callerMember)
    {
        if (!skb.InUse) ThrowHelper.Bug("double free of an skb");
        if (skb.Queue is not null) ThrowHelper.Bug("freeing an skb that is still on a queue");
        if (reason != SkbDropReason.Consumed)
        {
            _drops[(int)reason]++;
            DropObserver?.OnDrop(skb, reason, callerFile, callerMember);
        }
        // skb_release_head_state: the destructor runs exactly once, before the data goes.
        var destructor = skb.Destructor;
        skb.Destructor = null;
        destructor?.Destruct(skb);

        // skb_release_data: only the last holder of the data frees frags, frag list and buffer.
        var shared = skb.Shared!;
        if (--shared.DataRef == 0)
        {
            for (int i = 0; i < shared.NrFrags; i++)
            {
                shared.Frags[i].Page.Put();
                shared.Frags[i] = default;
            }
            shared.NrFrags = 0;
            // skb_zcopy_clear(): the last holder of the data lets the zerocopy notification go.
            var uarg = shared.Uarg;
            shared.Uarg = null;
            shared.ZerocopyPages = 0;
            shared.TxFlags = SkbTxFlags.None;
            shared.TsKey = 0;
            var child = shared.FragList;
            shared.FragList = null;
            while (child is not null)
            {
                var next = child.Next;
                child.Next = null;
                Release(child, reason, callerFile, callerMember);
                child = next;
            }
            ReturnBuffer(shared.Buffer);
            shared.Buffer = [];
            OutstandingBuffers--;
            _freeShared.Push(shared);
            uarg?.Put();
        }

        _outstanding?.Remove(skb);
        skb.ResetHeadState();
        Outstanding--;
        _freeHeads.Push(skb);
    }

    /// <summary>A description of every outstanding skb and where it was rented (tracking pools only).</summary>
    public string DescribeOutstanding()
    {
        if (_outstanding is null) return $"{Outstanding} skbs outstanding (pool not tracking)";
        var sb = new System.Text.StringBuilder();
        sb.Append(Outstanding).Append(" skbs outstanding");
        foreach (var skb in _outstanding)
            sb.AppendLine().Append(" - ").Append(skb).AppendLine(" rented at:").Append(skb.RentedAt);
        return sb.ToString();
    }
}
