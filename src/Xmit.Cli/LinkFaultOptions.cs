using System.CommandLine;
using System.Globalization;
using Xmit.Simulation;
using Xmit.Time;

namespace Xmit.Cli;

/// <summary>
/// The wire faults of a simulated link as options (`--reorder`, `--reorder-delay`, `--duplicate`, `--corrupt`,
/// `--jitter`, `--loss-burst`, `--ce-mark`), shared by `xmit sim` and `xmit sim ping`, and how to describe them.
/// </summary>
public sealed class LinkFaultOptions
{
    private readonly Option<double> _reorder = CliOptions.Probability("--reorder", "Probability that a frame is held back by --reorder-delay, so later frames overtake it");
    private readonly Option<Duration> _reorderDelay = CliOptions.Duration("--reorder-delay", "How long a reordered frame is held back", "1ms");
    private readonly Option<double> _duplicate = CliOptions.Probability("--duplicate", "Probability that a frame arrives twice");
    private readonly Option<double> _corrupt = CliOptions.Probability("--corrupt", "Probability that one bit of a frame (past the Ethernet header) is flipped; the receiver's checksums drop it");
    private readonly Option<Duration> _jitter = CliOptions.Duration("--jitter", "Extra delay per frame, uniform from 0 to this (frames may overtake each other)", "0us");
    private readonly Option<double> _ceMark = CliOptions.Probability("--ce-mark", "Probability that an ECN-capable (ECT) frame arrives marked CE, as an AQM with ecn would mark it");
    private readonly Option<(double P, double R, double BadLoss)?> _burst = CliOptions.GilbertElliott("--loss-burst",
        "Gilbert–Elliott bursty loss: P good→bad, R bad→good, BADLOSS the loss probability in the bad state (default 1); each 0 to 1");

    public IEnumerable<Option> All => [_reorder, _reorderDelay, _duplicate, _corrupt, _jitter, _burst, _ceMark];

    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    public LinkFaults Read(ParseResult r) => new()
    {
        ReorderRate = r.GetValue(_reorder),
        ReorderDelay = r.GetValue(_reorderDelay),
        DuplicateRate = r.GetValue(_duplicate),
        CorruptRate = r.GetValue(_corrupt),
        Jitter = r.GetValue(_jitter),
        Burst = r.GetValue(_burst),
        CeMarkRate = r.GetValue(_ceMark),
    };

    /// <summary>"reorder 0.2 (held 1 ms), duplicate 0.05, ..." for the faults configured; "" for none.</summary>
    public static string Describe(LinkFaults f)
    {
        var inv = CultureInfo.InvariantCulture;
        var parts = new List<string>();
        if (f.ReorderRate > 0) parts.Add(string.Create(inv, $"reorder {f.ReorderRate:0.###} (held {DurationText.Format(f.ReorderDelay)})"));
        if (f.DuplicateRate > 0) parts.Add(string.Create(inv, $"duplicate {f.DuplicateRate:0.###}"));
        if (f.CorruptRate > 0) parts.Add(string.Create(inv, $"corrupt {f.CorruptRate:0.###}"));
        if (f.Jitter > Duration.Zero) parts.Add($"jitter {DurationText.Format(f.Jitter)}");
        if (f.CeMarkRate > 0) parts.Add(string.Create(inv, $"CE mark {f.CeMarkRate:0.###}"));
        if (f.Burst is { } b) parts.Add(string.Create(inv, $"burst loss p {b.P:0.###} r {b.R:0.###} bad-state loss {b.BadLoss:0.###}"));
        return string.Join(", ", parts);
    }

    /// <summary>The time a frame may spend on the wire beyond its propagation delay because of the faults.</summary>
    public static Duration MaxExtraDelay(LinkFaults f) => f.Jitter + (f.ReorderRate > 0 ? f.ReorderDelay : Duration.Zero);
}
