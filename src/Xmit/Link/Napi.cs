namespace Xmit.Link;

/// <summary>
/// A NAPI context (struct napi_struct): something the NET_RX softirq polls for received packets — a NIC's RX ring,
/// or the CPU's backlog. The softirq runs its poll one packet at a time so that each packet can cost CPU time:
/// <see cref="Take"/> takes the next packet into hand, <see cref="HandUp"/> gives it to the stack once its cost has
/// been spent, and <see cref="PollDone"/> ends the poll (refill, and when under the weight, napi_complete_done).
/// </summary>
/// <remarks>Linux: include/linux/netdevice.h struct napi_struct; net/core/dev.c napi_poll(), __napi_poll(), napi_complete_done()</remarks>
public abstract class Napi
{
    /// <summary>The poll's weight: packets one poll may process (NAPI_POLL_WEIGHT, 64; dev_weight for the backlog).</summary>
    public int Weight { get; set; } = 64;

    /// <summary>NAPI_STATE_SCHED: on the CPU's poll list (or being polled); the device's RX interrupt is masked meanwhile.</summary>
    public bool Scheduled { get; internal set; }

    /// <summary>Polls run (napi_poll calls), and polls that used their whole weight (and stayed scheduled).</summary>
    public long Polls { get; internal set; }
    public long FullPolls { get; internal set; }

    /// <summary>The next packet into hand; false when nothing is left (the poll ends under its weight).</summary>
    protected internal abstract bool Take();

    /// <summary>The packet in hand goes up the stack (netif_receive_skb / __netif_receive_skb).</summary>
    protected internal abstract void HandUp();

    /// <summary>The packet in hand is freed unprocessed (the host shuts down while it was being processed).</summary>
    protected internal abstract void DropTaken();

    /// <summary>
    /// The end of a poll that processed <paramref name="work"/> packets. When <paramref name="complete"/> (work under the
    /// weight) <see cref="Scheduled"/> is already false: this is napi_complete_done, where a driver unmasks its interrupt.
    /// </summary>
    protected internal virtual void PollDone(int work, bool complete) { }
}
