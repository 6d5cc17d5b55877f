using Xmit.Link.Qdiscs;

namespace Xmit.Link;

/// <summary>
/// One TX queue of a device: its qdisc, its stop state and its byte queue limits.
/// Two reasons stop a queue, as in Linux: the driver (ring full) and the stack (BQL limit reached).
/// </summary>
/// <remarks>Linux: include/linux/netdevice.h struct netdev_queue, __QUEUE_STATE_DRV_XOFF / __QUEUE_STATE_STACK_XOFF</remarks>
public sealed class NetdevQueue
{
    internal NetdevQueue(NetDevice device, int index)
    {
        Device = device;
        Index = index;
    }

    public NetDevice Device { get; }
    public int Index { get; }
    public Qdisc Qdisc { get; internal set; } = null!;
    public Dql Dql { get; } = new();

    /// <summary>Whether the driver reports bytes to BQL for this queue.</summary>
    public bool BqlEnabled { get; set; }

    public bool DriverStopped { get; private set; }
    public bool StackStopped { get; private set; }

    /// <summary>netif_xmit_stopped(): either reason stops the queue.</summary>
    public bool IsStopped => DriverStopped || StackStopped;

    /// <summary>
    /// netdev_xmit_more(): set by the stack just before ndo_start_xmit — more packets of the same bulk follow, so a
    /// driver may hold its doorbell. Linux keeps it per CPU (softnet_data.xmit.more); one CPU transmits on a queue
    /// at a time (HARD_TX_LOCK), so per queue is the same thing.
    /// </summary>
    /// <remarks>Linux: include/linux/netdevice.h netdev_xmit_more(), __netdev_start_xmit()</remarks>
    public bool XmitMore { get; internal set; }

    /// <summary>Times the driver stopped the queue / woke it.</summary>
    public long Stops { get; private set; }
    public long Wakes { get; private set; }
    /// <summary>Times BQL stopped the queue.</summary>
    public long BqlStops { get; private set; }

    /// <summary>netif_tx_stop_queue().</summary>
    public void Stop()
    {
        if (DriverStopped) return;
        DriverStopped = true;
        Stops++;
    }

    /// <summary>netif_tx_wake_queue(): clears the driver stop and reschedules the qdisc.</summary>
    /// <remarks>Linux: include/linux/netdevice.h netif_tx_wake_queue()</remarks>
    public void Wake()
    {
        if (!DriverStopped) return;
        DriverStopped = false;
        Wakes++;
        Device.ScheduleQueue(this);
    }

    /// <summary>netif_tx_start_queue(): clears the stop without scheduling (device open).</summary>
    public void Start() => DriverStopped = false;

    /// <summary>netdev_tx_sent_queue(): account bytes given to the hardware; BQL may stop the queue.</summary>
    /// <remarks>Linux: include/linux/netdevice.h netdev_tx_sent_queue()</remarks>
    public void BqlSent(int bytes)
    {
        if (!BqlEnabled) return;
        Dql.Queued(bytes);
        if (Dql.Available >= 0) return;
        StackStopped = true;
        BqlStops++;
    }

    /// <summary>
    /// __netdev_tx_sent_queue(): the BQL accounting of a driver that batches doorbells. With more to come the bytes are
    /// only counted (the limit is looked at on the last one of the bulk); returns whether to ring the doorbell now:
    /// always for the last, and mid-bulk only if the driver stopped the queue.
    /// </summary>
    /// <remarks>Linux: include/linux/netdevice.h __netdev_tx_sent_queue()</remarks>
    public bool BqlSent(int bytes, bool xmitMore)
    {
        if (xmitMore)
        {
            if (BqlEnabled) Dql.Queued(bytes);
            return DriverStopped;
        }
        BqlSent(bytes);
        return true;
    }

    /// <summary>netdev_tx_completed_queue(): bytes left the hardware; BQL may restart the queue.</summary>
    /// <remarks>Linux: include/linux/netdevice.h netdev_tx_completed_queue()</remarks>
    public void BqlCompleted(int packets, int bytes)
    {
        if (!BqlEnabled || bytes == 0 && packets == 0) return;
        Dql.Completed(bytes, Device.Scheduler.Now);
        if (Dql.Available < 0) return;
        if (StackStopped)
        {
            StackStopped = false;
            Device.ScheduleQueue(this);
        }
    }

    public override string ToString() => $"{Device.Name}:tx-{Index}";
}
