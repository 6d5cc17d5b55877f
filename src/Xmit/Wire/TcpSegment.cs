using System.Buffers.Binary;

namespace Xmit.Wire;

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |          Source Port          |       Destination Port        |
// |                        Sequence Number                        |
// |                    Acknowledgment Number                      |
// |  Data |     |A|C|E|U|A|P|R|S|F|                               |
// | Offset| Rsv |E|W|C|R|C|S|S|Y|I|            Window             |
// |           Checksum            |         Urgent Pointer        |
// |                    Options                    |    Padding    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  (RFC 9293)

/// <summary>TCP header flag bits (the low byte of the flags field).</summary>
public static class TcpFlags
{
    public const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10, Urg = 0x20, Ece = 0x40, Cwr = 0x80;
}

/// <summary>A view of a TCP header and payload. The checked constructor requires the data offset to fit the buffer.</summary>
public readonly ref struct TcpSegment
{
    public const int MinHeaderLength = 20;
    /// <summary>Where the checksum field sits in the header (offsetof(struct tcphdr, check)).</summary>
    public const int ChecksumOffset = 16;
    private readonly Span<byte> _b;

    private TcpSegment(Span<byte> b) => _b = b;

    public static bool TryCreate(Span<byte> buffer, out TcpSegment segment)
    {
        segment = default;
        if (buffer.Length < MinHeaderLength) return false;
        int hl = (buffer[12] >> 4) * 4;
        if (hl < MinHeaderLength || hl > buffer.Length) return false;
        segment = new TcpSegment(buffer);
        return true;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_b);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]);
    public TcpSeq Seq => new(BinaryPrimitives.ReadUInt32BigEndian(_b[4..]));
    public TcpSeq Ack => new(BinaryPrimitives.ReadUInt32BigEndian(_b[8..]));
    public int HeaderLength => (_b[12] >> 4) * 4;
    public byte Flags => _b[13];
    /// <summary>The four bits after the data offset (res1, and AE since AccECN): zero from a classic sender.</summary>
    public int ReservedBits => _b[12] & 0x0f;
    public ushort Window => BinaryPrimitives.ReadUInt16BigEndian(_b[14..]);
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_b[16..]);
    public ushort Urgent => BinaryPrimitives.ReadUInt16BigEndian(_b[18..]);
    public Span<byte> Options => _b[MinHeaderLength..HeaderLength];

    /// <summary>tcp_parse_md5sig_option(): the segment carries a TCP MD5 signature option (kind 19, 18 bytes).</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_parse_md5sig_option()</remarks>
    public bool HasMd5Signature
    {
        get
        {
            var o = Options;
            for (int i = 0; i < o.Length;)
            {
                byte kind = o[i];
                if (kind == 0) return false; // EOL
                if (kind == 1) { i++; continue; } // NOP
                if (i + 1 >= o.Length || o[i + 1] < 2 || i + o[i + 1] > o.Length) return false;
                if (kind == 19) return o[i + 1] == 18;
                i += o[i + 1];
            }
            return false;
        }
    }
    public Span<byte> Payload => _b[HeaderLength..];
    public Span<byte> Bytes => _b;

    public bool VerifyChecksum(Ipv4Address src, Ipv4Address dst) =>
        Wire.Checksum.Fold(Wire.Checksum.Add(Wire.Checksum.PseudoHeader(src, dst, IpProtocol.Tcp, _b.Length), _b)) == 0;
}

/// <summary>The options of a TCP header, parsed: what SYNs negotiate and what every segment may carry.</summary>
/// <remarks>Linux: net/ipv4/tcp_input.c tcp_parse_options()</remarks>
public struct TcpOptions
{
    public ushort Mss;
    public sbyte WindowScale;   // -1: absent
    public bool SackPermitted;
    public bool HasTimestamp;
    public uint TsVal, TsEcr;
    public int SackBlockCount;
    public uint Sack0Start, Sack0End, Sack1Start, Sack1End, Sack2Start, Sack2End, Sack3Start, Sack3End;
    /// <summary>
    /// The Fast Open option (RFC 7413 kind 34, or the experimental kind 254 with magic 0xF989): -1 absent, 0 a
    /// cookie request, else the cookie's length (4 to 16, even) with its bytes in <see cref="FastOpenCookie"/>.
    /// </summary>
    public int FastOpenLength;
    /// <summary>The Fast Open option came as the experimental kind 254 (foc->exp).</summary>
    public bool FastOpenExp;
    /// <summary>The cookie bytes (the first <see cref="FastOpenLength"/> of them), or null.</summary>
    public byte[]? FastOpenCookie;

