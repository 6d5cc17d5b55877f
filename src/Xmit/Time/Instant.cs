namespace Xmit.Time;

/// <summary>A point in time: nanoseconds since the clock's epoch (virtual time starts at 0).</summary>
public readonly record struct Instant(long Nanoseconds) : IComparable<Instant>
{
    public static readonly Instant Zero = new(0);
    public static readonly Instant Never = new(long.MaxValue);

    public double TotalSeconds => Nanoseconds / 1e9;

    public static Instant operator +(Instant t, Duration d) => new(t.Nanoseconds + d.Nanoseconds);
    public static Instant operator -(Instant t, Duration d) => new(t.Nanoseconds - d.Nanoseconds);
    public static Duration operator -(Instant a, Instant b) => new(a.Nanoseconds - b.Nanoseconds);
    public static bool operator <(Instant a, Instant b) => a.Nanoseconds < b.Nanoseconds;
    public static bool operator >(Instant a, Instant b) => a.Nanoseconds > b.Nanoseconds;
    public static bool operator <=(Instant a, Instant b) => a.Nanoseconds <= b.Nanoseconds;
    public static bool operator >=(Instant a, Instant b) => a.Nanoseconds >= b.Nanoseconds;
    public static Instant Max(Instant a, Instant b) => a >= b ? a : b;
    public static Instant Min(Instant a, Instant b) => a <= b ? a : b;

    public int CompareTo(Instant other) => Nanoseconds.CompareTo(other.Nanoseconds);

    public override string ToString() => $"{Nanoseconds / 1_000_000_000}.{Nanoseconds % 1_000_000_000:D9}";
}
