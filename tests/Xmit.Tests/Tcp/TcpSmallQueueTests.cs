using Xmit.Buffers;
using Xmit.Link;
using Xmit.Link.Qdiscs;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xunit.Abstractions;

namespace Xmit.Tests.Tcp;

/// <summary>
/// Why `xmit sim tcp`'s plot shows sk_wmem_alloc above "the TSQ limit" (several times it): Linux's tcp_small_queue_check()
/// is made before each skb is sent, against max(2 × that skb's truesize, pacing_rate &gt;&gt; 10), and it stops only the next
/// skb — so wmem_alloc may end above the limit by the skb that passed; the limit of a large TSO skb (here up to ~66 KB of truesize, twice that) is
/// far above the plotted one (the next skb's, often a small remainder); and with at most one skb in the retransmit queue the
/// skb goes whatever wmem_alloc says (tcp_rtx_queue_empty_or_single_skb: "this helps when TX completions are delayed"),
/// while the ring still holds clones of data already acknowledged.
/// </summary>
public class TcpSmallQueueTests(ITestOutputHelper output)
{
    /// <summary>At each skb of new data A's device is handed: sk_wmem_alloc before it was charged, against the limit its check used.</summary>
    private sealed class SendWatch(TcpSock sk, TcpProtocol tcp) : ILinkTracepoints
    {
        public int Sent, PassedOverLimit, OverPlottedWithinOwnLimit, OverPlottedByRtxException;
        public long MaxTruesize;

        public void NetDevQueue(NetDevice dev, SkBuff skb)
        {
            // A's only skbs past 100 bytes carry data (a pure ACK is at most 80); the clone of new data has the send head's
            // truesize, and the send head moves on only once the transmit returns. (No loss here: nothing is retransmitted.)
            if (!ReferenceEquals(skb.Sk, sk) || skb.Len <= 100 || sk.SendHead is not { } head || head.Truesize != skb.Truesize) return;
            long after = sk.WmemAlloc, before = after - skb.Truesize;
            long limit = (long)tcp.SmallQueueLimit(sk, skb.Truesize);
            int unacked = 0;
            for (var s = sk.WriteQueue.Peek(); s is not null && s != head; s = SkBuffQueue.NextOf(s)) unacked++;
            Sent++;
            MaxTruesize = Math.Max(MaxTruesize, skb.Truesize);
            if (before > limit && unacked > 1) PassedOverLimit++; // what TSQ must never let through
            if (after > tcp.SmallQueueLimitNow(sk))
            {
                if (before <= limit) OverPlottedWithinOwnLimit++;
                else OverPlottedByRtxException++;
            }
        }

        public void NetDevXmit(NetDevice dev, SkBuff skb, int len, NetdevTx rc) { }
        public void QdiscDequeue(Qdisc q, NetdevQueue txq, int packets, SkBuff? skb) { }
    }

    [Fact]
    public void Wmem_alloc_passes_the_plotted_limit_only_as_tcp_small_queue_check_allows()
    {
        using var net = new TwoHosts(trackAllocations: false); // 100 Mbit/s, pfifo_fast: `xmit sim tcp`'s defaults
        net.WarmUp();
        var c = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        var watch = new SendWatch(c.ClientSock, net.A.Tcp);
        net.DevA.Trace = watch;
        var data = new byte[65536];
        var buf = new byte[1 << 20];
        var end = net.Sim.Now + Duration.FromSeconds(2);
        while (net.Sim.Now < end)
        {
            while (c.A.Write(c.Client, data) > 0) { }
            while (c.B.Read(c.Server, buf) > 0) { }
            net.RunFor(Duration.FromMicroseconds(20));
        }
        output.WriteLine($"{watch.Sent} skbs, largest truesize {watch.MaxTruesize}; over the plotted limit after the send: {watch.OverPlottedWithinOwnLimit} " +
                         $"within their own check's limit, {watch.OverPlottedByRtxException} sent past it with at most one skb unacknowledged");
        Assert.Equal(0, net.A.Tcp.Mib.RetransSegs);
        // tcp_grow_skb fills each send head to what cwnd and the TSO autosize let out (~40 segments here): ~430 skbs in 2 s
        Assert.True(watch.Sent > 300, $"only {watch.Sent} skbs sent");
        Assert.Equal(0, watch.PassedOverLimit);
        // The plot's excess is TSQ working as Linux's does, not a hole in it. Here it is each skb's own limit; the
        // single-skb exception no longer shows in this run since tcp_grow_skb keeps the send heads large.
        Assert.True(watch.OverPlottedWithinOwnLimit > 0);
        c.Close();
    }
}
