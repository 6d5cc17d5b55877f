using Xmit.Buffers;
using Xmit.Link;
using Xmit.Time;

namespace Xmit.Diagnostics;

/// <summary>
/// A device tap that writes every frame, both directions, to a pcap file (tcpdump -i DEV -w FILE). On a loopback
/// device every packet passes the tap twice, going out and coming back in; like libpcap, only the incoming copy is written.
/// </summary>
/// <remarks>libpcap: pcap-linux.c (outgoing packets on the loopback device are skipped)</remarks>
public sealed class PcapTap(PcapWriter writer, IScheduler clock) : IPacketTap
{
    public PcapWriter Writer { get; } = writer;

    public void OnPacket(NetDevice device, SkBuff skb, bool outgoing)
    {
        if (outgoing && device.IsLoopback) return;
        Writer.Write(clock.Now, skb);
    }
}