    /// <summary>TCPOPT_FASTOPEN, TCPOPT_EXP and TCPOPT_FASTOPEN_MAGIC.</summary>
    public const byte FastOpenKind = 34, ExperimentalKind = 254;
    public const ushort FastOpenMagic = 0xF989;

    public static TcpOptions Parse(ReadOnlySpan<byte> o, bool syn)
    {
        var r = new TcpOptions { WindowScale = -1, FastOpenLength = -1 };
        int i = 0;
        while (i < o.Length)
        {
            byte kind = o[i];
            if (kind == 0) break;          // EOL
            if (kind == 1) { i++; continue; } // NOP
            if (i + 1 >= o.Length) break;
            int len = o[i + 1];
            if (len < 2 || i + len > o.Length) break;
            var v = o.Slice(i + 2, len - 2);
            switch (kind)
            {
                case 2 when len == 4 && syn: r.Mss = BinaryPrimitives.ReadUInt16BigEndian(v); break;
                case 3 when len == 3 && syn: r.WindowScale = (sbyte)Math.Min((int)v[0], 14); break;
                case 4 when len == 2 && syn: r.SackPermitted = true; break;
                case 8 when len == 10:
                    r.HasTimestamp = true;
                    r.TsVal = BinaryPrimitives.ReadUInt32BigEndian(v);
                    r.TsEcr = BinaryPrimitives.ReadUInt32BigEndian(v[4..]);
                    break;
                case FastOpenKind when syn:
                    r.ParseFastOpen(v, exp: false);
                    break;
                case ExperimentalKind when syn && len >= 4 && BinaryPrimitives.ReadUInt16BigEndian(v) == FastOpenMagic:
                    r.ParseFastOpen(v[2..], exp: true);
                    break;
                case 5 when len >= 10 && (len - 2) % 8 == 0:
                    r.SackBlockCount = Math.Min((len - 2) / 8, 4);
                    for (int b = 0; b < r.SackBlockCount; b++)
                        r.SetSack(b, BinaryPrimitives.ReadUInt32BigEndian(v[(b * 8)..]), BinaryPrimitives.ReadUInt32BigEndian(v[(b * 8 + 4)..]));
                    break;
            }
            i += len;
        }
        return r;
    }

    /// <summary>
    /// tcp_parse_fastopen_option(): only on a SYN or SYN-ACK. An odd length leaves the option as it was; an empty
    /// one is a cookie request, 4 to 16 bytes a cookie, any other even length an absent one (-1). A later option
    /// replaces an earlier one.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_parse_fastopen_option()</remarks>
    private void ParseFastOpen(ReadOnlySpan<byte> cookie, bool exp)
    {
        int n = cookie.Length;
        if ((n & 1) != 0) return;
        FastOpenLength = n is 0 or (>= 4 and <= 16) ? n : -1;
        FastOpenExp = exp;
        FastOpenCookie = n >= 4 && n <= 16 ? cookie.ToArray() : null;
    }

    public readonly (uint Start, uint End) Sack(int i) => i switch
    {
        0 => (Sack0Start, Sack0End), 1 => (Sack1Start, Sack1End), 2 => (Sack2Start, Sack2End), _ => (Sack3Start, Sack3End),
    };

    public void SetSack(int i, uint start, uint end)
    {
        switch (i)
        {
            case 0: (Sack0Start, Sack0End) = (start, end); break;
            case 1: (Sack1Start, Sack1End) = (start, end); break;
            case 2: (Sack2Start, Sack2End) = (start, end); break;
            default: (Sack3Start, Sack3End) = (start, end); break;
        }
    }
}

