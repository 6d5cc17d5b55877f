using Xmit.Link;
using Xmit.Link.Qdiscs;
using Xmit.Time;

namespace Xmit.Simulation;

/// <summary>A root qdisc as `tc qdisc add dev D root …` would give it: the kind and its parameters.</summary>
public sealed record QdiscSpec(string Kind, long? Limit = null, TbfConfig? Tbf = null)
{
    public static readonly string[] Kinds = ["pfifo_fast", "pfifo", "pfifo_head_drop", "bfifo", "tbf", "noqueue", "mq", "fq"];

    /// <summary>The most TX queues a simulated device may have.</summary>
    public const int MaxTxQueues = 64;

    /// <summary>Checks the qdisc against the device's TX queue count: mq needs a multi-queue device (Linux: EOPNOTSUPP).</summary>
    public string? ValidateFor(int txQueues)
    {
        if (txQueues is < 1 or > MaxTxQueues) return $"tx queues must be 1 to {MaxTxQueues}";
        if (Kind == "mq" && txQueues < 2) return "mq needs a multi-queue device: add --tx-queues 2 or more (Linux refuses mq on one queue: Operation not supported)";
        return Validate();
    }

    public string? Validate()
    {
        if (Array.IndexOf(Kinds, Kind) < 0) return $"unknown qdisc '{Kind}': use one of {string.Join(", ", Kinds)}";
        if (Limit is < 0) return "qdisc limit must not be negative";
        if (Kind == "tbf") return Tbf is null ? "tbf needs a rate, burst and limit" : Tbf.Validate();
        return null;
    }

    public Qdisc Create(IScheduler clock, NetDevice dev) => Kind switch
    {
        "pfifo_fast" => new PfifoFastQdisc(dev.TxQueueLen),
        "pfifo" => FifoQdisc.Packets((int)(Limit ?? Math.Max(dev.TxQueueLen, 1))),
        "pfifo_head_drop" => FifoQdisc.PacketsHeadDrop((int)(Limit ?? Math.Max(dev.TxQueueLen, 1))),
        "bfifo" => FifoQdisc.Bytes(Limit ?? (long)Math.Max(dev.TxQueueLen, 1) * dev.Mtu),
        "tbf" => new TbfQdisc(clock, Tbf!),
        "noqueue" => new NoQueueQdisc(),
        // fq's limit is packets per band (default 10000).
        "fq" => new FqQdisc(clock, new FqConfig(Limit: (int)(Limit ?? 10000)), dev.Mtu + dev.HardHeaderLength),
        // mq_init(): a default qdisc (pfifo_fast) under each TX queue.
        "mq" => new MqQdisc(dev.TxQueues.Length, _ => new PfifoFastQdisc(dev.TxQueueLen)),
        _ => throw new ArgumentException(Validate()),
    };

    public override string ToString() => Kind switch
    {
        "tbf" => $"tbf rate {TcUnits.FormatRate(Tbf!.RateBitsPerSecond)} burst {Tbf.BurstBytes}b limit {Tbf.LimitBytes}b" +
                 (Tbf.PeakRateBitsPerSecond > 0 ? $" peakrate {TcUnits.FormatRate(Tbf.PeakRateBitsPerSecond)} mtu {Tbf.MtuBytes}" : ""),
        "pfifo" or "pfifo_head_drop" or "bfifo" or "fq" when Limit is not null => $"{Kind} limit {Limit}",
        _ => Kind,
    };
}
