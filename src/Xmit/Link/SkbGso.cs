using System.Buffers.Binary;
using Xmit.Buffers;
using Xmit.Wire;

namespace Xmit.Link;

/// <summary>
/// Software segmentation of UDP and TCP GSO skbs for devices that cannot do it (and for GSO frames received from a
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

    /// <summary>
    /// Segments a TCP GSO skb (data at the link header) into MSS-sized segments: sequence numbers advance, PSH
    /// and FIN stay only on the last segment and CWR only on the first, IP IDs are consecutive, checksums are
    /// computed. Takes ownership of <paramref name="skb"/>.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_offload.c tcp_gso_segment(), tcp4_gso_segment(); net/ipv4/af_inet.c inet_gso_segment()</remarks>
    public static void SegmentTcp(SkBuff skb, SkBuffPool pool, List<SkBuff> segments)
    {
        int macLen = skb.NetworkHeader - skb.DataOffset;
        int l3 = skb.TransportHeader - skb.NetworkHeader;
        int l4 = (skb.Head[skb.TransportHeader + 12] >> 4) * 4;
        int headers = macLen + l3 + l4;
        int payload = skb.Len - headers;
        int gso = skb.GsoSize;
        Span<byte> hdr = stackalloc byte[Math.Min(headers, 192)];
        skb.CopyBits(0, hdr);
        Ipv4Packet.TryCreate(hdr[macLen..], out var ip0);
        ushort id = ip0.Identification;
        var src = ip0.Source;
        var dst = ip0.Destination;
        uint seq0 = BinaryPrimitives.ReadUInt32BigEndian(hdr[(macLen + l3 + 4)..]);
        byte flags = hdr[macLen + l3 + 13];
        int count = (payload + gso - 1) / gso;
        for (int i = 0; i < count; i++)
        {
            int off = i * gso;
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
            ip.TotalLength = (ushort)(l3 + l4 + n);
            ip.Identification = (ushort)(id + i);
            ip.FillChecksum();
            var tcp = d.Slice(macLen + l3, l4 + n);
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq0 + (uint)off);
            byte f = flags;
            if (i < count - 1) f &= unchecked((byte)~(TcpFlags.Fin | TcpFlags.Psh));
            if (i > 0) f &= unchecked((byte)~TcpFlags.Cwr);
            tcp[13] = f;
            tcp[16] = tcp[17] = 0;
            ushort c = Checksum.Fold(Checksum.Add(Checksum.PseudoHeader(src, dst, IpProtocol.Tcp, tcp.Length), tcp));
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], c);
            seg.IpSummed = ChecksumState.None;
            skb.Sk?.SetOwnerW(seg);
            segments.Add(seg);
        }
        skb.Consume();
    }
}
