using Xmit.Link.Qdiscs;
using Xmit.Time;

namespace Xmit.Link;

/// <summary>
/// The NET_TX softirq of one CPU: qdiscs that must run again (after a quota ran out, a requeue, a wake
/// or a watchdog) are put on its output queue and run from here, soon after, not on the caller's stack.
/// In virtual time "soon" is the same instant, after what was already due.
/// </summary>
/// <remarks>Linux: net/core/dev.c __netif_schedule(), net_tx_action()</remarks>
public sealed class NetTxSoftirq
{
    private readonly Queue<Qdisc> _outputQueue = new();
    private readonly Timer _raise;

    public NetTxSoftirq(IScheduler scheduler)
    {
        _raise = new Timer(scheduler, Run, "NET_TX");
    }

    /// <summary>Times the softirq ran.</summary>
    public long Runs { get; private set; }

    /// <summary>__netif_schedule(): queue <paramref name="q"/> unless it is already queued.</summary>
    public void Schedule(Qdisc q)
    {
        if (q.Scheduled) return;
        q.Scheduled = true;
        _outputQueue.Enqueue(q);
        if (!_raise.IsArmed) _raise.ArmAfter(Duration.Zero);
    }

    private void Run()
    {
        Runs++;
        // Like net_tx_action, take the list as it is now: qdiscs re-scheduled while running go to the next round.
        int n = _outputQueue.Count;
        for (int i = 0; i < n; i++)
        {
            var q = _outputQueue.Dequeue();
            q.Scheduled = false;
            QdiscRunner.Run(q);
        }
    }
}
