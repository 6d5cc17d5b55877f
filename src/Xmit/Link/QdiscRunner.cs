using Xmit.Buffers;
using Xmit.Link.Qdiscs;

namespace Xmit.Link;

/// <summary>
/// Moving packets from a qdisc to the driver: qdisc_run() with its quota, qdisc_restart(), sch_direct_xmit()
/// and the requeue when the driver is busy or the queue is stopped.
/// </summary>
/// <remarks>Linux: net/sched/sch_generic.c __qdisc_run(), qdisc_restart(), sch_direct_xmit(), dequeue_skb()</remarks>
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
    internal static void RunLocked(Qdisc q)
    {
        int quota = Quota;
        while (Restart(q))
        {
            if (--quota <= 0)
            {
                // Out of quota with work left: let others run, continue from the softirq.
                q.DevQueue!.Device.ScheduleQueue(q.DevQueue);
                break;
            }
        }
    }

    /// <summary>qdisc_restart(): dequeue one packet and send it; false when nothing more can be sent now.</summary>
    private static bool Restart(Qdisc q)
    {
        var txq = q.DevQueue!;
        // dequeue_skb(): a requeued packet waits while the queue is stopped; otherwise ask the qdisc,
        // which does not dequeue while the queue is stopped either (the packet would only be requeued).
        if (txq.IsStopped) return false;
        var skb = q.Dequeue();
        if (skb is null) return false;
        return DirectXmit(skb, q, txq);
    }

    /// <summary>
    /// sch_direct_xmit(): hand one skb to the driver. Returns true if the qdisc may continue.
    /// On BUSY or a stopped queue the skb is requeued and the qdisc scheduled.
    /// </summary>
    internal static bool DirectXmit(SkBuff skb, Qdisc q, NetdevQueue txq)
    {
        var dev = txq.Device;
        NetdevTx rc = NetdevTx.Busy;
        if (!txq.IsStopped) rc = dev.HardStartXmit(skb, txq);
        if (rc == NetdevTx.Busy)
        {
            q.Requeue(skb);
            dev.ScheduleQueue(txq);
            return false;
        }
        return true;
    }
}
