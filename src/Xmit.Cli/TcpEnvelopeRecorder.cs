namespace Xmit.Cli;

/// <summary>What the whole-run plots of `xmit sim tcp` draw, in the order <see cref="TcpEnvelopeRecorder.Observe"/> takes it.</summary>
public enum TcpPlotted { Cwnd, PacketsInFlight, WmemQueued, SndBuf, WmemAlloc, TsqLimit, QdiscBacklog, SrttUs }

/// <summary>
/// The lowest and highest value each plotted quantity held in each of a fixed number of equal spans of the run, from an
/// observation at the end of every simulated instant (<see cref="ObservedScheduler"/>): exact where 100 ms samples alias (qdisc
/// backlog, wmem_alloc and cwnd move within a millisecond). Memory is <see cref="Buckets"/> × the quantities whatever
/// the run's length. A span without an event gets the value held through it (it was the last one observed).
/// </summary>
public sealed class TcpEnvelopeRecorder
{
    /// <summary>One bucket per pixel column of a chart's data area (<see cref="Plots.TimeChart.Columns"/>).</summary>
    public const int Buckets = Plots.TimeChart.Columns;

    private static readonly int Quantities = Enum.GetValues<TcpPlotted>().Length;
    private readonly double _spanMs;
    private readonly long[] _min = new long[Buckets * Quantities], _max = new long[Buckets * Quantities];
    private readonly long[] _last = new long[Quantities];
    private int _bucket = -1; // the bucket of the last observation; those before it are final

    public TcpEnvelopeRecorder(double spanMs) => _spanMs = spanMs > 0 ? spanMs : 1;

    public double BucketMs => _spanMs / Buckets;

    /// <summary>The quantities' values at <paramref name="atMs"/> (from the start; outside [0, span] ignored), in <see cref="TcpPlotted"/>'s order.</summary>
    public void Observe(double atMs, ReadOnlySpan<long> values)
    {
        if (atMs < 0 || atMs > _spanMs) return;
        int b = Math.Min((int)(atMs / BucketMs), Buckets - 1);
        if (b < _bucket) b = _bucket; // time never goes back; guards the rounding at a bucket's edge
        if (_bucket < 0) Start(b, values);
        else CarryTo(b);
        for (int q = 0; q < Quantities; q++)
        {
            int i = b * Quantities + q;
            long v = values[q];
            if (v < _min[i]) _min[i] = v;
            if (v > _max[i]) _max[i] = v;
            _last[q] = v;
        }
    }

    private void Start(int b, ReadOnlySpan<long> values)
    {
        values[..Quantities].CopyTo(_last);
        for (int c = 0; c <= b; c++) Set(c);
        _bucket = b;
    }

    /// <summary>Buckets after the last observed one up to <paramref name="b"/> begin with the value held into them.</summary>
    private void CarryTo(int b)
    {
        for (int c = _bucket + 1; c <= b; c++) Set(c);
        _bucket = Math.Max(_bucket, b);
    }

    private void Set(int c)
    {
        for (int q = 0; q < Quantities; q++) _min[c * Quantities + q] = _max[c * Quantities + q] = _last[q];
    }

    /// <summary>The envelope, every bucket to the span's end filled (the last values held to the end); empty if nothing was observed.</summary>
    public TcpRunEnvelope Build()
    {
        if (_bucket < 0) return new TcpRunEnvelope(BucketMs, []);
        CarryTo(Buckets - 1);
        var list = new List<TcpEnvelopeBucket>(Buckets);
        for (int c = 0; c < Buckets; c++)
        {
            MinMax R(TcpPlotted q) => new(_min[c * Quantities + (int)q], _max[c * Quantities + (int)q]);
            list.Add(new TcpEnvelopeBucket(c * BucketMs, R(TcpPlotted.Cwnd), R(TcpPlotted.PacketsInFlight), R(TcpPlotted.WmemQueued), R(TcpPlotted.SndBuf),
                R(TcpPlotted.WmemAlloc), R(TcpPlotted.TsqLimit), R(TcpPlotted.QdiscBacklog), R(TcpPlotted.SrttUs)));
        }
        return new TcpRunEnvelope(BucketMs, list);
    }
}

/// <summary>
/// The whole run cut into equal buckets of <see cref="BucketMs"/> (one per pixel column of the plots), each with the lowest
/// and highest value every plotted quantity held in it, observed at the end of every simulated instant (not sampled).
/// </summary>
public sealed record TcpRunEnvelope(double BucketMs, IReadOnlyList<TcpEnvelopeBucket> Buckets);

/// <summary>One bucket from <see cref="FromMs"/> for <see cref="TcpRunEnvelope.BucketMs"/>: each quantity's range in it (names as in <see cref="TcpSample"/>).</summary>
public sealed record TcpEnvelopeBucket(double FromMs, MinMax Cwnd, MinMax PacketsInFlight, MinMax WmemQueued, MinMax SndBuf, MinMax WmemAlloc,
    MinMax TsqLimit, MinMax QdiscBacklog, MinMax SrttUs);

public readonly record struct MinMax(long Min, long Max);
