using Xmit.Buffers;

namespace Xmit.Link;

/// <summary>
/// The CPU's receive backlog (softnet_data.input_pkt_queue) and its NAPI context: netif_rx() queues a packet here and
/// schedules the backlog on the NET_RX softirq, whose poll (process_backlog) hands the packets up the stack later,
/// never inside the caller, at most a weight (dev_rx_weight, 64) per round. Here "later" is an event at the same
/// instant on the host's scheduler, so the sender's call returns first and runs stay deterministic. Beyond
/// netdev_max_backlog packets, netif_rx drops (softnet_stat's dropped, and the device's rx_dropped).
/// </summary>
/// <remarks>Linux: net/core/dev.c __netif_rx(), netif_rx_internal(), enqueue_to_backlog(), process_backlog()</remarks>
public sealed class RxBacklog : Napi
{
    // The device each packet came in on travels with it (skb->dev); a queue of pairs allocates nothing once grown.
    private readonly Queue<(NetDevice Dev, SkBuff Skb)> _queue = new();
    private (NetDevice Dev, SkBuff Skb) _inHand;

    public RxBacklog(NetRxSoftirq softirq)
    {
        Softirq = softirq;
    }

    public NetRxSoftirq Softirq { get; }

    /// <summary>net.core.netdev_max_backlog (1000).</summary>
    public int MaxBacklog
    {
        get => Softirq.Sysctls.NetdevMaxBacklog;
        set => Softirq.Sysctls.NetdevMaxBacklog = value;
    }

    /// <summary>Packets waiting for the softirq.</summary>
    public int Count => _queue.Count;

    /// <summary>softnet_stat's dropped: packets refused because the backlog was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>Packets process_backlog handed up.</summary>
    public long Processed { get; private set; }

    /// <summary>netif_rx(): takes ownership; false when the backlog was full and the packet was dropped (counted on the device as rx_dropped).</summary>
    /// <remarks>Linux: net/core/dev.c enqueue_to_backlog() (qlen &gt;= netdev_max_backlog: sd->dropped, dev_core_stats_rx_dropped_inc)</remarks>
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
        Softirq.Schedule(this, fromIrq: false);
        return true;
    }

    /// <summary>process_backlog(): the next queued packet.</summary>
    protected internal override bool Take()
    {
        if (!_queue.TryDequeue(out _inHand)) return false;
        return true;
    }

    protected internal override void HandUp()
    {
        var (dev, skb) = _inHand;
        _inHand = default;
        Processed++;
        dev.ReceiveSkb(skb);
    }

    protected internal override void DropTaken()
    {
        _inHand.Skb?.Free(SkbDropReason.CpuBacklog);
        _inHand = default;
    }

    /// <summary>Frees what is still queued (the host shuts down).</summary>
    public void Purge()
    {
        Softirq.Purge();
        while (_queue.TryDequeue(out var p)) p.Skb.Free(SkbDropReason.CpuBacklog);
    }
}
