using Xmit.Time;

namespace Xmit.Simulation;

/// <summary>A point-to-point simulated Ethernet link: rate, propagation delay, random loss and the other <see cref="LinkFaults"/>.</summary>
public sealed record LinkConfig
{
    /// <summary>Preamble + SFD (8), FCS (4) and the inter-frame gap (12): bytes a real Ethernet spends per frame beyond the frame the stack built.</summary>
    public const int EthernetOverheadBytes = 24;

    /// <summary>Bits per second; 0 means no serialization delay at all (a veth pair).</summary>
    public long RateBitsPerSecond { get; init; } = 100_000_000;
    public Duration Propagation { get; init; } = Duration.FromMicroseconds(50);

    /// <summary>Probability that a frame is lost on the wire (taken from the seeded generator).</summary>
    public double LossRate { get; init; }

    /// <summary>Reordering, duplication, corruption, jitter and bursty loss (none by default).</summary>
    public LinkFaults Faults { get; init; } = new();

    /// <summary>Count preamble, FCS, padding to 64 bytes and inter-frame gap in the serialization time.</summary>
    public bool EthernetOverhead { get; init; } = true;

    /// <summary>Bits a frame of <paramref name="frameLength"/> bytes (no FCS) occupies on the wire.</summary>
    public long WireBits(int frameLength) =>
        8L * (EthernetOverhead ? Math.Max(frameLength, Wire.EthernetFrame.MinFrameLength) + EthernetOverheadBytes : frameLength);

    public Duration SerializationTime(int frameLength) =>
        RateBitsPerSecond == 0 ? Duration.Zero : Duration.ForBits(WireBits(frameLength), RateBitsPerSecond);

    /// <summary>
    /// The peer receives the sender's skb itself, as veth_xmit forwards it, rather than a frame copied into a receive
    /// buffer: a TSO skb arrives whole with its GSO size, every skb with the truesize its sender charged, and the
    /// checksum counts as verified. What the receiver's window arithmetic sees (scaling_ratio) depends on it.
    /// </summary>
    /// <remarks>Linux: drivers/net/veth.c veth_xmit(), veth_forward_skb(); net/core/dev.c __dev_forward_skb()</remarks>
    public bool ForwardsSkb { get; init; }

    /// <summary>A veth pair: no rate, no delay, no loss; the skb crosses whole.</summary>
    public static LinkConfig Veth => new() { RateBitsPerSecond = 0, Propagation = Duration.Zero, ForwardsSkb = true };

    public string? Validate()
    {
        if (RateBitsPerSecond < 0) return "link rate must not be negative";
        if (Propagation < Duration.Zero) return "propagation delay must not be negative";
        if (LossRate is < 0 or > 1 || double.IsNaN(LossRate)) return "loss rate must be between 0 and 1";
        return Faults.Validate();
    }
}
