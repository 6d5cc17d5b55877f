using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// Out-of-window segments are answered at most once per tcp_invalid_ratelimit (500 ms): two ends that disagree
/// about sequence space would otherwise ACK each other's ACKs for ever (an ACK storm); challenge ACKs for SYNs
/// and RSTs share the limit (RFC 5961).
/// </summary>
public class TcpOutOfWindowTests
{
    private static void Inject(TwoHosts net, TcpConnection tcp, TcpSeq seq, TcpSeq ack, byte flags)
    {
        var sk = tcp.ClientSock;
        int total = 14 + 20 + TcpSegment.MinHeaderLength;
        var skb = net.Sim.Pool.Alloc(total);
        var f = skb.Put(total);
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(net.DevA.Mac, net.DevB.Mac, EtherType.Ipv4).Emit(eth);
        new TcpHeaderRepr { SourcePort = sk.RemotePort, DestinationPort = sk.LocalPort, Seq = seq, Ack = ack, Flags = flags, Window = 1000 }
            .Emit(f[34..], 0, TwoHosts.AddrB, TwoHosts.AddrA);
        new Ipv4Repr(TwoHosts.AddrB, TwoHosts.AddrA, IpProtocol.Tcp, TcpSegment.MinHeaderLength).Emit(f[14..]);
        net.DevA.Receive(skb);
    }

    [Fact]
    public void A_flood_of_out_of_window_acks_gets_one_answer_per_half_second()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        net.RunForMs(100);
        var sk = tcp.ClientSock;
        long outBefore = net.A.Tcp.Mib.OutSegs;
        // 1000 pure ACKs far beyond the receive window, one a millisecond.
        for (int i = 0; i < 1000; i++)
        {
            Inject(net, tcp, sk.RcvNxt + 0x4000_0000u, sk.SndUna, TcpFlags.Ack);
            net.RunForMs(1);
        }
        long answers = net.A.Tcp.Mib.OutSegs - outBefore;
        Assert.InRange(answers, 2, 3); // at 0, 500 (and perhaps 1000) ms
        Assert.Equal(1000 - answers, net.A.Tcp.Mib.AckSkippedSeq);

        // A SYN on the established connection is a challenge, under the same limit.
        net.RunForMs(600);
        Inject(net, tcp, sk.RcvNxt, sk.SndUna, TcpFlags.Syn);
        Inject(net, tcp, sk.RcvNxt, sk.SndUna, TcpFlags.Syn);
        Assert.Equal(2, net.A.Tcp.Mib.SynChallenge);
        Assert.Equal(1, net.A.Tcp.Mib.ChallengeAck);
        Assert.Equal(1, net.A.Tcp.Mib.AckSkippedChallenge);
        Assert.Equal(TcpState.Established, sk.State);
        tcp.Close();
    }
}
