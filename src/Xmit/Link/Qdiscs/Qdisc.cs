using Xmit.Buffers;

namespace Xmit.Link.Qdiscs;

/// <summary>Counters a qdisc keeps, as `tc -s qdisc` prints them.</summary>
/// <remarks>Linux: include/net/sch_generic.h gnet_stats_basic_sync + gnet_stats_queue</remarks>
public sealed class QdiscStats
{
    /// <summary>Sent bytes / packets: counted at dequeue (or bypass).</summary>
    public long Bytes, Packets;
    public long Drops, Overlimits, Requeues;
}

/// <summary>
/// A queueing discipline. Subclasses implement the policy (<see cref="DoEnqueue"/>, <see cref="DoDequeue"/>);
/// this base keeps qlen, backlog and stats exactly where Linux does, and the requeue slot (q->gso_skb)
/// that dev_requeue_skb() uses when the driver answers BUSY.
/// </summary>
/// <remarks>Linux: include/net/sch_generic.h struct Qdisc</remarks>
public abstract class Qdisc
{
    /// <summary>Skbs put back after a BUSY driver; they leave before anything else.</summary>
    private readonly SkBuffQueue _requeued = new();

    /// <summary>q->skb_bad_txq: an skb a shared qdisc dequeued for another TX queue than the bulk it was building.</summary>
    private readonly SkBuffQueue _badTxq = new();

    public abstract string Kind { get; }

    /// <summary>TCQ_F_CAN_BYPASS: an empty, idle qdisc lets a packet go straight to the driver.</summary>
    public virtual bool CanBypass => false;

    public QdiscStats Stats { get; } = new();

    /// <summary>Packets held, including requeued ones (sch->q.qlen).</summary>
    public int QLen { get; protected set; }

    /// <summary>Bytes held, including requeued ones (sch->qstats.backlog).</summary>
    public long Backlog { get; protected set; }

    /// <summary>The TX queue this qdisc feeds (set when attached).</summary>
    public NetdevQueue? DevQueue { get; internal set; }

    /// <summary>__QDISC_STATE_SCHED: on the NET_TX softirq's list.</summary>
    internal bool Scheduled { get; set; }

    /// <summary>qdisc_run_begin()/end(): someone is dequeuing from this qdisc.</summary>
    internal bool Running { get; set; }

    /// <summary>Enqueues, taking ownership. Returns a NET_XMIT_* code; on a drop the skb has been freed.</summary>
    public int Enqueue(SkBuff skb)
    {
        int len = skb.Len;
        int rc = DoEnqueue(skb);
        if (rc == NetXmit.Success)
        {
            QLen++;
            Backlog += len;
        }
        return rc;
    }

    /// <summary>Packets the driver refused and that wait at the head again: already counted as sent (bstats), still in <see cref="QLen"/>.</summary>
    public virtual int RequeuedLen => _requeued.Count;

    /// <summary>Dequeues the next skb to transmit (requeued ones first), or null.</summary>
    public SkBuff? Dequeue() => DequeueRequeued() ?? DequeuePolicy();

    /// <summary>The requeued skb at the head (q->gso_skb), taken out of qlen/backlog; null when none waits.</summary>
    internal SkBuff? DequeueRequeued()
    {
        var skb = _requeued.Dequeue();
        if (skb is null) return null;
        QLen--;
        Backlog -= skb.Len;
        return skb;
    }

    /// <summary>q->dequeue(): the next skb the policy releases, counted as sent; null when it has none (or holds it back).</summary>
    internal SkBuff? DequeuePolicy()
    {
        var skb = DoDequeue();
        if (skb is null) return null;
        // qdisc_bstats_update(): "sent" is counted when a packet leaves the qdisc.
        Stats.Bytes += skb.Len;
        Stats.Packets++;
        QLen--;
        Backlog -= skb.Len;
        return skb;
    }

    /// <summary>
    /// TCQ_F_ONETXQUEUE: everything this qdisc releases goes to one TX queue, so it may bulk dequeue within
    /// that queue's BQL budget. Linux sets the flag on any root qdisc of a single-queue device and on mq's
    /// children, whatever the qdisc's kind (tbf too); here every qdisc is attached to exactly one
    /// <see cref="NetdevQueue"/>, so it always holds.
    /// </summary>
    /// <remarks>Linux: net/sched/sch_api.c qdisc_create(); net/sched/sch_generic.c attach_one_default_qdisc(); include/net/sch_generic.h qdisc_may_bulk()</remarks>
    internal bool OneTxQueue => !SharedByQueues;

    /// <summary>
    /// The root of a multi-queue device that is not mq: every TX queue's qdisc, so its skbs go to the queue each was
    /// picked for, not to <see cref="DevQueue"/>.
    /// </summary>
    internal bool SharedByQueues { get; set; }

