using Xmit.Buffers;

namespace Xmit.Link.Qdiscs;

/// <summary>
/// The multi-queue root: no queue of its own, one child qdisc per TX queue (net.core.default_qdisc, pfifo_fast,
/// unless replaced), each serving only its queue — so each queue is stopped, woken, bulk-dequeued and BQL-limited
/// alone. Its counters are the children's sums, computed when shown, as `tc -s qdisc show` prints them.
/// </summary>
/// <remarks>Linux: net/sched/sch_mq.c mq_init(), mq_attach(), mq_dump(), mq_graft()</remarks>
public sealed class MqQdisc : Qdisc
{
    private readonly Qdisc[] _children;

    /// <param name="queues">the device's TX queue count.</param>
    /// <param name="child">the qdisc for TX queue i (parent :i+1).</param>
    public MqQdisc(int queues, Func<int, Qdisc> child)
    {
        if (queues < 1) ThrowHelper.OutOfRange(nameof(queues));
        ArgumentNullException.ThrowIfNull(child);
        _children = new Qdisc[queues];
        for (int i = 0; i < queues; i++) _children[i] = child(i);
    }

    public override string Kind => "mq";

    /// <summary>The child of each TX queue, in queue order (tc's parent :1, :2, …).</summary>
    public IReadOnlyList<Qdisc> Children => _children;

    internal void Graft(int queue, Qdisc q) => _children[queue] = q;

    /// <summary>The children's requeued skbs.</summary>
    public override int RequeuedLen
    {
        get
        {
            int n = 0;
            foreach (var c in _children) n += c.RequeuedLen;
            return n;
        }
    }

    /// <summary>mq_dump(): the children's packets, bytes, drops, requeues, overlimits, qlen and backlog summed.</summary>
    public override void UpdateDumpStats()
    {
        long bytes = 0, packets = 0, drops = 0, overlimits = 0, requeues = 0, backlog = 0;
        int qlen = 0;
        foreach (var c in _children)
        {
            c.UpdateDumpStats();
            bytes += c.Stats.Bytes;
            packets += c.Stats.Packets;
            drops += c.Stats.Drops;
            overlimits += c.Stats.Overlimits;
            requeues += c.Stats.Requeues;
            qlen += c.QLen;
            backlog += c.Backlog;
        }
        Stats.Bytes = bytes;
        Stats.Packets = packets;
        Stats.Drops = drops;
        Stats.Overlimits = overlimits;
        Stats.Requeues = requeues;
        QLen = qlen;
        Backlog = backlog;
    }

    // The device enqueues to the TX queue's child, never to mq itself.
    protected override int DoEnqueue(SkBuff skb) => throw new InvalidOperationException("mq has no queue: packets go to the child of their TX queue");

    protected override SkBuff? DoDequeue() => null;

    protected override void DoReset()
    {
        foreach (var c in _children) c.Reset();
    }
}
