using Xmit.Buffers;

namespace Xmit.Hosting.Accounting;

/// <summary>
/// The pool's kfree_skb counts by reason at one instant (what `perf record -e skb:kfree_skb` would tally), so an
/// interval's drops are the difference of two of them.
/// </summary>
public sealed class DropCounts
{
    private readonly long[] _counts;

    private DropCounts(long[] counts) => _counts = counts;

    public static DropCounts Of(SkBuffPool pool)
    {
        var reasons = Enum.GetValues<SkbDropReason>();
        var counts = new long[reasons.Length];
        foreach (var r in reasons) counts[(int)r] = pool.Drops(r);
        return new DropCounts(counts);
    }

    public long this[SkbDropReason reason] => _counts[(int)reason];

    /// <summary>Drops since <paramref name="before"/> of the reasons <see cref="DropLayer"/> puts in <paramref name="layer"/>, by Linux name; zeros left out.</summary>
    public Dictionary<string, long> Since(DropCounts before, string layer)
    {
        var d = new Dictionary<string, long>();
        foreach (var r in Enum.GetValues<SkbDropReason>())
        {
            if (r == SkbDropReason.Consumed || DropLayer.Of(r) != layer) continue;
            long n = this[r] - before[r];
            if (n != 0) d[DropLayer.LinuxName(r)] = n;
        }
        return d;
    }
}
