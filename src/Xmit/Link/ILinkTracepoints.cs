using Xmit.Buffers;
using Xmit.Link.Qdiscs;

namespace Xmit.Link;

/// <summary>
/// The device layer's tracepoints — net:net_dev_queue, net:net_dev_xmit, qdisc:qdisc_dequeue — as a hook a host
/// sets on its devices (<see cref="NetDevice.Trace"/>). The core only calls it; what is recorded, and whether
/// anything is, is the implementer's business. Unset, each point costs one null test.
/// </summary>
/// <remarks>Linux: include/trace/events/net.h, include/trace/events/qdisc.h</remarks>
public interface ILinkTracepoints
{
    /// <summary>net_dev_queue: dev_queue_xmit() took <paramref name="skb"/> for <paramref name="dev"/>, before any qdisc.</summary>
    /// <remarks>Linux: net/core/dev.c __dev_queue_xmit() trace_net_dev_queue()</remarks>
    void NetDevQueue(NetDevice dev, SkBuff skb);

    /// <summary>
    /// net_dev_xmit: the driver's ndo_start_xmit returned <paramref name="rc"/> for a frame of <paramref name="len"/>
    /// bytes. On <see cref="NetdevTx.Ok"/> the driver owns <paramref name="skb"/> and may already have freed it: only
    /// its identity may be used.
    /// </summary>
    /// <remarks>Linux: net/core/dev.c xmit_one() trace_net_dev_xmit()</remarks>
    void NetDevXmit(NetDevice dev, SkBuff skb, int len, NetdevTx rc);

    /// <summary>
    /// qdisc_dequeue: dequeue_skb() took <paramref name="packets"/> skbs (a bulk, first <paramref name="skb"/>) from
    /// <paramref name="q"/>, or none (<paramref name="skb"/> null).
    /// </summary>
    /// <remarks>Linux: net/sched/sch_generic.c dequeue_skb() trace_qdisc_dequeue()</remarks>
    void QdiscDequeue(Qdisc q, NetdevQueue txq, int packets, SkBuff? skb);
}
