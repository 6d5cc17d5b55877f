using System.Buffers.Binary;
using Xmit.Buffers;
using Xmit.Wire;

namespace Xmit.Link;

/// <summary>Checksums over skb data that may span head, fragments and frag list.</summary>
public static class SkbChecksum
{
    /// <summary>csum_partial over [offset, offset+length) of the skb (from skb->data), not folded.</summary>
    /// <remarks>Linux: net/core/skbuff.c skb_checksum()</remarks>
    public static ulong Sum(SkBuff skb, int offset, int length, ulong sum = 0)
    {
        Span<byte> chunk = stackalloc byte[512];
        while (length > 0)
        {
            int n = Math.Min(length, chunk.Length);
            skb.CopyBits(offset, chunk[..n]);
            // Every chunk but the last is even-sized, so 16-bit alignment is kept.
            sum = Checksum.Add(sum, chunk[..n]);
            offset += n;
            length -= n;
        }
        return sum;
    }

    /// <summary>
    /// skb_checksum_help(): finishes a CHECKSUM_PARTIAL skb in software. The field at csum_start+csum_offset
    /// already holds the pseudo-header sum; sum from csum_start to the end and store the folded result.
    /// </summary>
    /// <remarks>Linux: net/core/dev.c skb_checksum_help()</remarks>
    public static void Help(SkBuff skb)
    {
        int start = skb.CsumStart - skb.DataOffset;
        int field = start + skb.CsumOffset;
        ushort result = Checksum.Fold(Sum(skb, start, skb.Len - start));
        if (result == 0) result = 0xFFFF; // CSUM_MANGLED_0: 0 would mean "no checksum" to UDP
        BinaryPrimitives.WriteUInt16BigEndian(skb.Data.Slice(field, 2), result);
        skb.IpSummed = ChecksumState.None;
    }
}
