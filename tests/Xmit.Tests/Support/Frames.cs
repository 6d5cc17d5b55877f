using Xmit.Buffers;
using Xmit.Link;
using Xmit.Time;

namespace Xmit.Tests.Support;

/// <summary>A tap that keeps a copy of every frame a device sends or receives, with its time.</summary>
public sealed class FrameRecorder(IScheduler clock) : IPacketTap
{
    public List<(Instant Time, bool Outgoing, byte[] Bytes)> Frames { get; } = [];

    public IEnumerable<byte[]> Sent => Frames.Where(f => f.Outgoing).Select(f => f.Bytes);
    public IEnumerable<byte[]> Received => Frames.Where(f => !f.Outgoing).Select(f => f.Bytes);

    public void OnPacket(NetDevice device, SkBuff skb, bool outgoing)
    {
        var b = new byte[skb.Len];
        skb.CopyBits(0, b);
        Frames.Add((clock.Now, outgoing, b));
    }

    public static FrameRecorder On(NetDevice dev)
    {
        var r = new FrameRecorder(dev.Scheduler);
        dev.AddTap(r);
        return r;
    }
}

public static class Hex
{
    public static byte[] Parse(string hex) => Convert.FromHexString(new string(hex.Where(Uri.IsHexDigit).ToArray()));
}
