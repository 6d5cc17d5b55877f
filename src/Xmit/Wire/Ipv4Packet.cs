using System.Buffers.Binary;

namespace Xmit.Wire;

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version|  IHL  |Type of Service|          Total Length         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Identification        |Flags|      Fragment Offset    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Time to Live |    Protocol   |         Header Checksum       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       Source Address                          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Destination Address                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Options                    |    Padding    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   (RFC 791)

public static class IpProtocol
{
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
}

/// <summary>
/// A view of an IPv4 header and its payload. <see cref="TryCreate"/> checks version, IHL and that the
/// header fits; <see cref="TryCreateChecked"/> also checks total length, as ip_rcv_core() does.
/// </summary>
public readonly ref struct Ipv4Packet
{
    public const int MinHeaderLength = 20;
    public const int MaxHeaderLength = 60;
    public const ushort FlagDf = 0x4000;
    public const ushort FlagMf = 0x2000;
    public const ushort OffsetMask = 0x1FFF;

    private readonly Span<byte> _b;

    private Ipv4Packet(Span<byte> b) => _b = b;

    /// <summary>Views a header already laid out (version 4, IHL ≥ 5, header within the buffer).</summary>
    public static bool TryCreate(Span<byte> buffer, out Ipv4Packet packet)
    {
        packet = default;
        if (buffer.Length < MinHeaderLength) return false;
        int ihl = (buffer[0] & 0x0F) * 4;
        if (buffer[0] >> 4 != 4 || ihl < MinHeaderLength || ihl > buffer.Length) return false;
        packet = new Ipv4Packet(buffer);
        return true;
    }

    /// <summary>Like <see cref="TryCreate"/>, and the total length covers the header and fits the buffer.</summary>
    public static bool TryCreateChecked(Span<byte> buffer, out Ipv4Packet packet)
    {
        if (!TryCreate(buffer, out packet)) return false;
        int total = packet.TotalLength;
        if (total < packet.HeaderLength || total > buffer.Length) { packet = default; return false; }
        return true;
    }

    /// <summary>Lays out a header of <paramref name="headerLength"/> bytes (20..60, multiple of 4) for emitting.</summary>
    public static Ipv4Packet CreateForEmit(Span<byte> buffer, int headerLength = MinHeaderLength)
    {
        if (headerLength < MinHeaderLength || headerLength > MaxHeaderLength || (headerLength & 3) != 0 || buffer.Length < headerLength)
            ThrowHelper.OutOfRange(nameof(headerLength));
        buffer[0] = (byte)(0x40 | (headerLength / 4));
        return new Ipv4Packet(buffer);
    }

    public int HeaderLength => (_b[0] & 0x0F) * 4;
    public byte Tos { get => _b[1]; set => _b[1] = value; }
    public ushort TotalLength { get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], value); }
    public ushort Identification { get => BinaryPrimitives.ReadUInt16BigEndian(_b[4..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[4..], value); }
    /// <summary>The 16-bit flags + fragment offset field as on the wire.</summary>
    public ushort FragmentField { get => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], value); }
    public bool DontFragment => (FragmentField & FlagDf) != 0;
    public bool MoreFragments => (FragmentField & FlagMf) != 0;
    /// <summary>Fragment offset in bytes.</summary>
    public int FragmentOffset => (FragmentField & OffsetMask) * 8;
    public bool IsFragment => (FragmentField & (FlagMf | OffsetMask)) != 0;
    public byte Ttl { get => _b[8]; set => _b[8] = value; }
    public byte Protocol { get => _b[9]; set => _b[9] = value; }
    public ushort HeaderChecksum { get => BinaryPrimitives.ReadUInt16BigEndian(_b[10..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[10..], value); }
    public Ipv4Address Source { get => Ipv4Address.Read(_b[12..]); set => value.Write(_b[12..]); }
    public Ipv4Address Destination { get => Ipv4Address.Read(_b[16..]); set => value.Write(_b[16..]); }
    public Span<byte> Options => _b[MinHeaderLength..HeaderLength];
    public Span<byte> Header => _b[..HeaderLength];
    /// <summary>The payload as bounded by total length (callers use <see cref="TryCreateChecked"/> first).</summary>
    public Span<byte> Payload => _b[HeaderLength..Math.Min(TotalLength, _b.Length)];

    /// <summary>ip_send_check(): recomputes the header checksum.</summary>
    /// <remarks>Linux: net/ipv4/ip_output.c ip_send_check()</remarks>
    public void FillChecksum()
    {
        HeaderChecksum = 0;
        HeaderChecksum = Checksum.Compute(Header);
    }

    public bool VerifyChecksum() => Checksum.Verify(Header);
}

/// <summary>The parsed IPv4 header. <see cref="OptionsLength"/> counts option bytes (header = 20 + options).</summary>
public readonly record struct Ipv4Repr(
    Ipv4Address Source,
    Ipv4Address Destination,
    byte Protocol,
    int PayloadLength,
    byte Ttl = 64,
    byte Tos = 0,
    ushort Identification = 0,
    bool DontFragment = false,
    bool MoreFragments = false,
    int FragmentOffset = 0,
    int OptionsLength = 0)
{
    public int HeaderLength => Ipv4Packet.MinHeaderLength + OptionsLength;
    public int TotalLength => HeaderLength + PayloadLength;

    public static bool TryParse(Ipv4Packet p, out Ipv4Repr repr)
    {
        repr = default;
        if (!p.VerifyChecksum()) return false;
        repr = new Ipv4Repr(p.Source, p.Destination, p.Protocol, p.TotalLength - p.HeaderLength, p.Ttl, p.Tos,
            p.Identification, p.DontFragment, p.MoreFragments, p.FragmentOffset, p.HeaderLength - Ipv4Packet.MinHeaderLength);
        return true;
    }

    /// <summary>Writes the header (options area zero-filled, i.e. EOL) and its checksum.</summary>
    public void Emit(Span<byte> buffer)
    {
        if ((OptionsLength & 3) != 0 || FragmentOffset % 8 != 0) ThrowHelper.Argument("options length and fragment offset must be multiples of 4 and 8", nameof(buffer));
        var p = Ipv4Packet.CreateForEmit(buffer, HeaderLength);
        p.Tos = Tos;
        p.TotalLength = (ushort)TotalLength;
        p.Identification = Identification;
        p.FragmentField = (ushort)((DontFragment ? Ipv4Packet.FlagDf : 0) | (MoreFragments ? Ipv4Packet.FlagMf : 0) | (FragmentOffset / 8));
        p.Ttl = Ttl;
        p.Protocol = Protocol;
        p.Source = Source;
        p.Destination = Destination;
        p.Options.Clear();
        p.FillChecksum();
    }
}
