using Xmit.Network.Ipv4;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Support;

/// <summary>Hand-made TCP segments put on A's device as if B had sent them on an open connection.</summary>
internal static class InjectedTcp
{
    /// <summary>A segment to A's end <paramref name="sk"/> with <paramref name="payload"/> zero bytes of data and the IP TOS byte <paramref name="tos"/> (ECN bits included).</summary>
    public static void ToA(TwoHosts net, TcpSock sk, TcpSeq seq, TcpSeq ack, byte flags, int payload = 0, ushort window = 1000, byte tos = 0)
    {
        int tcpLen = TcpSegment.MinHeaderLength + payload;
        int total = 14 + 20 + tcpLen;
        var skb = net.Sim.Pool.AllocNetdev(total);
        var f = skb.Put(total);
        f.Clear();
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(net.DevA.Mac, net.DevB.Mac, EtherType.Ipv4).Emit(eth);
        new TcpHeaderRepr { SourcePort = sk.RemotePort, DestinationPort = sk.LocalPort, Seq = seq, Ack = ack, Flags = flags, Window = window }
            .Emit(f[34..], 0, TwoHosts.AddrB, TwoHosts.AddrA);
        new Ipv4Repr(TwoHosts.AddrB, TwoHosts.AddrA, IpProtocol.Tcp, tcpLen, Tos: tos).Emit(f[14..]);
        net.DevA.Receive(skb);
    }
}
