namespace Xmit.Wire;

/// <summary>
/// A TCP sequence number: 32 bits that wrap, so order is only defined within half the space (RFC 9293 §3.4).
/// The comparison operators are Linux's before() / after(); subtracting two gives the distance in bytes.
/// There is deliberately no IComparable: the order is not total.
/// </summary>
/// <remarks>Linux: include/net/tcp.h before(), after(), between()</remarks>
public readonly record struct TcpSeq(uint Value)
{
    public static bool operator <(TcpSeq a, TcpSeq b) => (int)(a.Value - b.Value) < 0;
    public static bool operator >(TcpSeq a, TcpSeq b) => (int)(b.Value - a.Value) < 0;
    public static bool operator <=(TcpSeq a, TcpSeq b) => !(a > b);
    public static bool operator >=(TcpSeq a, TcpSeq b) => !(a < b);

    public static TcpSeq operator +(TcpSeq a, uint bytes) => new(a.Value + bytes);
    public static TcpSeq operator +(TcpSeq a, int bytes) => new(a.Value + (uint)bytes);
    public static TcpSeq operator -(TcpSeq a, uint bytes) => new(a.Value - bytes);
    public static TcpSeq operator -(TcpSeq a, int bytes) => new(a.Value - (uint)bytes);
    public static TcpSeq operator ++(TcpSeq a) => new(a.Value + 1);

    /// <summary>The bytes from <paramref name="b"/> to <paramref name="a"/>, modulo 2^32 (cast to int for a signed distance).</summary>
    public static uint operator -(TcpSeq a, TcpSeq b) => a.Value - b.Value;

    /// <summary>between(seq, low, high): low ≤ seq ≤ high in sequence space.</summary>
    public bool IsBetween(TcpSeq low, TcpSeq high) => high.Value - low.Value >= Value - low.Value;

    /// <summary>The later of two sequence numbers.</summary>
    public static TcpSeq Max(TcpSeq a, TcpSeq b) => a > b ? a : b;

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
