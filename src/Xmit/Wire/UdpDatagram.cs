using System.Buffers.Binary;

namespace Xmit.Wire;

//  0      7 8     15 16    23 24    31
// +--------+--------+--------+--------+
// |     Source      |   Destination   |
// |      Port       |      Port       |
// +--------+--------+--------+--------+
// |                 |                 |
// |     Length      |    Checksum     |
// +--------+--------+--------+--------+
// |          data octets ...            (RFC 768)

/// <summary>A view of a UDP header and payload. The checked constructor requires the length field to fit the buffer.</summary>
public readonly ref struct UdpDatagram
{
    public const int HeaderLength = 8;
    private readonly Span<byte> _b;

    private UdpDatagram(Span<byte> b) => _b = b;

    public static bool TryCreate(Span<byte> buffer, out UdpDatagram datagram)
    {
        datagram = default;
        if (buffer.Length < HeaderLength) return false;
        int len = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
        if (len < HeaderLength || len > buffer.Length) return false;
        datagram = new UdpDatagram(buffer[..len]);
        return true;
    }

    public static UdpDatagram CreateForEmit(Span<byte> buffer, int payloadLength)
    {
        if (buffer.Length < HeaderLength + payloadLength || HeaderLength + payloadLength > ushort.MaxValue) ThrowHelper.OutOfRange(nameof(payloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], (ushort)(HeaderLength + payloadLength));
        return new UdpDatagram(buffer[..(HeaderLength + payloadLength)]);
    }

    public ushort SourcePort { get => BinaryPrimitives.ReadUInt16BigEndian(_b); set => BinaryPrimitives.WriteUInt16BigEndian(_b, value); }
    public ushort DestinationPort { get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], value); }
    public ushort Length => BinaryPrimitives.ReadUInt16BigEndian(_b[4..]);
    public ushort Checksum { get => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], value); }
    public Span<byte> Payload => _b[HeaderLength..];
    public Span<byte> Bytes => _b;

    /// <summary>Computes the checksum over pseudo-header, header and payload; 0 is sent as 0xFFFF (RFC 768).</summary>
    /// <remarks>Linux: net/ipv4/udp.c udp4_hwcsum() / udp_csum() + csum_tcpudp_magic()</remarks>
    public void FillChecksum(Ipv4Address src, Ipv4Address dst)
    {
        Checksum = 0;
        ushort c = Wire.Checksum.Fold(Wire.Checksum.Add(Wire.Checksum.PseudoHeader(src, dst, IpProtocol.Udp, _b.Length), _b));
        Checksum = c == 0 ? (ushort)0xFFFF : c;
    }

    /// <summary>True for a correct checksum or none (0 = not computed, allowed over IPv4).</summary>
    public bool VerifyChecksum(Ipv4Address src, Ipv4Address dst) =>
        Checksum == 0 || Wire.Checksum.Fold(Wire.Checksum.Add(Wire.Checksum.PseudoHeader(src, dst, IpProtocol.Udp, _b.Length), _b)) == 0;
}

public readonly record struct UdpRepr(ushort SourcePort, ushort DestinationPort, int PayloadLength)
{
    public static UdpRepr Parse(UdpDatagram d) => new(d.SourcePort, d.DestinationPort, d.Length - UdpDatagram.HeaderLength);

    /// <summary>Writes the header; the payload must already be in place after it. Fills the checksum.</summary>
    public void Emit(Span<byte> buffer, Ipv4Address src, Ipv4Address dst)
    {
        var d = UdpDatagram.CreateForEmit(buffer, PayloadLength);
        d.SourcePort = SourcePort;
        d.DestinationPort = DestinationPort;
        d.FillChecksum(src, dst);
    }
}
