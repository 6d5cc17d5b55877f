using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Xmit.Wire;

/// <summary>
/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit words.
/// Sums are kept unfolded in a ulong so long buffers and several pieces can be added before folding.
/// </summary>
/// <remarks>
/// Long buffers are summed 32 bytes at a time in native (little-endian) word order and byte-swapped once at the
/// end: RFC 1071 §2(B), the ones' complement sum is independent of byte order up to a swap of the result.
/// Linux: include/net/checksum.h csum_partial(), csum_fold(), csum_tcpudp_magic(); arch/x86/lib/csum-partial_64.c
/// </remarks>
public static class Checksum
{
    /// <summary>Below this many bytes the scalar loop is as fast as setting up vectors.</summary>
    private const int VectorThreshold = 64;

    /// <summary>Adds <paramref name="data"/> to <paramref name="sum"/> as if it started at an even offset.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        if (data.Length >= VectorThreshold && Vector256.IsHardwareAccelerated)
        {
            int whole = data.Length & ~(Vector256<byte>.Count - 1);
            sum += SwapFolded(SumNativeVector256(data[..whole]));
            data = data[whole..];
        }
        return AddScalar(sum, data);
    }

    /// <summary>The word-at-a-time sum in network order: the reference the vector path is tested against.</summary>
    internal static ulong AddScalar(ulong sum, ReadOnlySpan<byte> data)
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

    /// <summary>
    /// The sum of <paramref name="data"/> (a multiple of 32 bytes) as little-endian 16-bit words. Each 32-bit lane
    /// adds the low and the high word of its element (at most 2 × 0xFFFF per vector and accumulator), so a lane
    /// cannot overflow within <see cref="BlockVectors"/> vectors; the lanes are then widened into the total.
    /// </summary>
    private static ulong SumNativeVector256(ReadOnlySpan<byte> data)
    {
        var words = MemoryMarshal.Cast<byte, Vector256<uint>>(data);
        var low = Vector256.Create(0xFFFFu);
        ulong total = 0;
        for (int start = 0; start < words.Length; start += BlockVectors)
        {
            var block = words.Slice(start, Math.Min(BlockVectors, words.Length - start));
            Vector256<uint> a0 = default, a1 = default;
            int i = 0;
            for (; i + 2 <= block.Length; i += 2)
            {
                var v0 = block[i];
                var v1 = block[i + 1];
                a0 += (v0 & low) + (v0 >> 16);
                a1 += (v1 & low) + (v1 >> 16);
            }
            if (i < block.Length) a0 += (block[i] & low) + (block[i] >> 16);
            var (w0, w1) = Vector256.Widen(a0);
            var (w2, w3) = Vector256.Widen(a1);
            total += Vector256.Sum(w0 + w1 + w2 + w3);
        }
        return total;
    }

    /// <summary>Vectors per block: 2 × 0xFFFF per vector, so 16384 of them stay below 2^32 in each lane.</summary>
    private const int BlockVectors = 16384;

    /// <summary>A native-order sum as a network-order 16-bit sum with the same ones' complement value.</summary>
    private static ulong SwapFolded(ulong nativeSum)
    {
        ushort folded = FoldCarries(nativeSum);
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(folded) : folded;
    }

    /// <summary>Folds a sum to 16 bits and complements it: the value to store in a header.</summary>
    public static ushort Fold(ulong sum) => (ushort)~FoldCarries(sum);

    /// <summary>The ones' complement sum in 16 bits: the carries added back in until none is left.</summary>
    private static ushort FoldCarries(ulong sum)
    {
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>The checksum of <paramref name="data"/> alone.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Fold(Add(0, data));

    /// <summary>The IPv4 pseudo-header sum for TCP/UDP (not folded).</summary>
    public static ulong PseudoHeader(Ipv4Address src, Ipv4Address dst, byte protocol, int length)
        => (ulong)(src.Value >> 16) + (src.Value & 0xFFFF) + (dst.Value >> 16) + (dst.Value & 0xFFFF) + protocol + (uint)length;

    /// <summary>True when a span that contains its own checksum field sums to all ones.</summary>
    public static bool Verify(ReadOnlySpan<byte> data) => Compute(data) == 0;
}
