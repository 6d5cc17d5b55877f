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

    /// <summary>A veth pair: no rate, no delay, no loss.</summary>
    public static LinkConfig Veth => new() { RateBitsPerSecond = 0, Propagation = Duration.Zero };

    public string? Validate()
    {
        if (RateBitsPerSecond < 0) return "link rate must not be negative";
        if (Propagation < Duration.Zero) return "propagation delay must not be negative";
        if (LossRate is < 0 or > 1 || double.IsNaN(LossRate)) return "loss rate must be between 0 and 1";
        return Faults.Validate();
    }
}
