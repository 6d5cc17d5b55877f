using Xmit.Buffers;
using Xmit.Time;

namespace Xmit.Link;

/// <summary>
/// The CPU's receive backlog (softnet_data.input_pkt_queue): netif_rx() queues a packet here and raises NET_RX;
/// the softirq (process_backlog) hands the packets up the stack later, never inside the caller. Here "later" is
/// an event at the same instant on the host's scheduler, so the sender's call returns first and runs stay
/// deterministic. Beyond netdev_max_backlog packets, netif_rx drops.
/// </summary>
/// <remarks>Linux: net/core/dev.c __netif_rx(), netif_rx_internal(), enqueue_to_backlog(), process_backlog()</remarks>
public sealed class RxBacklog
{
    // The device each packet came in on travels with it (skb->dev); a queue of pairs allocates nothing once grown.
    private readonly Queue<(NetDevice Dev, SkBuff Skb)> _queue = new();
    private readonly Timer _softirq;

    public RxBacklog(IScheduler scheduler)
    {
        _softirq = new Timer(scheduler, Process, "net-rx-backlog");
        Scheduler = scheduler;
    }

    public IScheduler Scheduler { get; }

    /// <summary>net.core.netdev_max_backlog.</summary>
    public int MaxBacklog { get; set; } = 1000;

    /// <summary>NAPI weight of the backlog (dev_rx_weight, 64): packets handed up per softirq round.</summary>
    public int Weight { get; set; } = 64;

    /// <summary>Packets waiting for the softirq.</summary>
    public int Count => _queue.Count;

    /// <summary>softnet_stat's dropped: packets refused because the backlog was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>softnet_stat's processed.</summary>
    public long Processed { get; private set; }

    /// <summary>netif_rx(): takes ownership; false when the backlog was full and the packet was dropped (counted on the device as rx_dropped).</summary>
    public bool Enqueue(NetDevice dev, SkBuff skb)
    {
        if (_queue.Count >= MaxBacklog)
        {
            Dropped++;
            dev.Stats.RxDropped++;
            skb.Free(SkbDropReason.CpuBacklog);
            return false;
        }
        _queue.Enqueue((dev, skb));
        if (!_softirq.IsArmed) _softirq.Arm(Scheduler.Now);
        return true;
    }

    /// <summary>process_backlog(): up to a weight of packets to __netif_receive_skb, then the rest in another round.</summary>
    private void Process()
    {
        for (int n = 0; n < Weight && _queue.TryDequeue(out var p); n++)
        {
            Processed++;
            p.Dev.ReceiveSkb(p.Skb);
        }
        if (_queue.Count > 0 && !_softirq.IsArmed) _softirq.Arm(Scheduler.Now);
    }

    /// <summary>Frees what is still queued (the host shuts down).</summary>
    public void Purge()
    {
        _softirq.Disarm();
        while (_queue.TryDequeue(out var p)) p.Skb.Free(SkbDropReason.CpuBacklog);
    }
}
