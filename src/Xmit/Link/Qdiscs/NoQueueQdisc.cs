using Xmit.Buffers;

namespace Xmit.Link.Qdiscs;

/// <summary>noqueue: no queue at all; dev_queue_xmit() hands packets straight to the driver (virtual devices).</summary>
/// <remarks>Linux: net/sched/sch_generic.c noqueue_qdisc_ops; net/core/dev.c __dev_queue_xmit() "no queue" branch</remarks>
public sealed class NoQueueQdisc : Qdisc
{
    public override string Kind => "noqueue";

    protected override int DoEnqueue(SkBuff skb) => Drop(skb);
    protected override SkBuff? DoDequeue() => null;
    protected override void DoReset() { }
}
