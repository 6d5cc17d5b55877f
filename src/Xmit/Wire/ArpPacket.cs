using System.Buffers.Binary;

namespace Xmit.Wire;

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Hardware type (1)         |     Protocol type (0x0800)    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | HW len (6)    | Proto len (4) |          Operation            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Sender hardware address (6)  |  Sender protocol address (4)  |
// |  Target hardware address (6)  |  Target protocol address (4)  |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   (RFC 826)

public enum ArpOperation : ushort
{
    Request = 1,
    Reply = 2,
}

/// <summary>A view of an Ethernet/IPv4 ARP packet. The checked constructor rejects other hardware/protocol types.</summary>
public readonly ref struct ArpPacket
{
    public const int Length = 28;
    private readonly Span<byte> _b;

    private ArpPacket(Span<byte> b) => _b = b;

    /// <summary>Accepts only Ethernet (1) / IPv4 (0x0800) with lengths 6 and 4, as arp_rcv() does.</summary>
    public static bool TryCreate(Span<byte> buffer, out ArpPacket packet)
    {
        packet = default;
        if (buffer.Length < Length) return false;
        var p = new ArpPacket(buffer);
        if (p.HardwareType != 1 || p.ProtocolType != EtherType.Ipv4 || p._b[4] != 6 || p._b[5] != 4) return false;
        packet = p;
        return true;
    }

    /// <summary>Lays out an empty Ethernet/IPv4 ARP packet in <paramref name="buffer"/> for emitting.</summary>
    public static ArpPacket CreateForEmit(Span<byte> buffer)
    {
        if (buffer.Length < Length) ThrowHelper.OutOfRange(nameof(buffer));
        BinaryPrimitives.WriteUInt16BigEndian(buffer, 1);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], EtherType.Ipv4);
        buffer[4] = 6;
        buffer[5] = 4;
        return new ArpPacket(buffer);
    }

    public ushort HardwareType => BinaryPrimitives.ReadUInt16BigEndian(_b);
    public ushort ProtocolType => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]);
    public ArpOperation Operation { get => (ArpOperation)BinaryPrimitives.ReadUInt16BigEndian(_b[6..]); set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], (ushort)value); }
    public MacAddress SenderMac { get => MacAddress.Read(_b[8..]); set => value.Write(_b[8..]); }
    public Ipv4Address SenderIp { get => Ipv4Address.Read(_b[14..]); set => value.Write(_b[14..]); }
    public MacAddress TargetMac { get => MacAddress.Read(_b[18..]); set => value.Write(_b[18..]); }
    public Ipv4Address TargetIp { get => Ipv4Address.Read(_b[24..]); set => value.Write(_b[24..]); }
}

public readonly record struct ArpRepr(ArpOperation Operation, MacAddress SenderMac, Ipv4Address SenderIp, MacAddress TargetMac, Ipv4Address TargetIp)
{
    public static ArpRepr Parse(ArpPacket p) => new(p.Operation, p.SenderMac, p.SenderIp, p.TargetMac, p.TargetIp);

    public void Emit(Span<byte> buffer)
    {
        var p = ArpPacket.CreateForEmit(buffer);
        p.Operation = Operation;
        p.SenderMac = SenderMac;
        p.SenderIp = SenderIp;
        p.TargetMac = TargetMac;
        p.TargetIp = TargetIp;
    }

    /// <summary>A gratuitous ARP announces the sender's own mapping: sender and target IP are equal.</summary>
    public bool IsGratuitous => SenderIp == TargetIp;
}
