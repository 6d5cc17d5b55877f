namespace Xmit.Hosting.Accounting;

/// <summary>
/// One layer's books over an interval: what came <see cref="In"/> equals what it passed on (<see cref="Out"/>),
/// what it dropped (by reason, Linux's skb_drop_reason names) and what it still holds (<see cref="Queued"/>).
/// </summary>
/// <param name="Layer">socket, ip, neighbour, qdisc, driver, wire, receiver…</param>
/// <param name="Unit">what is counted: datagrams, packets or frames.</param>
/// <param name="In">what reached the layer.</param>
/// <param name="Out">what it passed on to the next.</param>
/// <param name="Drops">what it freed, by reason.</param>
/// <param name="Queued">what it still holds.</param>
public sealed record LayerBalance(string Layer, string Unit, long In, long Out, IReadOnlyDictionary<string, long> Drops, long Queued)
{
    public long Dropped => Drops.Values.Sum();

    /// <summary>Nothing vanished: in = out + Σ drops + still queued.</summary>
    public bool Balanced => In == Out + Dropped + Queued;

    /// <summary>The identity with its numbers, e.g. "neighbour: 500000 packets in = 0 out + 499909 dropped (NEIGH_QUEUEFULL 499909) + 91 queued".</summary>
    public string Describe()
    {
        var nonZero = Drops.Where(d => d.Value != 0).Select(d => $"{d.Key} {d.Value}").ToList();
        string drops = nonZero.Count == 0 ? "" : " (" + string.Join(", ", nonZero) + ")";
        string verdict = Balanced ? "" : $" — {In - Out - Dropped - Queued} unaccounted";
        return $"{Layer}: {In} {Unit} in = {Out} passed on + {Dropped} dropped{drops} + {Queued} still queued{verdict}";
    }
}
