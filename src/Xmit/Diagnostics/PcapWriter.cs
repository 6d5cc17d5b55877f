using System.Buffers.Binary;
using Xmit.Buffers;
using Xmit.Time;

namespace Xmit.Diagnostics;

/// <summary>
/// Writes frames to a classic libpcap file (nanosecond timestamps, LINKTYPE_ETHERNET) that Wireshark
/// and tshark read. Timestamps come from the caller (virtual time), so the same run gives the same bytes.
/// </summary>
public sealed class PcapWriter : IDisposable
{
    private const uint MagicNanoseconds = 0xA1B23C4D;
    private const int LinkTypeEthernet = 1;
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly byte[] _record = new byte[16];
    private byte[] _scratch = new byte[2048];

    public PcapWriter(Stream stream, int snapLength = 262144, bool ownsStream = true)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        SnapLength = snapLength;
        Span<byte> h = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(h, MagicNanoseconds);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], snapLength);
        BinaryPrimitives.WriteInt32LittleEndian(h[20..], LinkTypeEthernet);
        _stream.Write(h);
    }

    public static PcapWriter Create(string path) => new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16));

    public int SnapLength { get; }
    public long Packets { get; private set; }

    /// <summary>Writes the skb's bytes from skb->data (the Ethernet header on the device path).</summary>
    public void Write(Instant time, SkBuff skb)
    {
        int len = skb.Len;
        int caplen = Math.Min(len, SnapLength);
        if (_scratch.Length < caplen) _scratch = new byte[Math.Max(caplen, _scratch.Length * 2)];
        skb.CopyBits(0, _scratch.AsSpan(0, caplen));
        Write(time, _scratch.AsSpan(0, caplen), len);
    }

    public void Write(Instant time, ReadOnlySpan<byte> frame, int originalLength)
    {
        long ns = time.Nanoseconds;
        BinaryPrimitives.WriteUInt32LittleEndian(_record, (uint)(ns / 1_000_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(_record.AsSpan(4), (uint)(ns % 1_000_000_000));
        BinaryPrimitives.WriteInt32LittleEndian(_record.AsSpan(8), frame.Length);
        BinaryPrimitives.WriteInt32LittleEndian(_record.AsSpan(12), originalLength);
        _stream.Write(_record);
        _stream.Write(frame);
        Packets++;
    }

    public void Flush() => _stream.Flush();

    public void Dispose()
    {
        _stream.Flush();
        if (_ownsStream) _stream.Dispose();
    }
}
