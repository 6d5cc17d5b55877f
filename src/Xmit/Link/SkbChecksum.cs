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
        // The head and each paged fragment are summed where they lie, so a TCP segment's checksum reads its payload once
        // instead of copying it first. A piece of odd length that is not the last would leave the next one misaligned in
        // the 16-bit sum: from there on (and for a frag list) the copying loop below takes over, at an even position.
        if (offset >= 0 && length >= 0 && offset + length <= skb.Len)
        {
            int headLen = skb.HeadLen;
            if (offset < headLen)
            {
                int n = Math.Min(headLen - offset, length);
                if ((n & 1) != 0 && n < length) return SumCopying(skb, offset, length, sum);
                sum = Checksum.Add(sum, skb.Data.Slice(offset, n));
                offset += n;
                length -= n;
                if (length == 0) return sum;
            }
            int pos = headLen;
            for (int i = 0; i < skb.NrFrags; i++)
            {
                var span = skb.Frag(i).Span;
                if (offset >= pos + span.Length) { pos += span.Length; continue; }
                int from = offset - pos;
                int n = Math.Min(span.Length - from, length);
                if ((n & 1) != 0 && n < length) break;
                sum = Checksum.Add(sum, span.Slice(from, n));
                offset += n;
                length -= n;
                pos += span.Length;
                if (length == 0) return sum;
            }
        }
        return SumCopying(skb, offset, length, sum);
    }

    /// <summary>skb_checksum() through a bounce buffer: any layout, every chunk but the last of even length.</summary>
    private static ulong SumCopying(SkBuff skb, int offset, int length, ulong sum)
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

    /// <summary>
    /// A NIC's receive checksum engine (NETIF_F_RXCSUM): an unfragmented IPv4 TCP or UDP frame whose checksum is
    /// right goes up CHECKSUM_UNNECESSARY; anything else (a bad checksum, a fragment, ICMP, UDP without a checksum)
    /// stays CHECKSUM_NONE for the stack to check. The IP header is checked by ip_rcv either way.
    /// </summary>
    /// <remarks>Linux: include/linux/skbuff.h CHECKSUM_UNNECESSARY ("device verified the checksum of TCP/UDP over IPv4")</remarks>
    public static void VerifyInHardware(SkBuff frame)
    {
        var b = frame.Data;
        const int ip = EthernetFrame.HeaderLength;
        if (b.Length < ip + Ipv4Packet.MinHeaderLength || b[12] != 0x08 || b[13] != 0x00 || b[ip] >> 4 != 4) return;
        if ((BinaryPrimitives.ReadUInt16BigEndian(b[(ip + 6)..]) & 0x3FFF) != 0) return; // MF or an offset: hardware does not reassemble
        byte protocol = b[ip + 9];
        int ihl = (b[ip] & 0xF) * 4;
        int l4Length = BinaryPrimitives.ReadUInt16BigEndian(b[(ip + 2)..]) - ihl;
        int l4 = ip + ihl;
        if (l4Length < UdpDatagram.HeaderLength || l4 + l4Length > b.Length) return;
        if (protocol == IpProtocol.Udp ? BinaryPrimitives.ReadUInt16BigEndian(b[(l4 + 6)..]) == 0 : protocol != IpProtocol.Tcp) return;
        var src = new Ipv4Address(BinaryPrimitives.ReadUInt32BigEndian(b[(ip + 12)..]));
        var dst = new Ipv4Address(BinaryPrimitives.ReadUInt32BigEndian(b[(ip + 16)..]));
        ulong sum = Checksum.Add(Checksum.PseudoHeader(src, dst, protocol, l4Length), b.Slice(l4, l4Length));
        if (Checksum.Fold(sum) == 0) frame.IpSummed = ChecksumState.Unnecessary;
    }
}
