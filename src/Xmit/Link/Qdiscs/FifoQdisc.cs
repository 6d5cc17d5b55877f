using Xmit.Buffers;

namespace Xmit.Link.Qdiscs;

/// <summary>
/// pfifo (limit in packets) and bfifo (limit in bytes): one tail-drop FIFO; pfifo_head_drop: full, it drops the
/// oldest packet to make room and answers NET_XMIT_CN — the one Linux qdisc here that signals congestion while
/// queueing the packet (TCP then enters CWR).
/// </summary>
/// <remarks>Linux: net/sched/sch_fifo.c pfifo_enqueue(), bfifo_enqueue(), pfifo_tail_enqueue()</remarks>
public sealed class FifoQdisc : Qdisc
{
    private readonly SkBuffQueue _q = new();

    private FifoQdisc(bool bytes, long limit, bool headDrop = false)
    {
        if (limit < 0) ThrowHelper.OutOfRange(nameof(limit));
        LimitInBytes = bytes;
        Limit = limit;
        HeadDrop = headDrop;
    }

    /// <summary>pfifo_head_drop with a packet limit.</summary>
    public static FifoQdisc PacketsHeadDrop(int limit) => new(false, limit, headDrop: true);

    /// <summary>pfifo_head_drop: a full queue drops its head instead of the arriving packet.</summary>
    public bool HeadDrop { get; }

    /// <summary>pfifo with a packet limit (tc's default is the device's txqueuelen).</summary>
    public static FifoQdisc Packets(int limit) => new(false, limit);

    /// <summary>bfifo with a byte limit.</summary>
    public static FifoQdisc Bytes(long limit) => new(true, limit);

    public bool LimitInBytes { get; }
    public long Limit { get; }

    public override string Kind => HeadDrop ? "pfifo_head_drop" : LimitInBytes ? "bfifo" : "pfifo";

    /// <summary>fifo_init(): bypass is allowed when the limit can hold at least one packet.</summary>
    public override bool CanBypass => LimitInBytes ? Limit >= 1514 : Limit >= 1;

    protected override int DoEnqueue(SkBuff skb)
    {
        bool fits = LimitInBytes ? Backlog + skb.Len <= Limit : QLen < Limit;
        if (!fits && HeadDrop && _q.Dequeue() is { } head)
        {
            // pfifo_tail_enqueue(): the head goes (a drop), the new packet takes its place; qlen stays, backlog moves.
            Backlog += skb.Len - head.Len;
            Drop(head);
            _q.Enqueue(skb);
            return NetXmit.Congestion;
        }
        if (!fits) return Drop(skb);
        _q.Enqueue(skb);
        return NetXmit.Success;
    }

    protected override SkBuff? DoDequeue() => _q.Dequeue();

    /// <summary>The head packet without removing it (used by tbf's peek).</summary>
    internal SkBuff? Peek() => _q.Peek();

    protected override void DoReset() => _q.Purge();

    public override string Parameters => $"limit {Limit}{(LimitInBytes ? "b" : "p")}";
}
