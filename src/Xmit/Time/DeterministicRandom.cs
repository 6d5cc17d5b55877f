namespace Xmit.Time;

/// <summary>
/// The only randomness the core uses: xoshiro256** seeded through splitmix64, so a seed gives
/// the same sequence on every machine and .NET version (System.Random's algorithm may change).
/// </summary>
public sealed class DeterministicRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public DeterministicRandom(ulong seed)
    {
        Seed = seed;
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    public ulong Seed { get; }

    /// <summary>A new generator whose sequence is fixed by this one's seed and <paramref name="stream"/>.</summary>
    public DeterministicRandom Fork(ulong stream) => new(Seed * 0x9E3779B97F4A7C15UL ^ (stream + 0x632BE59BD9B4E019UL));

    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    public uint NextUInt32() => (uint)(NextUInt64() >> 32);

    /// <summary>Uniform in [0, bound) (bound 0 gives 0).</summary>
    public uint NextUInt32(uint bound) => bound == 0 ? 0 : (uint)(((ulong)NextUInt32() * bound) >> 32);

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
