namespace Xmit.Time;

/// <summary>A span of virtual or real time, in nanoseconds.</summary>
public readonly record struct Duration(long Nanoseconds) : IComparable<Duration>
{
    public static readonly Duration Zero = new(0);

    public static Duration FromNanoseconds(long ns) => new(ns);
    public static Duration FromMicroseconds(long us) => new(checked(us * 1_000));
    public static Duration FromMilliseconds(long ms) => new(checked(ms * 1_000_000));
    public static Duration FromSeconds(long s) => new(checked(s * 1_000_000_000));
    public static Duration FromSeconds(double s) => new((long)Math.Round(s * 1e9));

    /// <summary>Time to send <paramref name="bits"/> at <paramref name="bitsPerSecond"/>, rounded up to a whole nanosecond.</summary>
    public static Duration ForBits(long bits, long bitsPerSecond)
    {
        // bits * 1e9 overflows long above ~9.2e9 bits; go through Int128 to stay exact.
        Int128 num = (Int128)bits * 1_000_000_000 + bitsPerSecond - 1;
        return new((long)(num / bitsPerSecond));
    }

    public double TotalMicroseconds => Nanoseconds / 1e3;
    public double TotalMilliseconds => Nanoseconds / 1e6;
    public double TotalSeconds => Nanoseconds / 1e9;

    public static Duration operator +(Duration a, Duration b) => new(a.Nanoseconds + b.Nanoseconds);
    public static Duration operator -(Duration a, Duration b) => new(a.Nanoseconds - b.Nanoseconds);
    public static Duration operator *(Duration a, long k) => new(a.Nanoseconds * k);
    public static Duration operator /(Duration a, long k) => new(a.Nanoseconds / k);
    public static bool operator <(Duration a, Duration b) => a.Nanoseconds < b.Nanoseconds;
    public static bool operator >(Duration a, Duration b) => a.Nanoseconds > b.Nanoseconds;
    public static bool operator <=(Duration a, Duration b) => a.Nanoseconds <= b.Nanoseconds;
    public static bool operator >=(Duration a, Duration b) => a.Nanoseconds >= b.Nanoseconds;
    public static Duration Max(Duration a, Duration b) => a >= b ? a : b;
    public static Duration Min(Duration a, Duration b) => a <= b ? a : b;

    public int CompareTo(Duration other) => Nanoseconds.CompareTo(other.Nanoseconds);

    public override string ToString() => Nanoseconds switch
    {
        0 => "0",
        _ when Nanoseconds % 1_000_000_000 == 0 => $"{Nanoseconds / 1_000_000_000}s",
        _ when Math.Abs(Nanoseconds) >= 1_000_000 => $"{TotalMilliseconds:0.###}ms",
        _ when Math.Abs(Nanoseconds) >= 1_000 => $"{TotalMicroseconds:0.###}us",
        _ => $"{Nanoseconds}ns",
    };
}
