using Xmit.Time;

namespace Xmit.Simulation;

/// <summary>
/// What goes wrong on a simulated wire besides random loss, each drawn from the link's seeded generator (as
/// netem does on Linux): reordering, duplication, corruption, delay jitter, bursty (Gilbert–Elliott) loss, and CE
/// marks where an ECN-capable AQM on the path would have marked instead of dropping.
/// </summary>
public sealed record LinkFaults
{
    /// <summary>Probability that a frame is held back by <see cref="ReorderDelay"/>, so frames sent after it overtake it.</summary>
    public double ReorderRate { get; init; }
    public Duration ReorderDelay { get; init; } = Duration.FromMilliseconds(1);

    /// <summary>Probability that a frame arrives twice.</summary>
    public double DuplicateRate { get; init; }

    /// <summary>Probability that one bit of a frame (past its Ethernet header) is flipped; the receiver's checksums must catch it.</summary>
    public double CorruptRate { get; init; }

    /// <summary>
    /// Probability that an IPv4 frame sent ECN-capable (ECT(0) or ECT(1)) arrives marked CE, as RED or CoDel with
    /// ecn mark it (INET_ECN_set_ce); Not-ECT frames are never touched.
    /// </summary>
    public double CeMarkRate { get; init; }

    /// <summary>Extra delay, uniform in [0, Jitter], for every frame (frames may overtake each other, as with netem).</summary>
    public Duration Jitter { get; init; }

    /// <summary>Gilbert–Elliott loss: p (good → bad), r (bad → good), and the loss probability in the bad state; null for none.</summary>
    public (double P, double R, double BadLoss)? Burst { get; init; }

    /// <summary>
    /// A path MTU blackhole: frames whose IP packet is longer than this many bytes vanish without an ICMP error, as
    /// behind a middlebox with a smaller MTU that filters ICMP (what TCP's MTU probing is for); 0 for none. GSO frames
    /// of a TSO link are not looked at.
    /// </summary>
    public int BlackholeAbove { get; init; }

    public bool Any => ReorderRate > 0 || DuplicateRate > 0 || CorruptRate > 0 || CeMarkRate > 0 || Jitter > Duration.Zero || Burst is not null || BlackholeAbove > 0;

    public string? Validate()
    {
        static bool Probability(double p) => p is >= 0 and <= 1;
        if (!Probability(ReorderRate)) return "reorder probability must be between 0 and 1";
        if (!Probability(DuplicateRate)) return "duplicate probability must be between 0 and 1";
        if (!Probability(CorruptRate)) return "corrupt probability must be between 0 and 1";
        if (!Probability(CeMarkRate)) return "CE mark probability must be between 0 and 1";
        if (ReorderDelay < Duration.Zero) return "reorder delay must not be negative";
        if (Jitter < Duration.Zero) return "jitter must not be negative";
        if (BlackholeAbove < 0) return "blackhole size must not be negative";
        if (Burst is { } b && !(Probability(b.P) && Probability(b.R) && Probability(b.BadLoss))) return "burst loss probabilities must be between 0 and 1";
        return null;
    }
}
