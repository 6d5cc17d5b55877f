namespace Xmit.Buffers;

/// <summary>
/// A FIFO of skbs linked through the skbs themselves (no allocation per packet), counting packets
/// and bytes. <see cref="Enqueue"/> takes ownership; <see cref="Dequeue"/> gives it back.
/// </summary>
/// <remarks>Linux: include/linux/skbuff.h struct sk_buff_head, __skb_queue_tail(), __skb_dequeue()</remarks>
public sealed class SkBuffQueue
{
    private SkBuff? _head;
    private SkBuff? _tail;

    public int Count { get; private set; }

    /// <summary>Sum of skb->len over the queue.</summary>
    public long Bytes { get; private set; }

    /// <summary>Sum of skb->truesize over the queue.</summary>
    public long TruesizeSum { get; private set; }

    public bool IsEmpty => _head is null;
    public SkBuff? Peek() => _head;
    public SkBuff? PeekTail() => _tail;

    public void Enqueue(SkBuff skb)
    {
        Link(skb);
        skb.Prev = _tail;
        skb.Next = null;
        if (_tail is null) _head = skb; else _tail.Next = skb;
        _tail = skb;
    }

    /// <summary>Puts <paramref name="skb"/> back at the head (requeue).</summary>
    public void EnqueueHead(SkBuff skb)
    {
        Link(skb);
        skb.Prev = null;
        skb.Next = _head;
        if (_head is null) _tail = skb; else _head.Prev = skb;
        _head = skb;
    }

    public SkBuff? Dequeue()
    {
        var skb = _head;
        if (skb is not null) Unlink(skb);
        return skb;
    }

    public SkBuff? DequeueTail()
    {
        var skb = _tail;
        if (skb is not null) Unlink(skb);
        return skb;
    }

    /// <summary>Removes <paramref name="skb"/> from anywhere in this queue.</summary>
    public void Unlink(SkBuff skb)
    {
        if (skb.Queue != this) ThrowHelper.Bug("unlink of an skb from a queue it is not on");
        if (skb.Prev is null) _head = skb.Next; else skb.Prev.Next = skb.Next;
        if (skb.Next is null) _tail = skb.Prev; else skb.Next.Prev = skb.Prev;
        skb.Next = skb.Prev = null;
        skb.Queue = null;
        Count--;
        Bytes -= skb.Len;
        TruesizeSum -= skb.Truesize;
    }

    /// <summary>Inserts <paramref name="skb"/> right after <paramref name="after"/>, or at the head when it is null.</summary>
    public void InsertAfter(SkBuff? after, SkBuff skb)
    {
        if (after is null) { EnqueueHead(skb); return; }
        if (after.Queue != this) ThrowHelper.Bug("insert after an skb that is not on this queue");
        Link(skb);
        skb.Prev = after;
        skb.Next = after.Next;
        if (after.Next is null) _tail = skb; else after.Next.Prev = skb;
        after.Next = skb;
    }

    /// <summary>A queued skb grew in place (data coalesced into it): keeps the byte and truesize totals right.</summary>
    internal void Resized(int lenDelta, int truesizeDelta)
    {
        Bytes += lenDelta;
        TruesizeSum += truesizeDelta;
    }

    /// <summary>Inserts <paramref name="skb"/> right before <paramref name="before"/>.</summary>
    public void InsertBefore(SkBuff before, SkBuff skb)
    {
        if (before.Queue != this) ThrowHelper.Bug("insert before an skb that is not on this queue");
        InsertAfter(before.Prev, skb);
    }

    /// <summary>The skb after <paramref name="skb"/> in its queue.</summary>
    public static SkBuff? NextOf(SkBuff skb) => skb.Next;

    /// <summary>The skb before <paramref name="skb"/> in its queue.</summary>
    public static SkBuff? PrevOf(SkBuff skb) => skb.Prev;

    /// <summary>Frees every skb in the queue (skb_queue_purge).</summary>
    public void Purge(SkbDropReason reason = SkbDropReason.NotSpecified)
    {
        while (Dequeue() is { } skb) skb.Free(reason);
    }

    private void Link(SkBuff skb)
    {
        if (skb.Queue is not null) ThrowHelper.Bug("skb already on a queue");
        skb.Queue = this;
        Count++;
        Bytes += skb.Len;
        TruesizeSum += skb.Truesize;
    }
}
