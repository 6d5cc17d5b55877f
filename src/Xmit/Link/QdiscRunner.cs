using Xmit.Buffers;
using Xmit.Link.Qdiscs;

namespace Xmit.Link;

/// <summary>
/// Moving packets from a qdisc to the driver: qdisc_run() with its quota, qdisc_restart(), dequeue_skb() with
/// bulk dequeue, sch_direct_xmit() and the requeue when the driver is busy or the queue is stopped.
/// </summary>
/// <remarks>Linux: net/sched/sch_generic.c __qdisc_run(), qdisc_restart(), sch_direct_xmit(), dequeue_skb(), try_bulk_dequeue_skb()</remarks>
public static class QdiscRunner
{
    /// <summary>dev_tx_weight: packets one qdisc_run may send before yielding to the softirq.</summary>
    public const int Quota = 64;

    /// <summary>qdisc_run(): if nobody else is running the qdisc, run it until empty, stopped, or out of quota.</summary>
    public static void Run(Qdisc q)
    {
        if (q.Running) return;
        q.Running = true;
        try
        {
            RunLocked(q);
        }
        finally
        {
            q.Running = false;
        }
    }

    /// <summary>__qdisc_run() for a caller that already holds the running state.</summary>
    /// <remarks>Linux: net/sched/sch_generic.c __qdisc_run(): a bulk counts all its packets against the quota</remarks>
    internal static void RunLocked(Qdisc q)
    {
        int quota = Quota;
        while (Restart(q, quota, out int packets))
        {
            quota -= packets;
            if (quota <= 0)
            {
                // Out of quota with work left: let others run, continue from the softirq.
                q.DevQueue!.Device.ScheduleQueue(q.DevQueue);
                break;
            }
        }
    }

    /// <summary>qdisc_restart(): dequeue a packet or a bulk of them and send it; false when nothing more can be sent now.</summary>
    /// <remarks>Linux: net/sched/sch_generic.c qdisc_restart(): the TX queue is the skb's (skb_get_tx_queue)</remarks>
    private static bool Restart(Qdisc q, int budget, out int packets)
    {
        var bulk = q.Bulk;
        packets = DequeueSkb(q, budget, bulk);
        if (packets == 0) return false;
        return DirectXmit(bulk, q, q.TxQueueOf(bulk[0]));
    }

    /// <summary>
    /// dequeue_skb(): a requeued skb leaves alone (it was refused once; no bulk, no xmit_more), and only while
    /// its queue is awake. Otherwise a qdisc feeding one TX queue takes nothing while that queue is stopped, and
    /// after the first skb asks the policy for more while BQL's budget lasts; a qdisc shared by several queues
    /// first takes back an skb it stashed for another queue (if that queue is awake), and bulks only skbs for the
    /// first one's queue. Returns the packets put in <paramref name="bulk"/>.
    /// </summary>
    /// <remarks>Linux: net/sched/sch_generic.c dequeue_skb()</remarks>
    private static int DequeueSkb(Qdisc q, int budget, List<SkBuff> bulk)
    {
        int packets = DequeueSkbUntraced(q, budget, bulk);
        // trace_qdisc_dequeue() at dequeue_skb()'s end, also when nothing came out (packets 0, no skb).
        if (q.DevQueue is { Device.Trace: { } trace } txq) trace.QdiscDequeue(q, txq, packets, packets > 0 ? bulk[0] : null);
        return packets;
    }

    private static int DequeueSkbUntraced(Qdisc q, int budget, List<SkBuff> bulk)
    {
        bulk.Clear();
        if (q.RequeuedLen > 0)
        {
            if (q.TxQueueOf(q.PeekRequeued()!).IsStopped) return 0;
            bulk.Add(q.DequeueRequeued()!);
            return 1;
        }
        var txq = q.DevQueue!;
        if (q.OneTxQueue && txq.IsStopped) return 0;
        var skb = q.DequeueBadTxq() ?? q.DequeuePolicy();
        if (skb is null) return 0;
        bulk.Add(skb);
        return 1 + (q.OneTxQueue ? TryBulkDequeue(q, txq, skb.Len, budget, bulk) : TryBulkDequeueSameQueue(q, skb.QueueMapping, bulk));
    }

