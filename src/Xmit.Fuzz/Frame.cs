namespace Xmit.Fuzz;

/// <summary>
/// One Ethernet frame being built or mutated, with where its layers and options start, so mutations can aim at
/// the fields parsers trust (lengths, offsets, option lengths) instead of only hitting random bytes.
/// </summary>
public sealed class Frame
{
    /// <summary>The largest frame the fuzzer makes: a full 1500-byte MTU frame plus junk past it.</summary>
    public const int MaxLength = 1600;

    public byte[] Bytes { get; } = new byte[MaxLength];
    public int Length { get; set; }

    /// <summary>What the frame was built as (for reports): "tcp-victim", "udp-frag", "arp-request", …</summary>
    public string Kind { get; set; } = "";

    /// <summary>Offset of the IPv4 header, or -1 (ARP).</summary>
    public int Ip { get; set; } = -1;

    /// <summary>Offset of the transport (or ICMP) header, or -1.</summary>
    public int L4 { get; set; } = -1;

    public byte Protocol { get; set; }

    /// <summary>Offsets of option kind bytes (IP and TCP options); the length byte follows each.</summary>
    public List<int> Options { get; } = [];

    public Span<byte> Span => Bytes.AsSpan(0, Length);

    public void Reset(string kind)
    {
        Array.Clear(Bytes);
        Length = 0;
        Kind = kind;
        Ip = -1;
        L4 = -1;
        Protocol = 0;
        Options.Clear();
    }
}
