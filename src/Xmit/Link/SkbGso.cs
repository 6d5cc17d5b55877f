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
        Span<byte> hdr = stackalloc byte[headers]; // at most 14 + 60 + 8
        skb.CopyBits(0, hdr);
        Ipv4Packet.TryCreate(hdr[macLen..], out var ip0);
        ushort id = ip0.Identification;
        var src = ip0.Source;
        var dst = ip0.Destination;
        for (int off = 0, i = 0; off < payload || i == 0; off += gso, i++)
        {
            int n = Math.Min(gso, payload - off);
            var seg = NewSegment(skb, pool, hdr, off, n, macLen, l3, (ushort)(id + i), out var d);
            seg.ZerocopyCloneFrom(skb); // skb_segment() → skb_zerocopy_clone()
            if (i == 0)
            {
                // "preserve TX timestamp flags and TS key for first segment"
                seg.TxFlags = skb.TxFlags & SkbTxFlags.AnyTx;
                seg.TsKey = skb.TsKey;
            }
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

    /// <summary>skb_gso_segment() in software, for a qdisc that must see the segments: TCP or UDP by the skb's GSO type. Takes ownership of <paramref name="skb"/>.</summary>
    /// <remarks>Linux: net/core/gso.c __skb_gso_segment()</remarks>
    public static void Segment(SkBuff skb, List<SkBuff> segments)
    {
        // A CHECKSUM_PARTIAL TCP skb's segments stay partial: the device finishes them, or skb_checksum_help
        // does at transmit for a device without offload.
        if (skb.GsoType == GsoType.TcpV4) SegmentTcp(skb, skb.Pool, hardwareChecksum: skb.IpSummed == ChecksumState.Partial, segments);
        else SegmentUdp(skb, skb.Pool, hardwareChecksum: false, segments);
    }

    /// <summary>The frames <paramref name="skb"/> is on the wire: its GSO segments (skb_shinfo()->gso_segs), or 1 for an skb that is not GSO.</summary>
    public static int Frames(SkBuff skb)
    {
        if (!skb.IsGso) return 1;
        int payload = skb.Len - (SegmentLength(skb) - skb.GsoSize);
        return Math.Max(1, (payload + skb.GsoSize - 1) / skb.GsoSize);
    }

    /// <summary>skb_gso_network_seglen() + the link header: the length of each segment the skb would become.</summary>
    /// <remarks>Linux: net/core/gso.c skb_gso_validate_mac_len(), skb_gso_mac_seglen()</remarks>
    public static int SegmentLength(SkBuff skb)
    {
        int l4 = skb.GsoType == GsoType.TcpV4 ? (skb.Head[skb.TransportHeader + 12] >> 4) * 4 : UdpDatagram.HeaderLength;
        return skb.TransportHeader - skb.DataOffset + l4 + skb.GsoSize;
    }

    /// <summary>
    /// Segments a TCP GSO skb (data at the link header) into MSS-sized segments: sequence numbers advance, PSH
    /// and FIN stay only on the last segment and CWR only on the first, IP IDs are consecutive, checksums are
    /// computed, or left CHECKSUM_PARTIAL with each segment's pseudo-header sum for a device that offloads them
    /// (<paramref name="hardwareChecksum"/>). Takes ownership of <paramref name="skb"/>.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_offload.c tcp_gso_segment(), tcp4_gso_segment(); net/ipv4/af_inet.c inet_gso_segment()</remarks>
    public static void SegmentTcp(SkBuff skb, SkBuffPool pool, bool hardwareChecksum, List<SkBuff> segments)
    {
        int macLen = skb.NetworkHeader - skb.DataOffset;
        int l3 = skb.TransportHeader - skb.NetworkHeader;
        int l4 = (skb.Head[skb.TransportHeader + 12] >> 4) * 4;
        int headers = macLen + l3 + l4;
        int payload = skb.Len - headers;
        int gso = skb.GsoSize;
        Span<byte> hdr = stackalloc byte[headers]; // at most 14 + 60 + 60
        skb.CopyBits(0, hdr);
        Ipv4Packet.TryCreate(hdr[macLen..], out var ip0);
        ushort id = ip0.Identification;
        var src = ip0.Source;
        var dst = ip0.Destination;
        uint seq0 = BinaryPrimitives.ReadUInt32BigEndian(hdr[(macLen + l3 + 4)..]);
        byte flags = hdr[macLen + l3 + 13];
        int count = (payload + gso - 1) / gso;
        var tstamps = skb.TxFlags & SkbTxFlags.AnyTx;
        for (int i = 0; i < count; i++)
        {
            int off = i * gso;
            int n = Math.Min(gso, payload - off);
            var seg = NewSegment(skb, pool, hdr, off, n, macLen, l3, (ushort)(id + i), out var d);
            seg.ZerocopyCloneFrom(skb); // skb_segment() → skb_zerocopy_clone()
            // tcp_gso_tstamp(): the segment holding the timestamped byte asks for the driver's timestamp.
            if (tstamps != SkbTxFlags.None && (int)(skb.TsKey - (seq0 + (uint)off)) < n)
            {
                seg.TxFlags |= tstamps;
                seg.TsKey = skb.TsKey;
                tstamps = SkbTxFlags.None;
            }
            var tcp = d.Slice(macLen + l3, l4 + n);
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq0 + (uint)off);
            byte f = flags;
            if (i < count - 1) f &= unchecked((byte)~(TcpFlags.Fin | TcpFlags.Psh));
            if (i > 0) f &= unchecked((byte)~TcpFlags.Cwr);
            tcp[13] = f;
            tcp[16] = tcp[17] = 0;
            ulong pseudo = Checksum.PseudoHeader(src, dst, IpProtocol.Tcp, tcp.Length);
            if (hardwareChecksum)
            {
                BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~Checksum.Fold(pseudo));
                seg.IpSummed = ChecksumState.Partial;
                seg.CsumStart = seg.TransportHeader;
                seg.CsumOffset = TcpSegment.ChecksumOffset;
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum.Fold(Checksum.Add(pseudo, tcp)));
                seg.IpSummed = ChecksumState.None;
            }
            skb.Sk?.SetOwnerW(seg);
            segments.Add(seg);
        }
        skb.Consume();
    }

    /// <summary>
    /// One segment: the original's headers (<paramref name="hdr"/>, link + IP + transport) followed by
    /// <paramref name="n"/> payload bytes from <paramref name="off"/>, with the IP length, ID and checksum set;
    /// the transport header is the caller's to finish.
    /// </summary>
    private static SkBuff NewSegment(SkBuff skb, SkBuffPool pool, ReadOnlySpan<byte> hdr, int off, int n, int macLen, int l3, ushort id, out Span<byte> data)
    {
        int headers = hdr.Length;
        var seg = pool.Alloc(headers + n + 16);
        seg.CopyMetadataFrom(skb);
        seg.Reserve(16);
        data = seg.Put(headers + n);
        hdr.CopyTo(data);
        skb.CopyBits(headers + off, data.Slice(headers, n));
        seg.MacHeader = seg.DataOffset;
        seg.NetworkHeader = seg.DataOffset + macLen;
        seg.TransportHeader = seg.NetworkHeader + l3;
        Ipv4Packet.TryCreate(data[macLen..], out var ip);
        ip.TotalLength = (ushort)(headers - macLen + n);
        ip.Identification = id;
        ip.FillChecksum();
        return seg;
    }
}
