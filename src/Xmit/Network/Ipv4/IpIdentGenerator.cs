using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>
/// The shared IP ID generator for packets without a connected socket: 2048 counters chosen by a keyed hash
/// of (daddr, saddr, protocol), each starting at a random value, and bumped by a random amount below the
/// number of jiffies since the bucket was last used so IDs are hard to predict. All randomness is seeded.
/// </summary>
/// <remarks>Linux: net/ipv4/route.c ip_idents_reserve(), __ip_select_ident(); include/net/ip.h ip_select_ident_segs()</remarks>
public sealed class IpIdentGenerator
{
    /// <summary>CONFIG_HZ of Debian's kernels: jiffies tick every 4 ms.</summary>
    public const int Hz = 250;

    private const int Buckets = 2048;
    private readonly uint[] _idents = new uint[Buckets];
    private readonly uint[] _stamps = new uint[Buckets];
    private readonly ulong _key;
    private readonly DeterministicRandom _random;
    private readonly IScheduler _clock;

    public IpIdentGenerator(IScheduler clock, DeterministicRandom random)
    {
        _clock = clock;
        _random = random;
        for (int i = 0; i < Buckets; i++) _idents[i] = random.NextUInt32();
        _key = random.NextUInt64();
    }

    private uint Jiffies => (uint)(_clock.Now.Nanoseconds / (1_000_000_000 / Hz));

    /// <summary>
    /// ip_select_ident_segs(): a connected socket's own counter; otherwise 0 when DF is set and may not be
    /// ignored (PMTUDISC_DO/PROBE); otherwise the shared generator.
    /// </summary>
    public ushort Select(ushort? socketIdent, bool df, bool ignoreDf, Ipv4Address dst, Ipv4Address src, byte protocol)
    {
        if (socketIdent is { } id) return id;
        if (df && !ignoreDf) return 0;
        return Reserve(dst, src, protocol);
    }

    /// <summary>Reserves <paramref name="segments"/> consecutive IDs and returns the first.</summary>
    public ushort Reserve(Ipv4Address dst, Ipv4Address src, byte protocol, int segments = 1)
    {
        uint bucket = Hash(dst.Value, src.Value, protocol) & (Buckets - 1);
        uint now = Jiffies;
        uint old = _stamps[bucket];
        uint delta = 0;
        if (old != now)
        {
            _stamps[bucket] = now;
            delta = _random.NextUInt32(now - old);
        }
        _idents[bucket] += (uint)segments + delta;
        return (ushort)(_idents[bucket] - (uint)segments);
    }

    private uint Hash(uint a, uint b, uint c)
    {
        // A keyed mix (siphash's role in Linux); any seeded hash gives the same behaviour.
        ulong h = _key ^ ((ulong)a << 32 | b);
        h ^= c * 0x9E3779B97F4A7C15UL;
        h = (h ^ (h >> 33)) * 0xFF51AFD7ED558CCDUL;
        h = (h ^ (h >> 33)) * 0xC4CEB9FE1A85EC53UL;
        return (uint)(h ^ (h >> 33));
    }
}
