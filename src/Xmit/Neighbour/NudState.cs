namespace Xmit.Neighbour;

/// <summary>Neighbour Unreachability Detection states.</summary>
/// <remarks>Linux: include/uapi/linux/neighbour.h NUD_*</remarks>
[Flags]
public enum NudState
{
    None = 0x00,
    Incomplete = 0x01,
    Reachable = 0x02,
    Stale = 0x04,
    Delay = 0x08,
    Probe = 0x10,
    Failed = 0x20,
    NoArp = 0x40,
    Permanent = 0x80,
}

public static class NudStates
{
    /// <summary>NUD_VALID: the entry has a usable link-layer address.</summary>
    public const NudState Valid = NudState.Permanent | NudState.NoArp | NudState.Reachable | NudState.Probe | NudState.Stale | NudState.Delay;

    /// <summary>NUD_CONNECTED: the address is confirmed; packets go out through the header cache.</summary>
    public const NudState Connected = NudState.Permanent | NudState.NoArp | NudState.Reachable;

    /// <summary>NUD_IN_TIMER: states with a running timer.</summary>
    public const NudState InTimer = NudState.Incomplete | NudState.Reachable | NudState.Delay | NudState.Probe;

    public static bool Has(this NudState s, NudState mask) => (s & mask) != 0;

    public static string Name(this NudState s) => s switch
    {
        NudState.None => "NONE",
        NudState.Incomplete => "INCOMPLETE",
        NudState.Reachable => "REACHABLE",
        NudState.Stale => "STALE",
        NudState.Delay => "DELAY",
        NudState.Probe => "PROBE",
        NudState.Failed => "FAILED",
        NudState.NoArp => "NOARP",
        NudState.Permanent => "PERMANENT",
        _ => s.ToString(),
    };
}
