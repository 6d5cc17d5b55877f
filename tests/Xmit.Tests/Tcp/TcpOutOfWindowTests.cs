using Xmit.Sockets.Api;
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
    [Fact]
    public void Overlapping_out_of_order_segments_cannot_queue_more_than_the_receive_buffer()
    {
        using var net = new TwoHosts(trackAllocations: false);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB,
            configureClient: (s, fd) => Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, 8192)));
        net.RunForMs(100);
        var sk = tcp.ClientSock;
        Assert.Equal(16384, sk.RcvBuf);
        long peak = 0;
        // 20,000 segments of 1000 bytes, each starting 10 bytes after the last, inside the window but past a hole.
        for (int i = 0; i < 20_000; i++)
        {
            InjectedTcp.ToA(net, tcp.ClientSock, sk.RcvNxt + 1u + (uint)(i % 500) * 10, sk.SndUna, TcpFlags.Ack, payload: 1000);
            peak = Math.Max(peak, sk.RmemAlloc);
            if (i % 100 == 0) net.RunForMs(1);
        }
        // One skb may overshoot the buffer (tcp_try_rmem_schedule checks before charging), no more.
        Assert.True(peak <= sk.RcvBuf + 4096, $"rmem reached {peak} against rcvbuf {sk.RcvBuf}");
        Assert.True(net.A.Tcp.Mib.OfoDrop > 0 && net.A.Tcp.Mib.PruneCalled > 0, $"OfoDrop {net.A.Tcp.Mib.OfoDrop}, PruneCalled {net.A.Tcp.Mib.PruneCalled}");
        tcp.Close();
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
            InjectedTcp.ToA(net, tcp.ClientSock, sk.RcvNxt + 0x4000_0000u, sk.SndUna, TcpFlags.Ack);
            net.RunForMs(1);
        }
        long answers = net.A.Tcp.Mib.OutSegs - outBefore;
        Assert.InRange(answers, 2, 3); // at 0, 500 (and perhaps 1000) ms
        Assert.Equal(1000 - answers, net.A.Tcp.Mib.AckSkippedSeq);

        // A SYN on the established connection is a challenge, under the same limit.
        net.RunForMs(600);
        InjectedTcp.ToA(net, tcp.ClientSock, sk.RcvNxt, sk.SndUna, TcpFlags.Syn);
        InjectedTcp.ToA(net, tcp.ClientSock, sk.RcvNxt, sk.SndUna, TcpFlags.Syn);
        Assert.Equal(2, net.A.Tcp.Mib.SynChallenge);
        Assert.Equal(1, net.A.Tcp.Mib.ChallengeAck);
        Assert.Equal(1, net.A.Tcp.Mib.AckSkippedChallenge);
        Assert.Equal(TcpState.Established, sk.State);
        tcp.Close();
    }
}
