using System.Buffers.Binary;

namespace Xmit.Wire;

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      |     Code      |          Checksum             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Identifier (echo) / unused  | Seq (echo) / Next-hop MTU     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Data: echo payload, or the offending IP header + 8 bytes     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   (RFC 792, RFC 1191)

public static class IcmpType
{
    public const byte EchoReply = 0;
    public const byte DestinationUnreachable = 3;
    public const byte EchoRequest = 8;
    public const byte TimeExceeded = 11;
}

public static class IcmpCode
{
    public const byte NetUnreachable = 0;
    public const byte HostUnreachable = 1;
    public const byte ProtocolUnreachable = 2;
    public const byte PortUnreachable = 3;
    /// <summary>Fragmentation needed and DF set; the next-hop MTU is in bytes 6–7 (RFC 1191).</summary>
    public const byte FragmentationNeeded = 4;
    /// <summary>Time exceeded: fragment reassembly time exceeded.</summary>
    public const byte FragmentReassemblyTimeExceeded = 1;
}

/// <summary>A view of an ICMP message. The checked constructor requires the 8-byte header.</summary>
public readonly ref struct IcmpPacket
{
    public const int HeaderLength = 8;
    private readonly Span<byte> _b;

    private IcmpPacket(Span<byte> b) => _b = b;

    public static bool TryCreate(Span<byte> buffer, out IcmpPacket packet)
    {
        packet = buffer.Length >= HeaderLength ? new IcmpPacket(buffer) : default;
        return buffer.Length >= HeaderLength;
    }

    public byte Type { get => _b[0]; set => _b[0] = value; }
    public byte Code { get => _b[1]; set => _b[1] = value; }
    public ushort Checksum { get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], value); }
    public ushort EchoIdentifier { get => BinaryPrimitives.ReadUInt16BigEndian(_b[4..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[4..], value); }
    public ushort EchoSequence { get => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], value); }
    /// <summary>Next-hop MTU of a fragmentation-needed message.</summary>
    public ushort NextHopMtu { get => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], value); }
    /// <summary>The 4 bytes after the checksum (unused / id+seq / MTU) as one word.</summary>
    public uint RestOfHeader { get => BinaryPrimitives.ReadUInt32BigEndian(_b[4..]); set => BinaryPrimitives.WriteUInt32BigEndian(_b[4..], value); }
    public Span<byte> Data => _b[HeaderLength..];
    public Span<byte> Bytes => _b;

    public void FillChecksum()
    {
        Checksum = 0;
        Checksum = Wire.Checksum.Compute(_b);
    }

    public bool VerifyChecksum() => Wire.Checksum.Verify(_b);
}

/// <summary>The parsed ICMP header: type, code and the 4-byte rest-of-header (echo id/seq, or MTU).</summary>
public readonly record struct IcmpRepr(byte Type, byte Code, uint RestOfHeader, int DataLength)
{
    public static IcmpRepr Echo(bool request, ushort id, ushort seq, int dataLength) =>
        new(request ? IcmpType.EchoRequest : IcmpType.EchoReply, 0, ((uint)id << 16) | seq, dataLength);

    public static IcmpRepr DestinationUnreachable(byte code, ushort nextHopMtu, int dataLength) =>
        new(IcmpType.DestinationUnreachable, code, nextHopMtu, dataLength);

    public ushort EchoIdentifier => (ushort)(RestOfHeader >> 16);
    public ushort EchoSequence => (ushort)RestOfHeader;
    public ushort NextHopMtu => (ushort)RestOfHeader;

    public static bool TryParse(IcmpPacket p, out IcmpRepr repr)
    {
        repr = default;
        if (!p.VerifyChecksum()) return false;
        repr = new IcmpRepr(p.Type, p.Code, p.RestOfHeader, p.Bytes.Length - IcmpPacket.HeaderLength);
        return true;
    }

    /// <summary>Writes the header; the data must already follow it in <paramref name="buffer"/>. Fills the checksum.</summary>
    public void Emit(Span<byte> buffer)
    {
        if (!IcmpPacket.TryCreate(buffer[..(IcmpPacket.HeaderLength + DataLength)], out var p)) ThrowHelper.OutOfRange(nameof(buffer));
        p.Type = Type;
        p.Code = Code;
        p.RestOfHeader = RestOfHeader;
        p.FillChecksum();
    }
}
