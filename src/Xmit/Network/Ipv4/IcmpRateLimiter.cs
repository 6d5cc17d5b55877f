using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>
/// ICMP output rate limits: a host-wide token bucket (icmp_msgs_per_sec 1000, burst 50) for every error,
/// and per destination one message per icmp_ratelimit (1 s, burst 6) for the types in icmp_ratemask
/// (destination unreachable, source quench, time exceeded, parameter problem).
/// </summary>
/// <remarks>Linux: net/ipv4/icmp.c icmp_global_allow(), icmp_global_consume(), icmpv4_xrlim_allow(); net/ipv4/inetpeer.c inet_peer_xrlim_allow()</remarks>
public sealed class IcmpRateLimiter
{
    private const int RateMask = 0x1818;
    private const int BurstFactor = 6;
    private readonly IScheduler _clock;
    private readonly Dictionary<uint, (long Tokens, Instant Last)> _peers = new();
    private long _globalCredit;
    private Instant _globalStamp;

    public IcmpRateLimiter(IScheduler clock)
    {
        _clock = clock;
        _globalCredit = GlobalBurst;
        _globalStamp = clock.Now;
    }

    public int MessagesPerSecond { get; init; } = 1000;
    public int GlobalBurst { get; init; } = 50;
    public Duration PerPeerInterval { get; init; } = Duration.FromSeconds(1);

    /// <summary>icmp_global_allow(): is there a global token? (It is spent by <see cref="ConsumeGlobal"/> once the per-peer limit also allows.)</summary>
    public bool GlobalAvailable()
    {
        var now = _clock.Now;
        long refill = (now - _globalStamp).Nanoseconds * MessagesPerSecond / 1_000_000_000;
        if (refill > 0)
        {
            _globalCredit = Math.Min(GlobalBurst, _globalCredit + refill);
            _globalStamp = now;
        }
        return _globalCredit > 0;
    }

    /// <summary>icmp_global_consume().</summary>
    public void ConsumeGlobal() => _globalCredit--;

    public bool AllowPeer(Ipv4Address destination, byte type)
    {
        if (type > 15 || (RateMask & (1 << type)) == 0 || PerPeerInterval == Duration.Zero) return true;
        var now = _clock.Now;
        long interval = PerPeerInterval.Nanoseconds;
        if (!_peers.TryGetValue(destination.Value, out var s)) s = (interval * BurstFactor, now);
        long tokens = Math.Min(s.Tokens + (now - s.Last).Nanoseconds, interval * BurstFactor);
        bool allow = tokens >= interval;
        if (allow) tokens -= interval;
        _peers[destination.Value] = (tokens, now);
        return allow;
    }
}
