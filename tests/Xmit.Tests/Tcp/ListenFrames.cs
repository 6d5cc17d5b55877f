using Xmit.Network.Ipv4;
using Xmit.Tests.Support;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// Hand-made TCP segments from addresses that do not exist, put on B's device as if they came off the wire from
/// A's MAC: a SYN flood from spoofed sources, or the RST of one of them. B answers them through a route to
/// 198.19.0.0/16 via A (which drops what is not its own), so no neighbour entry is made per source.
/// </summary>
internal static class ListenFrames
{
    public static readonly Ipv4Address SpoofNet = new(198, 19, 0, 0);

    public static void RouteSpoofedSourcesViaA(TwoHosts net) =>
        net.B.Routes.Add(new Route(SpoofNet, 16, net.DevB, Gateway: TwoHosts.AddrA));

    /// <summary>The i-th spoofed source: 65,536 addresses, then the next source port.</summary>
    public static (Ipv4Address Address, ushort Port) Source(int i) =>
        (new Ipv4Address(SpoofNet.Value + (uint)(i & 0xffff)), (ushort)(10_000 + (i >> 16)));

    /// <summary>A segment to B with Linux's SYN options (MSS 1460, SACK, timestamps, wscale 7) when it is a SYN.</summary>
    public static void Inject(TwoHosts net, Ipv4Address src, ushort srcPort, ushort dstPort, uint seq, byte flags, uint ack = 0, uint tsVal = 1000)
    {
        Span<byte> opts = stackalloc byte[40];
        var w = new TcpOptionWriter(opts);
        if ((flags & TcpFlags.Syn) != 0)
        {
            w.Mss(1460);
            w.Timestamp(tsVal, 0, sackPermitted: true);
            w.WindowScale(7);
        }
        int tcpLen = TcpSegment.MinHeaderLength + w.Length;
        int ipLen = Ipv4Packet.MinHeaderLength + tcpLen;
        var skb = net.Sim.Pool.AllocNetdev(14 + ipLen);
        var f = skb.Put(14 + ipLen);
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(net.DevB.Mac, net.DevA.Mac, EtherType.Ipv4).Emit(eth);
        new Ipv4Repr(src, TwoHosts.AddrB, IpProtocol.Tcp, tcpLen, DontFragment: true).Emit(f[14..]);
        var seg = f[(14 + Ipv4Packet.MinHeaderLength)..];
        opts[..w.Length].CopyTo(seg[TcpSegment.MinHeaderLength..]);
        new TcpHeaderRepr
        {
            SourcePort = srcPort, DestinationPort = dstPort, Seq = new TcpSeq(seq), Ack = new TcpSeq(ack), Flags = flags, Window = 64240,
        }.Emit(seg, w.Length, src, TwoHosts.AddrB);
        net.DevB.Receive(skb);
    }
}