/// <summary>A TCP header to write: fields plus the option bytes already laid out (see <see cref="TcpOptionWriter"/>).</summary>
public readonly ref struct TcpHeaderRepr
{
    public ushort SourcePort { get; init; }
    public ushort DestinationPort { get; init; }
    public TcpSeq Seq { get; init; }
    public TcpSeq Ack { get; init; }
    public byte Flags { get; init; }
    public ushort Window { get; init; }

    /// <summary>Writes the header (20 bytes + <paramref name="optionLength"/>, options already in place after it) and the checksum over the whole segment.</summary>
    public void Emit(Span<byte> segment, int optionLength, Ipv4Address src, Ipv4Address dst)
    {
        WriteFields(segment, optionLength);
        ushort c = Wire.Checksum.Fold(Wire.Checksum.Add(Wire.Checksum.PseudoHeader(src, dst, IpProtocol.Tcp, segment.Length), segment));
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], c);
    }

    /// <summary>
    /// Writes the header for CHECKSUM_PARTIAL: the checksum field holds the folded pseudo-header sum, and whoever
    /// finishes the checksum (the device, or skb_checksum_help) sums from the TCP header to the end.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_ipv4.c __tcp_v4_send_check()</remarks>
    public void EmitPartial(Span<byte> segment, int optionLength, Ipv4Address src, Ipv4Address dst)
    {
        WriteFields(segment, optionLength);
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], (ushort)~Wire.Checksum.Fold(Wire.Checksum.PseudoHeader(src, dst, IpProtocol.Tcp, segment.Length)));
    }

    private void WriteFields(Span<byte> segment, int optionLength)
    {
        BinaryPrimitives.WriteUInt16BigEndian(segment, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[2..], DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment[4..], Seq.Value);
        BinaryPrimitives.WriteUInt32BigEndian(segment[8..], Ack.Value);
        segment[12] = (byte)(((TcpSegment.MinHeaderLength + optionLength) / 4) << 4);
        segment[13] = Flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment[14..], Window);
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(segment[18..], 0);
    }
}

/// <summary>
/// Lays out TCP options in Linux's order and packing (MSS; SACK-permitted folded into the timestamp word,
/// else NOP,NOP padded; NOP + window scale; NOP,NOP + SACK blocks), so the bytes match Linux's SYNs and segments.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_output.c tcp_options_write()</remarks>
public ref struct TcpOptionWriter(Span<byte> buffer)
{
    private readonly Span<byte> _b = buffer;
    public int Length { get; private set; }

    public void Mss(ushort mss)
    {
        _b[Length] = 2; _b[Length + 1] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(_b[(Length + 2)..], mss);
        Length += 4;
    }

    /// <summary>The timestamp option, led by SACK-permitted (on a SYN that offers SACK) or by two NOPs.</summary>
    public void Timestamp(uint val, uint ecr, bool sackPermitted)
    {
        if (sackPermitted) { _b[Length] = 4; _b[Length + 1] = 2; }
        else { _b[Length] = 1; _b[Length + 1] = 1; }
        _b[Length + 2] = 8; _b[Length + 3] = 10;
        BinaryPrimitives.WriteUInt32BigEndian(_b[(Length + 4)..], val);
        BinaryPrimitives.WriteUInt32BigEndian(_b[(Length + 8)..], ecr);
        Length += 12;
    }

    public void SackPermitted()
    {
        _b[Length] = 1; _b[Length + 1] = 1; _b[Length + 2] = 4; _b[Length + 3] = 2;
        Length += 4;
    }

    public void WindowScale(byte shift)
    {
        _b[Length] = 1; _b[Length + 1] = 3; _b[Length + 2] = 3; _b[Length + 3] = shift;
        Length += 4;
    }

    /// <summary>
    /// The Fast Open option: kind 34 (2 + cookie bytes, NOP,NOP after it when that leaves the word half full) or
    /// the experimental kind 254 with its magic (4 + cookie bytes). An empty cookie is a cookie request.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_options_write() OPTION_FAST_OPEN_COOKIE</remarks>
    public void FastOpen(scoped ReadOnlySpan<byte> cookie, bool exp)
    {
        int len;
        if (exp)
        {
            len = 4 + cookie.Length;
            _b[Length] = TcpOptions.ExperimentalKind; _b[Length + 1] = (byte)len;
            BinaryPrimitives.WriteUInt16BigEndian(_b[(Length + 2)..], TcpOptions.FastOpenMagic);
        }
        else
        {
            len = 2 + cookie.Length;
            _b[Length] = TcpOptions.FastOpenKind; _b[Length + 1] = (byte)len;
        }
        cookie.CopyTo(_b[(Length + len - cookie.Length)..]);
        Length += len;
        if ((len & 3) == 2)
        {
            _b[Length] = 1; _b[Length + 1] = 1;
            Length += 2;
        }
    }

    /// <summary>The option bytes <see cref="FastOpen"/> takes: its length rounded up to a 32-bit word.</summary>
    public static int FastOpenSpace(int cookieLength, bool exp) => ((exp ? 4 : 2) + cookieLength + 3) & ~3;

    public void SackBlocks(scoped ReadOnlySpan<uint> edges)
    {
        int n = edges.Length / 2;
        _b[Length] = 1; _b[Length + 1] = 1; _b[Length + 2] = 5; _b[Length + 3] = (byte)(2 + n * 8);
        Length += 4;
        for (int i = 0; i < edges.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(_b[Length..], edges[i]);
            Length += 4;
        }
    }
}
