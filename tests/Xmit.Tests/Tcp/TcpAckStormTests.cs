using Xmit.Fuzz;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// The ACK storm of issue 11: one spoofed in-window segment into each end of a connection makes the ends
/// disagree about sequence space; each answers the other's segments with a duplicate ACK. Linux answers an
/// out-of-window segment at most once per tcp_invalid_ratelimit (500 ms), so the storm dies at a few segments
/// a second instead of hundreds of thousands.
/// </summary>
public class TcpAckStormTests
{
    /// <summary>A data segment into <paramref name="to"/>'s end, as if its peer had sent <paramref name="length"/> bytes at rcv_nxt.</summary>
    private static void Spoof(TwoHosts net, Xmit.Link.NetDevice to, Xmit.Link.NetDevice from, TcpSock sk, int length)
    {
        var f = new Frame();
        f.Reset("spoof");
        FrameWriter.Ethernet(f, to.Mac, from.Mac, EtherType.Ipv4);
        int at = FrameWriter.Ipv4(f, sk.RemoteAddress, sk.LocalAddress, IpProtocol.Tcp, 20 + length, 0x4242);
        FrameWriter.Tcp(f, at, sk.RemotePort, sk.LocalPort, sk.RcvNxt.Value, sk.SndNxt.Value, TcpFlags.Psh | TcpFlags.Ack, 1000);
        FrameWriter.FixChecksums(f);
        var skb = net.Sim.Pool.AllocNetdev(f.Length);
        f.Span.CopyTo(skb.Put(f.Length));
        to.Receive(skb);
    }

    [Fact]
    public void One_spoofed_segment_into_each_end_gets_a_few_answers_a_second_not_a_storm()
    {
        var (fromA, fromB, net) = Storm(ratelimitMs: 500);
        using (net)
        {
            // Each end ACKs the spoofed data; the other finds that ACK out of its window and answers once; that answer
            // is out of window in turn and is not answered (TCPACKSkippedSeq): the loop ends there.
            Assert.InRange(fromA, 1, 4);
            Assert.InRange(fromB, 1, 4);
            Assert.True(net.A.Tcp.Mib.AckSkippedSeq >= 1 && net.B.Tcp.Mib.AckSkippedSeq >= 1, $"skipped {net.A.Tcp.Mib.AckSkippedSeq} / {net.B.Tcp.Mib.AckSkippedSeq}");
        }
    }

    [Fact]
    public void Without_the_rate_limit_the_same_two_segments_start_a_storm()
    {
        // tcp_invalid_ratelimit = 0 answers every out-of-window segment: the test above would see the storm.
        var (fromA, fromB, net) = Storm(ratelimitMs: 0);
        using (net)
        {
            Assert.True(fromA > 10_000 && fromB > 10_000, $"{fromA} / {fromB} segments in 5 s");
        }
    }

    private static (long FromA, long FromB, TwoHosts Net) Storm(int ratelimitMs)
    {
        var net = new TwoHosts(trackAllocations: false);
        net.A.Sysctls.TcpInvalidRatelimitMs = ratelimitMs;
        net.B.Sysctls.TcpInvalidRatelimitMs = ratelimitMs;
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        net.RunForMs(100);
        long aBefore = net.DevA.Stats.TxPackets, bBefore = net.DevB.Stats.TxPackets;
        Spoof(net, net.DevA, net.DevB, tcp.ClientSock, 100);
        Spoof(net, net.DevB, net.DevA, tcp.ServerSock, 100);
        long peakSkbs = 0;
        for (int ms = 0; ms < 5000; ms += 10)
        {
            net.RunForMs(10);
            peakSkbs = Math.Max(peakSkbs, net.Sim.Pool.Outstanding);
        }
        long fromA = net.DevA.Stats.TxPackets - aBefore, fromB = net.DevB.Stats.TxPackets - bBefore;
        Assert.True(peakSkbs < 256, $"{peakSkbs} skbs outstanding at the peak");
        tcp.A.Close(tcp.Client);
        tcp.B.Close(tcp.Server);
        net.RunForMs(100);
        return (fromA, fromB, net);
    }
}
