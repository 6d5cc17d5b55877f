using System.Buffers.Binary;

namespace Xmit.Wire;

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  Destination MAC (6 octets)                   |
// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                               |                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   Source MAC (6 octets)       +
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           EtherType           |   Payload ...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

/// <summary>EtherType values used by the stack.</summary>
public static class EtherType
{
    public const ushort Ipv4 = 0x0800;
    public const ushort Arp = 0x0806;
    public const ushort Ipv6 = 0x86DD;
}

/// <summary>A view of an Ethernet II frame (no FCS). The checked constructor guarantees the header fits.</summary>
public readonly ref struct EthernetFrame
{
    public const int HeaderLength = 14;
    /// <summary>Smallest frame on the wire without FCS; shorter frames are padded.</summary>
    public const int MinFrameLength = 60;

    private readonly Span<byte> _b;

    private EthernetFrame(Span<byte> b) => _b = b;

    public static bool TryCreate(Span<byte> buffer, out EthernetFrame frame)
    {
        frame = buffer.Length >= HeaderLength ? new EthernetFrame(buffer) : default;
        return buffer.Length >= HeaderLength;
    }

    public MacAddress Destination { get => MacAddress.Read(_b); set => value.Write(_b); }
    public MacAddress Source { get => MacAddress.Read(_b[6..]); set => value.Write(_b[6..]); }
    public ushort EtherType { get => BinaryPrimitives.ReadUInt16BigEndian(_b[12..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[12..], value); }
    public Span<byte> Payload => _b[HeaderLength..];
}

/// <summary>The parsed Ethernet header.</summary>
public readonly record struct EthernetRepr(MacAddress Destination, MacAddress Source, ushort EtherType)
{
    public static EthernetRepr Parse(EthernetFrame f) => new(f.Destination, f.Source, f.EtherType);

    public void Emit(EthernetFrame f)
    {
        f.Destination = Destination;
        f.Source = Source;
        f.EtherType = EtherType;
    }
}
