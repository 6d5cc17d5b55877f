using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Xmit.Wire;

/// <summary>An IPv4 address held as a host-order uint (no allocation, cheap to compare and hash).</summary>
public readonly record struct Ipv4Address(uint Value) : IComparable<Ipv4Address>
{
    public static readonly Ipv4Address Any = new(0);
    public static readonly Ipv4Address Broadcast = new(0xFFFFFFFF);
    /// <summary>INADDR_LOOPBACK, 127.0.0.1.</summary>
    public static readonly Ipv4Address Loopback = new(0x7F000001);

    public Ipv4Address(byte a, byte b, byte c, byte d) : this(((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d) { }

    public static Ipv4Address Read(ReadOnlySpan<byte> s) => new(BinaryPrimitives.ReadUInt32BigEndian(s));
    public void Write(Span<byte> s) => BinaryPrimitives.WriteUInt32BigEndian(s, Value);

    public bool IsUnspecified => Value == 0;
    public bool IsBroadcast => Value == 0xFFFFFFFF;
    public bool IsMulticast => (Value >> 28) == 0xE;
    public bool IsLoopback => (Value >> 24) == 127;

    public static uint PrefixMask(int prefixLength) => prefixLength == 0 ? 0 : 0xFFFFFFFFu << (32 - prefixLength);

    public bool InSubnet(Ipv4Address network, int prefixLength)
    {
        uint mask = PrefixMask(prefixLength);
        return (Value & mask) == (network.Value & mask);
    }

    public static Ipv4Address Parse(string s) =>
        TryParse(s, out var a) ? a : throw new FormatException($"'{s}' is not an IPv4 address (a.b.c.d)");

    public static bool TryParse([NotNullWhen(true)] string? s, out Ipv4Address address)
    {
        address = default;
        if (s is null) return false;
        var parts = s.Split('.');
        if (parts.Length != 4) return false;
        uint v = 0;
        foreach (var p in parts)
        {
            if (p.Length is 0 or > 3 || !byte.TryParse(p, System.Globalization.NumberStyles.None, null, out var b)) return false;
            v = (v << 8) | b;
        }
        address = new Ipv4Address(v);
        return true;
    }

    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}
