namespace Xmit.Configuration;

/// <summary>
/// tcp_cubic's module parameters (/sys/module/tcp_cubic/parameters/…) that change what CUBIC does: HyStart on
/// or off, which of its two detectors run, the cwnd below which it waits, and the ACK-train spacing.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_cubic.c hystart, hystart_detect, hystart_low_window, hystart_ack_delta_us</remarks>
public sealed class CubicParameters
{
    /// <summary>HYSTART_ACK_TRAIN and HYSTART_DELAY.</summary>
    public const int AckTrain = 1, Delay = 2;

    public bool Hystart { get; set; } = true;
    public int HystartDetect { get; set; } = AckTrain | Delay;
    public int HystartLowWindow { get; set; } = 16;
    public int HystartAckDeltaUs { get; set; } = 2000;

    /// <summary>`echo VALUE > /sys/module/tcp_cubic/parameters/NAME`; false for a parameter not modelled or a bad value.</summary>
    public bool TrySet(string name, string value)
    {
        if (!int.TryParse(value.Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v) || v < 0)
            return false;
        switch (name)
        {
            case "hystart": Hystart = v != 0; return true;
            case "hystart_detect" when v <= 3: HystartDetect = v; return true;
            case "hystart_low_window": HystartLowWindow = v; return true;
            case "hystart_ack_delta_us": HystartAckDeltaUs = v; return true;
            default: return false;
        }
    }

    public CubicParameters Clone() => (CubicParameters)MemberwiseClone();
}