    /// <summary>skb_get_tx_queue(): the TX queue this qdisc sends <paramref name="skb"/> to.</summary>
    internal NetdevQueue TxQueueOf(SkBuff skb) => OneTxQueue ? DevQueue! : DevQueue!.Device.TxQueues[skb.QueueMapping];

    /// <summary>qdisc_enqueue_skb_bad_txq(): keep a dequeued skb (counted as sent already) for the next restart.</summary>
    /// <remarks>Linux: net/sched/sch_generic.c qdisc_enqueue_skb_bad_txq()</remarks>
    internal void StashBadTxq(SkBuff skb)
    {
        _badTxq.Enqueue(skb);
        QLen++;
        Backlog += skb.Len;
    }

    /// <summary>qdisc_dequeue_skb_bad_txq(): the stashed skb, unless its TX queue is still stopped.</summary>
    /// <remarks>Linux: net/sched/sch_generic.c __skb_dequeue_bad_txq()</remarks>
    internal SkBuff? DequeueBadTxq()
    {
        var skb = _badTxq.Peek();
        if (skb is null || TxQueueOf(skb).IsStopped) return null;
        _badTxq.Dequeue();
        QLen--;
        Backlog -= skb.Len;
        return skb;
    }

    /// <summary>The skb list one qdisc_restart() hands to the driver (reused: the running qdisc is its only user).</summary>
    internal readonly List<SkBuff> Bulk = [];

    /// <summary>The requeued skb at the head, if any: it must go before anything new.</summary>
    internal SkBuff? PeekRequeued() => _requeued.Peek();

    /// <summary>
    /// dev_requeue_skb(): puts a packet the driver refused back in front of the policy's queue. Linux appends
    /// to q->gso_skb (__skb_queue_tail), so the rest of a refused list keeps its order behind what was
    /// requeued before.
    /// </summary>
    /// <remarks>Linux: net/sched/sch_generic.c dev_requeue_skb(), __dev_requeue_skb()</remarks>
    internal void Requeue(SkBuff skb)
    {
        _requeued.Enqueue(skb);
        Stats.Requeues++;
        QLen++;
        Backlog += skb.Len;
    }

    /// <summary>Counts a packet that bypassed the (empty) queue straight to the driver.</summary>
    internal void CountBypass(SkBuff skb)
    {
        Stats.Bytes += skb.Len;
        Stats.Packets++;
    }

    /// <summary>Frees everything held (qdisc_reset).</summary>
    public void Reset()
    {
        _requeued.Purge();
        _badTxq.Purge();
        DoReset();
        QLen = 0;
        Backlog = 0;
    }

    /// <summary>Policy: enqueue or drop (a dropped skb must be freed with <see cref="Drop(SkBuff)"/>).</summary>
    protected abstract int DoEnqueue(SkBuff skb);

    protected abstract SkBuff? DoDequeue();

    protected abstract void DoReset();

    /// <summary>qdisc_drop(): counts and frees.</summary>
    protected int Drop(SkBuff skb) => Drop(skb, SkbDropReason.QdiscDrop);

    /// <summary>qdisc_drop_reason(): counts and frees with a qdisc's own reason.</summary>
    protected int Drop(SkBuff skb, SkbDropReason reason)
    {
        Stats.Drops++;
        skb.Free(reason);
        return NetXmit.Drop;
    }

    /// <summary>__netif_schedule() for this qdisc's queue: run it again from the NET_TX softirq.</summary>
    protected void Schedule() => DevQueue?.Device.ScheduleQueue(DevQueue);

    /// <summary>The parameters as `tc qdisc show` prints them after the kind.</summary>
    public virtual string Parameters => "";

    /// <summary>The options exactly as tc's print_opt for this kind prints them, where modelled; else <see cref="Parameters"/>.</summary>
    public virtual string TcOptions => Parameters;

    /// <summary>The handle's major number (`handle 1:`); 0 for the qdiscs a device attaches by default.</summary>
    public ushort Handle { get; init; }

    /// <summary>Brings counters that are sums of other qdiscs' up to date before they are shown (mq_dump()).</summary>
    public virtual void UpdateDumpStats()
    {
    }

    /// <summary>A one-line summary like `tc -s qdisc show`.</summary>
    public string Describe()
    {
        UpdateDumpStats();
        return DescribeLine();
    }

    private string DescribeLine() =>
        $"qdisc {Kind}{(Parameters.Length > 0 ? " " + Parameters : "")}: Sent {Stats.Bytes} bytes {Stats.Packets} pkt (dropped {Stats.Drops}, overlimits {Stats.Overlimits} requeues {Stats.Requeues}) backlog {Backlog}b {QLen}p";
}
