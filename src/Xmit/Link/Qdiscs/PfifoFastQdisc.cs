using Xmit.Buffers;

namespace Xmit.Link.Qdiscs;

/// <summary>
/// The default qdisc: three FIFO bands served strictly in order, the band chosen from skb->priority
/// through Linux's priomap. Since 4.16 each band is its own ring of txqueuelen packets, so the limit
/// applies per band.
/// </summary>
/// <remarks>Linux: net/sched/sch_generic.c pfifo_fast_enqueue(), pfifo_fast_dequeue(), prio2band</remarks>
public sealed class PfifoFastQdisc : Qdisc
{
    public const int Bands = 3;

    /// <summary>TC_PRIO_* (0..15) to band, Linux's default priomap "1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1".</summary>
    private static readonly byte[] Prio2Band = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];

    private readonly SkBuffQueue[] _bands = [new(), new(), new()];

    public PfifoFastQdisc(int txQueueLen)
    {
        if (txQueueLen < 0) ThrowHelper.OutOfRange(nameof(txQueueLen));
        Limit = txQueueLen;
    }

    public int Limit { get; }
    public override string Kind => "pfifo_fast";
    public override bool CanBypass => true;

    public static int BandOf(uint priority) => Prio2Band[priority & 15];

    public int BandLength(int band) => _bands[band].Count;

    protected override int DoEnqueue(SkBuff skb)
    {
        var band = _bands[BandOf(skb.Priority)];
        if (band.Count >= Limit) return Drop(skb);
        band.Enqueue(skb);
        return NetXmit.Success;
    }

    protected override SkBuff? DoDequeue()
    {
        for (int i = 0; i < Bands; i++)
            if (_bands[i].Dequeue() is { } skb) return skb;
        return null;
    }

    protected override void DoReset()
    {
        foreach (var b in _bands) b.Purge();
    }

    public override string Parameters => $"bands 3 limit {Limit}p per band";

    /// <remarks>Linux: net/sched/sch_generic.c pfifo_fast_dump() (tc prints bands and the priomap)</remarks>
    public override string TcOptions => "bands 3 priomap " + string.Join(' ', Prio2Band);
}
