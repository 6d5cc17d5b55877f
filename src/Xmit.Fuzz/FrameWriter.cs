using System.Buffers.Binary;
using Xmit.Wire;

namespace Xmit.Fuzz;

/// <summary>
/// Writes valid Ethernet, ARP, IPv4 (with options), ICMP, UDP and TCP (with options) headers into a
/// <see cref="Frame"/>, byte by byte, and recomputes checksums after a mutation. Written independently of the
/// stack's own emitters so a bug in those cannot hide one in the parsers.
/// </summary>
public static class FrameWriter
{
    public const int EthernetHeader = 14;

    public static void Ethernet(Frame f, MacAddress dst, MacAddress src, ushort type)
    {
        dst.Write(f.Bytes.AsSpan(0));
        src.Write(f.Bytes.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.Bytes.AsSpan(12), type);
        f.Length = EthernetHeader;
    }

    /// <summary>An ARP packet for IPv4 over Ethernet (RFC 826).</summary>
    public static void Arp(Frame f, ushort op, MacAddress sha, Ipv4Address spa, MacAddress tha, Ipv4Address tpa)
    {
        var b = f.Bytes.AsSpan(EthernetHeader);
        BinaryPrimitives.WriteUInt16BigEndian(b, 1);      // hardware: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], EtherType.Ipv4);
        b[4] = 6;
        b[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(b[6..], op);
        sha.Write(b[8..]);
        spa.Write(b[14..]);
        tha.Write(b[18..]);
        tpa.Write(b[24..]);
        f.Length = EthernetHeader + 28;
    }

    /// <summary>
    /// An IPv4 header at offset 14 with <paramref name="options"/> (padded to 4 bytes with EOL) for a payload of
    /// <paramref name="payloadLength"/> bytes written next by the caller. Returns the offset of the payload.
    /// </summary>
    public static int Ipv4(Frame f, Ipv4Address src, Ipv4Address dst, byte protocol, int payloadLength, ushort id,
        ushort fragmentField = 0, byte ttl = 64, byte tos = 0, ReadOnlySpan<byte> options = default)
    {
        int at = EthernetHeader;
        int hlen = 20 + ((options.Length + 3) & ~3);
        var b = f.Bytes.AsSpan(at);
        b[0] = (byte)(0x40 | hlen / 4);
        b[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], (ushort)(hlen + payloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(b[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(b[6..], fragmentField);
        b[8] = ttl;
        b[9] = protocol;
        src.Write(b[12..]);
        dst.Write(b[16..]);
        options.CopyTo(b[20..]);
        for (int i = 0; i < options.Length;)
        {
            f.Options.Add(at + 20 + i);
            byte kind = options[i];
            if (kind is 0 or 1 || i + 1 >= options.Length) { i++; continue; }
            i += Math.Max((int)options[i + 1], 2);
        }
        f.Ip = at;
        f.Protocol = protocol;
        f.L4 = at + hlen;
        f.Length = at + hlen + payloadLength;
        return at + hlen;
    }

    /// <summary>A UDP header at <paramref name="at"/>; the payload is already in place or zero.</summary>
    public static void Udp(Frame f, int at, ushort srcPort, ushort dstPort, int payloadLength)
    {
        var b = f.Bytes.AsSpan(at);
        BinaryPrimitives.WriteUInt16BigEndian(b, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(b[4..], (ushort)(8 + payloadLength));
    }

    /// <summary>A TCP header at <paramref name="at"/> with <paramref name="options"/> (padded with NOPs). Returns the header length.</summary>
    public static int Tcp(Frame f, int at, ushort srcPort, ushort dstPort, uint seq, uint ack, byte flags, ushort window,
        ReadOnlySpan<byte> options = default)
    {
        int hlen = 20 + ((options.Length + 3) & ~3);
        var b = f.Bytes.AsSpan(at);
        BinaryPrimitives.WriteUInt16BigEndian(b, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(b[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(b[8..], ack);
        b[12] = (byte)(hlen / 4 << 4);
        b[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(b[14..], window);
        options.CopyTo(b[20..]);
        for (int i = options.Length; i < hlen - 20; i++) b[20 + i] = 1; // NOP padding
        for (int i = 0; i < options.Length;)
        {
            f.Options.Add(at + 20 + i);
            byte kind = options[i];
            if (kind is 0 or 1 || i + 1 >= options.Length) { i++; continue; }
            i += Math.Max((int)options[i + 1], 2);
        }
        return hlen;
    }

    /// <summary>An ICMP header (type, code, the 4-byte rest) at <paramref name="at"/>.</summary>
    public static void Icmp(Frame f, int at, byte type, byte code, uint rest)
    {
        var b = f.Bytes.AsSpan(at);
        b[0] = type;
        b[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(b[4..], rest);
    }

    /// <summary>
    /// Recomputes the IPv4 header checksum and the ICMP/UDP/TCP checksum for whatever the frame now says, as far
    /// as its bytes go: a mutated frame then reaches the code past the checksum checks instead of dying there.
    /// </summary>
    public static void FixChecksums(Frame f)
    {
        if (f.Ip < 0 || f.Length < f.Ip + 20) return;
        var ip = f.Bytes.AsSpan(f.Ip, f.Length - f.Ip);
        int hlen = (ip[0] & 0x0F) * 4;
        if (hlen < 20 || hlen > ip.Length) return;
        ip[10] = 0;
        ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..hlen]));
        int total = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(ip[2..]), ip.Length);
        if (total <= hlen) return;
        bool firstFragment = (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1FFF) == 0;
        if (!firstFragment) return;
        var l4 = ip[hlen..total];
        var src = Ipv4Address.Read(ip[12..]);
        var dst = Ipv4Address.Read(ip[16..]);
        switch (ip[9])
        {
            case IpProtocol.Icmp when l4.Length >= 4:
                l4[2] = 0;
                l4[3] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(l4[2..], Checksum.Compute(l4));
                break;
            case IpProtocol.Udp when l4.Length >= 8:
            {
                // A fragmented datagram's checksum covers the whole datagram: only a whole one can be fixed here.
                if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x2000) != 0) return;
                int len = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(l4[4..]), l4.Length);
                if (len < 8) return;
                l4[6] = 0;
                l4[7] = 0;
                ushort c = Checksum.Fold(Checksum.Add(Checksum.PseudoHeader(src, dst, IpProtocol.Udp, len), l4[..len]));
                BinaryPrimitives.WriteUInt16BigEndian(l4[6..], c == 0 ? (ushort)0xFFFF : c);
                break;
            }
            case IpProtocol.Tcp when l4.Length >= 18:
                if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x2000) != 0) return;
                l4[16] = 0;
                l4[17] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(l4[16..], Checksum.Fold(Checksum.Add(Checksum.PseudoHeader(src, dst, IpProtocol.Tcp, l4.Length), l4)));
                break;
        }
    }
}
