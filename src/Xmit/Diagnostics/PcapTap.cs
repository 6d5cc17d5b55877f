using Xmit.Buffers;
using Xmit.Link;
using Xmit.Time;

namespace Xmit.Diagnostics;

/// <summary>A device tap that writes every frame, both directions, to a pcap file (tcpdump -i DEV -w FILE).</summary>
public sealed class PcapTap(PcapWriter writer, IScheduler clock) : IPacketTap
{
    public PcapWriter Writer { get; } = writer;

    public void OnPacket(NetDevice device, SkBuff skb, bool outgoing) => Writer.Write(clock.Now, skb);
}
