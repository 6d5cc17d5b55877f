using Xmit.Buffers;
using Xmit.Link.Drivers;
using Xmit.Link.Qdiscs;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.Tcp;

/// <summary>
/// CWR on local congestion: tcp_transmit_skb() calls tcp_enter_cwr() when the qdisc answers NET_XMIT_CN (or drops).
/// Of the qdiscs Xmit models, pfifo_head_drop is the one that answers CN (sch_fifo.c pfifo_tail_enqueue(): full, it
/// drops its oldest packet and queues the new one); pfifo, bfifo, pfifo_fast and tbf only drop.
/// </summary>
public class TcpCwrTests
{
    [Fact]
    public void A_full_pfifo_head_drop_drops_its_head_and_answers_congestion()
    {
        var pool = new SkBuffPool(true);
        var q = FifoQdisc.PacketsHeadDrop(2);
        SkBuff Skb(int len) { var s = pool.Alloc(len); s.Put(len); return s; }
        Assert.Equal(NetXmit.Success, q.Enqueue(Skb(100)));
        Assert.Equal(NetXmit.Success, q.Enqueue(Skb(200)));
        Assert.Equal(NetXmit.Congestion, q.Enqueue(Skb(300)));
        Assert.Equal(2, q.QLen);
        Assert.Equal(500, q.Backlog);
        Assert.Equal(1, q.Stats.Drops);
        var first = q.Dequeue()!;
        Assert.Equal(200, first.Len); // the 100-byte head was the one dropped
        first.Free();
        q.Reset();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Congestion_from_the_qdisc_puts_the_sender_in_cwr_with_cubics_ssthresh_and_prr_brings_cwnd_down_to_it()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 10_000_000 }, new RingDriverConfig { RingSize = 32, WakeThreshold = 24 });
        net.DevA.SetRootQdisc(FifoQdisc.PacketsHeadDrop(4));
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5001);
        var a = tcp.ClientSock;
        var chunk = new byte[65536];
        var buf = new byte[65536];
        uint cwndAtEntry = 0, ssthreshAtEntry = 0;
        bool sawCwr = false, leftCwr = false;
        for (int step = 0; step < 4000 && !leftCwr; step++)
        {
            while (tcp.A.Write(tcp.Client, chunk) > 0) { }
            var before = a.CaState;
            uint cwndBefore = a.SndCwnd;
            net.RunFor(Duration.FromMicroseconds(100));
            while (tcp.B.Read(tcp.Server, buf) > 0) { }
            if (!sawCwr && a.CaState == TcpCaState.Cwr)
            {
                sawCwr = true;
                ssthreshAtEntry = a.SndSsthresh;
                cwndAtEntry = cwndBefore;
            }
            // CWR ends when an ACK passes high_seq (to Open), or earlier in Recovery: the head-drop qdisc's victims
            // were sent already, so duplicate ACKs may follow.
            if (sawCwr && before == TcpCaState.Cwr && a.CaState != TcpCaState.Cwr) leftCwr = true;
            if (sawCwr) Assert.True(a.CaState != TcpCaState.Cwr || a.SndCwnd <= Math.Max(cwndAtEntry, ssthreshAtEntry) + 2, $"cwnd {a.SndCwnd} grew in CWR (entered at {cwndAtEntry}, ssthresh {ssthreshAtEntry}, state {a.CaState}, step {step})");
        }
        Assert.True(sawCwr, "never entered CWR");
        Assert.True(net.A.Tcp.CwrEntered > 0);
        Assert.True(ssthreshAtEntry < TcpProtocol.InfiniteSsthresh);
        Assert.True(leftCwr, "never left CWR");
        tcp.Close();
    }
}
