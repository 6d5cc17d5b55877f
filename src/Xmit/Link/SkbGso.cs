using System.Buffers.Binary;
using Xmit.Buffers;
using Xmit.Wire;

namespace Xmit.Link;

/// <summary>
/// Software segmentation of UDP GSO skbs for devices that cannot do it (and for GSO frames received from a
/// TAP): each segment is a datagram of its own with the same headers, its own lengths and checksums, and
/// consecutive IP IDs. Segments are charged to the original's socket; the original is consumed.
/// </summary>
/// <remarks>Linux: net/ipv4/udp_offload.c __udp_gso_segment(); net/core/dev.c validate_xmit_skb() → skb_gso_segment()</remarks>
public static class SkbGso
{
    /// <summary>Segments <paramref name="skb"/> (data at the link header) into <paramref name="segments"/>; takes ownership of it.</summary>
    public static void SegmentUdp(SkBuff skb, SkBuffPool pool, bool hardwareChecksum, List<SkBuff> segments)
    {
        int macLen = skb.NetworkHeader - skb.DataOffset;
        int l3 = skb.TransportHeader - skb.NetworkHeader;
        int headers = macLen + l3 + UdpDatagram.HeaderLength;
        int payload = skb.Len - headers;
        int gso = skb.GsoSize;
        Span<byte> hdr = stackalloc byte[Math.Min(headers, 128)];
        skb.CopyBits(0, hdr);
        Ipv4Packet.TryCreate(hdr[macLen..], out var ip0);
        ushort id = ip0.Identification;
        var src = ip0.Source;
        var dst = ip0.Destination;
        for (int off = 0, i = 0; off < payload || i == 0; off += gso, i++)
        {
            int n = Math.Min(gso, payload - off);
            var seg = pool.Alloc(headers + n + 16);
            seg.CopyMetadataFrom(skb);
            seg.Reserve(16);
            var d = seg.Put(headers + n);
            hdr.CopyTo(d);
            skb.CopyBits(headers + off, d.Slice(headers, n));
            seg.MacHeader = seg.DataOffset;
            seg.NetworkHeader = seg.DataOffset + macLen;
            seg.TransportHeader = seg.NetworkHeader + l3;
            Ipv4Packet.TryCreate(d[macLen..], out var ip);
            ip.TotalLength = (ushort)(l3 + UdpDatagram.HeaderLength + n);
            ip.Identification = (ushort)(id + i);
            ip.FillChecksum();
            var udp = d.Slice(macLen + l3, UdpDatagram.HeaderLength + n);
            BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udp.Length);
            udp[6] = udp[7] = 0;
            ulong pseudo = Checksum.PseudoHeader(src, dst, IpProtocol.Udp, udp.Length);
            if (hardwareChecksum)
            {
                BinaryPrimitives.WriteUInt16BigEndian(udp[6..], (ushort)~Checksum.Fold(pseudo));
                seg.IpSummed = ChecksumState.Partial;
                seg.CsumStart = seg.TransportHeader;
                seg.CsumOffset = 6;
            }
            else
            {
                ushort c = Checksum.Fold(Checksum.Add(pseudo, udp));
                BinaryPrimitives.WriteUInt16BigEndian(udp[6..], c == 0 ? (ushort)0xFFFF : c);
                seg.IpSummed = ChecksumState.None;
            }
            skb.Sk?.SetOwnerW(seg);
            segments.Add(seg);
            if (payload == 0) break;
        }
        skb.Consume();
    }
}
