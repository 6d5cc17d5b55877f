using System.Buffers.Binary;

namespace Xmit.Wire;

/// <summary>
/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit words.
/// Sums are kept unfolded in a ulong so long buffers and several pieces can be added before folding.
/// </summary>
/// <remarks>Linux: include/net/checksum.h csum_partial(), csum_fold(), csum_tcpudp_magic()</remarks>
public static class Checksum
{
    /// <summary>Adds <paramref name="data"/> to <paramref name="sum"/> as if it started at an even offset.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong w = BinaryPrimitives.ReadUInt64BigEndian(data[i..]);
            sum += (w >> 48) + ((w >> 32) & 0xFFFF) + ((w >> 16) & 0xFFFF) + (w & 0xFFFF);
        }
        for (; i + 2 <= data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    /// <summary>Folds a sum to 16 bits and complements it: the value to store in a header.</summary>
    public static ushort Fold(ulong sum)
    {
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>The checksum of <paramref name="data"/> alone.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Fold(Add(0, data));

    /// <summary>The IPv4 pseudo-header sum for TCP/UDP (not folded).</summary>
    public static ulong PseudoHeader(Ipv4Address src, Ipv4Address dst, byte protocol, int length)
        => (ulong)(src.Value >> 16) + (src.Value & 0xFFFF) + (dst.Value >> 16) + (dst.Value & 0xFFFF) + protocol + (uint)length;

    /// <summary>True when a span that contains its own checksum field sums to all ones.</summary>
    public static bool Verify(ReadOnlySpan<byte> data) => Compute(data) == 0;
}