    /// <summary>
    /// try_bulk_dequeue_skb_slow(): a shared qdisc's bulk — up to 8 more skbs while they are for the same TX queue;
    /// the first for another queue is stashed (skb_bad_txq) and ends the bulk. Returns the packets added.
    /// </summary>
    /// <remarks>Linux: net/sched/sch_generic.c try_bulk_dequeue_skb_slow()</remarks>
    private static int TryBulkDequeueSameQueue(Qdisc q, int mapping, List<SkBuff> bulk)
    {
        const int MaxMore = 8;
        int cnt = 0;
        do
        {
            var next = q.DequeuePolicy();
            if (next is null) break;
            if (next.QueueMapping != mapping)
            {
                q.StashBadTxq(next);
                break;
            }
            bulk.Add(next);
        } while (++cnt < MaxMore);
        return cnt;
    }

    /// <summary>
    /// try_bulk_dequeue_skb(): keep dequeuing while the bytes taken stay below what BQL lets the queue hold
    /// (the last one may go over, a GSO skb counting its whole length), at most <paramref name="budget"/> more
    /// (6.18 bounds a bulk by the quota left, so one restart cannot hold the CPU for a thousand packets).
    /// Without BQL the budget is 0 bytes: no bulk. Returns the packets added after the first.
    /// </summary>
    /// <remarks>Linux: net/sched/sch_generic.c try_bulk_dequeue_skb(); include/net/sch_generic.h qdisc_avail_bulklimit()</remarks>
    private static int TryBulkDequeue(Qdisc q, NetdevQueue txq, int firstLen, int budget, List<SkBuff> bulk)
    {
        long bytelimit = AvailBulkLimit(txq) - firstLen;
        int cnt = 0;
        while (bytelimit > 0)
        {
            var next = q.DequeuePolicy();
            if (next is null) break;
            bytelimit -= next.Len;
            bulk.Add(next);
            if (++cnt >= budget) break;
        }
        return cnt;
    }

    /// <summary>qdisc_avail_bulklimit(): dql_avail() of the queue; a driver without BQL leaves its dql at limit 0.</summary>
    /// <remarks>Linux: include/net/sch_generic.h qdisc_avail_bulklimit()</remarks>
    internal static long AvailBulkLimit(NetdevQueue txq) => txq.BqlEnabled ? txq.Dql.Available : 0;

    /// <summary>
    /// sch_direct_xmit() for one skb (the bypass of an empty qdisc). Returns true if the qdisc may continue;
    /// on BUSY or a stopped queue the skb is requeued and the qdisc scheduled.
    /// </summary>
    internal static bool DirectXmit(SkBuff skb, Qdisc q, NetdevQueue txq)
    {
        var bulk = q.Bulk;
        bulk.Clear();
        bulk.Add(skb);
        return DirectXmit(bulk, q, txq);
    }

    /// <summary>
    /// sch_direct_xmit(): hand the list to dev_hard_start_xmit(); what it could not send (the driver said BUSY,
    /// or stopped its queue midway) goes back to the qdisc in order and the qdisc is scheduled.
    /// </summary>
    /// <remarks>Linux: net/sched/sch_generic.c sch_direct_xmit()</remarks>
    private static bool DirectXmit(List<SkBuff> bulk, Qdisc q, NetdevQueue txq)
    {
        var dev = txq.Device;
        int sent = 0;
        NetdevTx rc = NetdevTx.Busy;
        if (!txq.IsStopped) rc = dev.HardStartXmitList(bulk, txq, out sent);
        if (rc == NetdevTx.Busy)
        {
            for (int i = sent; i < bulk.Count; i++) q.Requeue(bulk[i]);
            bulk.Clear();
            dev.ScheduleQueue(txq);
            return false;
        }
        bulk.Clear();
        return true;
    }
}
