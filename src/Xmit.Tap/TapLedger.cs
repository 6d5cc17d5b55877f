using Xmit.Hosting.Accounting;

namespace Xmit.Tap;

/// <summary>
/// The books of a TAP run, per layer from Xmit's IP output to the kernel: in = passed on + Σ drops by reason +
/// still queued, from the moment it is made to the moment <see cref="Build"/> is called.
/// </summary>
public sealed class TapLedger
{
    private readonly TapHost _tap;
    private readonly DropCounts _drops;
    private readonly long _outTransmits, _qdiscPackets, _writes, _arpSent;
    private readonly int _neighQueued;
    private readonly KernelLinkStats? _kernel;

    public TapLedger(TapHost tap)
    {
        _tap = tap;
        _drops = DropCounts.Of(tap.Pool);
        _outTransmits = tap.Host.Mib.Ip.OutTransmits;
        _qdiscPackets = tap.Device.TxQueues[0].Qdisc.Stats.Packets;
        _writes = tap.Driver.Writes;
        _arpSent = ArpSent();
        _neighQueued = tap.Host.Neighbours.QueuedPackets;
        _kernel = KernelLinkStats.Read(tap.Namespace, tap.Options.DeviceName);
    }

    private long ArpSent() => _tap.Host.Arp.Stats.RequestsSent + _tap.Host.Arp.Stats.RepliesSent;

    /// <summary>The books now; the last row (the kernel's receive side) only when its counters could be read.</summary>
    public (IReadOnlyList<LayerBalance> Layers, KernelLinkStats? Kernel, KernelLinkStats? KernelBefore) Build()
    {
        var d = DropCounts.Of(_tap.Pool);
        var q = _tap.Device.TxQueues[0].Qdisc;
        long outTransmits = _tap.Host.Mib.Ip.OutTransmits - _outTransmits;
        long qdiscOut = q.Stats.Packets - _qdiscPackets;
        var qdiscDrops = d.Since(_drops, DropLayer.Qdisc);
        long qdiscQueued = q.QLen - q.RequeuedLen;
        long qdiscIn = qdiscOut + qdiscDrops.Values.Sum() + qdiscQueued;
        long writes = _tap.Driver.Writes - _writes;
        var layers = new List<LayerBalance>
        {
            new("neighbour", "packets", outTransmits, qdiscIn - (ArpSent() - _arpSent), d.Since(_drops, DropLayer.Neighbour),
                _tap.Host.Neighbours.QueuedPackets - _neighQueued),
            new($"qdisc {q.Kind}", "packets", qdiscIn, qdiscOut, qdiscDrops, qdiscQueued),
            // A write that returned EAGAIN is requeued (the frame waits in the qdisc for the fd), not lost.
            new("TAP driver", "packets", qdiscOut, writes, d.Since(_drops, DropLayer.Driver), q.RequeuedLen),
        };
        var kernel = KernelLinkStats.Read(_tap.Namespace, _tap.Options.DeviceName);
        if (kernel is not null && _kernel is not null)
            layers.Add(new("kernel rx", "frames", writes, kernel.RxPackets - _kernel.RxPackets,
                new Dictionary<string, long> { ["rx_dropped"] = kernel.RxDropped - _kernel.RxDropped }, 0));
        return (layers, kernel, _kernel);
    }
}
