using System.Buffers.Binary;
using Xmit.Time;

namespace Xmit.Fuzz;

/// <summary>
/// Mutates a valid frame from the seed: bit flips, bytes set to extremes, truncation, junk appended, and the
/// fields parsers trust set to bogus values (IP total length, IHL, UDP length, TCP data offset, fragment offset
/// and flags, option lengths 0/1/255). Most mutated frames then get their checksums recomputed, so they reach
/// the code behind the checksum checks.
/// </summary>
public sealed class FrameMutator(DeterministicRandom random)
{
    private static readonly byte[] Extremes = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE];
    private static readonly ushort[] Lengths = [0, 1, 7, 8, 19, 20, 21, 27, 28, 40, 60, 576, 1480, 1500, 1501, 65534, 65535];

    /// <summary>Mutations applied so far, by name (for the report).</summary>
    public Dictionary<string, long> Applied { get; } = new();

    /// <summary>Applies 0 to 4 mutations; returns how many.</summary>
    public int Mutate(Frame f)
    {
        // One frame in eight stays valid: the state it drives keeps later mutations meaningful.
        int n = random.NextUInt32(8) == 0 ? 0 : 1 + (int)random.NextUInt32(4);
        for (int i = 0; i < n && f.Length > 0; i++) One(f);
        if (n > 0 && random.NextUInt32(10) < 7) FrameWriter.FixChecksums(f);
        return n;
    }

    private void One(Frame f)
    {
        switch (random.NextUInt32(12))
        {
            case 0: Count("bitflip"); for (int k = 1 + (int)random.NextUInt32(8); k > 0; k--) f.Bytes[Pick(f)] ^= (byte)(1 << (int)random.NextUInt32(8)); break;
            case 1: Count("extreme"); f.Bytes[Pick(f)] = Extremes[random.NextUInt32((uint)Extremes.Length)]; break;
            case 2: Count("truncate"); f.Length = (int)random.NextUInt32((uint)f.Length); break;
            case 3:
            {
                Count("extend");
                int add = Math.Min(1 + (int)random.NextUInt32(64), Frame.MaxLength - f.Length);
                for (int k = 0; k < add; k++) f.Bytes[f.Length + k] = (byte)random.NextUInt32();
                f.Length += add;
                break;
            }
            case 4 when f.Ip >= 0: Count("ip-total-length"); Write16(f, f.Ip + 2, BogusLength()); break;
            case 5 when f.Ip >= 0: Count("ihl"); f.Bytes[f.Ip] = (byte)((uint)(f.Bytes[f.Ip] & 0xF0) | random.NextUInt32(16)); break;
            case 6 when f.Ip >= 0: Count("fragment"); Write16(f, f.Ip + 6, Fragment()); break;
            case 7 when f.L4 >= 0 && f.Protocol == Wire.IpProtocol.Udp: Count("udp-length"); Write16(f, f.L4 + 4, BogusLength()); break;
            case 7 when f.L4 >= 0 && f.Protocol == Wire.IpProtocol.Tcp: Count("tcp-data-offset"); Set(f, f.L4 + 12, (byte)((random.NextUInt32(16) << 4) | (uint)(f.Bytes[f.L4 + 12] & 0x0F))); break;
            case 8 when f.Options.Count > 0:
            {
                Count("option-length");
                int at = f.Options[(int)random.NextUInt32((uint)f.Options.Count)] + 1;
                Set(f, at, random.NextUInt32(4) switch { 0 => 0, 1 => 1, 2 => 255, _ => (byte)random.NextUInt32() });
                break;
            }
            case 9 when f.L4 >= 0 && f.Protocol == Wire.IpProtocol.Tcp: Count("tcp-flags"); Set(f, f.L4 + 13, (byte)random.NextUInt32()); break;
            case 10 when f.Ip >= 0: Count("ip-version-or-protocol"); if (random.NextUInt32(2) == 0) Set(f, f.Ip, (byte)((random.NextUInt32(16) << 4) | (uint)(f.Bytes[f.Ip] & 0x0F))); else Set(f, f.Ip + 9, (byte)random.NextUInt32(4) switch { 0 => 1, 1 => 6, 2 => 17, _ => (byte)random.NextUInt32() }); break;
            case 11 when f.L4 >= 0:
            {
                // A 16- or 32-bit field of the transport header (ports, sequence numbers, window, ICMP rest) set to an extreme.
                Count("l4-field");
                int at = f.L4 + 2 * (int)random.NextUInt32(10);
                Write16(f, at, random.NextUInt32(3) switch { 0 => 0, 1 => 0xFFFF, _ => (ushort)random.NextUInt32() });
                break;
            }
            default: Count("bitflip"); f.Bytes[Pick(f)] ^= (byte)(1 << (int)random.NextUInt32(8)); break;
        }
    }

    private ushort BogusLength() => random.NextUInt32(3) == 0 ? (ushort)random.NextUInt32() : Lengths[random.NextUInt32((uint)Lengths.Length)];

    private ushort Fragment() => random.NextUInt32(5) switch
    {
        0 => 0x2000,                                             // MF, offset 0
        1 => (ushort)(0x2000 | random.NextUInt32(0x2000)),       // MF, any offset
        2 => (ushort)random.NextUInt32(0x2000),                  // last fragment at any offset
        3 => 0x1FFF,                                             // the largest offset: 65528 bytes in
        _ => (ushort)random.NextUInt32(),                        // DF, MF and the reserved bit too
    };

    private int Pick(Frame f) => (int)random.NextUInt32((uint)f.Length);

    private static void Set(Frame f, int at, byte value)
    {
        if (at < f.Length) f.Bytes[at] = value;
    }

    private static void Write16(Frame f, int at, ushort value)
    {
        if (at + 2 <= f.Length) BinaryPrimitives.WriteUInt16BigEndian(f.Bytes.AsSpan(at), value);
    }

    private void Count(string name) => Applied[name] = Applied.GetValueOrDefault(name) + 1;
}
