using Xmit.Time;

namespace Xmit.Neighbour;

/// <summary>ARP table parameters, Linux's defaults (net.ipv4.neigh.default.*).</summary>
/// <remarks>Linux: net/ipv4/arp.c arp_tbl.parms</remarks>
public sealed record NeighbourParams
{
    public int McastSolicit { get; init; } = 3;
    public int UcastSolicit { get; init; } = 3;
    public int AppSolicit { get; init; }
    public int McastResolicit { get; init; }
    public Duration RetransTime { get; init; } = Duration.FromSeconds(1);
    public Duration BaseReachableTime { get; init; } = Duration.FromSeconds(30);
    public Duration DelayFirstProbeTime { get; init; } = Duration.FromSeconds(5);
    public Duration GcStaleTime { get; init; } = Duration.FromSeconds(60);
    /// <summary>gc_thresh1/2/3: below 1 no periodic collection; above 2 (after 5 s) and at 3 a new entry first forces one; at 3 none is created if nothing could go.</summary>
    public int GcThresh1 { get; init; } = 128;
    public int GcThresh2 { get; init; } = 512;
    public int GcThresh3 { get; init; } = 1024;
    /// <summary>An ARP reply may override a fresh entry only after this long (locktime = HZ).</summary>
    public Duration LockTime { get; init; } = Duration.FromSeconds(1);
    /// <summary>unres_qlen_bytes: truesize of packets that may wait for resolution (SK_WMEM_MAX).</summary>
    public int QueueLenBytes { get; init; } = 212992;
}
