using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// D-SACK (RFC 2883): a receiver reports a duplicate segment in the first SACK block of its ACK
/// (tcp_dsack_set on tcp_data_queue's old data), and a sender that sees the duplicate of its retransmitted tail
/// loss probe knows the original arrived — the episode ends without the cwnd reduction a real loss gets
/// (tcp_process_tlp_ack's FLAG_DSACK_TLP).
/// </summary>
public class TcpDsackTests
{
    /// <summary>The SACK blocks of the TCP segments A sent since frame <paramref name="from"/>.</summary>
    private static List<(uint Ack, (uint Start, uint End)[] Blocks)> AcksFrom(FrameRecorder rec, int from) =>
        rec.Frames.Skip(from).Where(f => f.Outgoing).Select(f =>
        {
            var b = f.Bytes;
            Ipv4Packet.TryCreate(b.AsSpan(14), out var ip);
            TcpSegment.TryCreate(b.AsSpan(14 + ip.HeaderLength), out var seg);
            var opt = TcpOptions.Parse(seg.Options, syn: false);
            return (seg.Ack.Value, Enumerable.Range(0, opt.SackBlockCount).Select(i => opt.Sack(i)).ToArray());
        }).ToList();

    [Fact]
    public void A_duplicate_segment_is_acked_at_once_with_a_dsack_block_of_its_range_and_only_once()
    {
        using var net = new TwoHosts(trackAllocations: false);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        net.RunForMs(100);
        var sk = tcp.ClientSock;
        var rec = FrameRecorder.On(net.DevA);
        var r = sk.RcvNxt;
        InjectedTcp.ToA(net, sk, r, sk.SndUna, TcpFlags.Ack, payload: 1000);
        net.RunForMs(100);
        Assert.Equal(r + 1000u, sk.RcvNxt);

        // The same segment again: answered at once, its range as the only SACK block.
        int mark = rec.Frames.Count;
        InjectedTcp.ToA(net, sk, r, sk.SndUna, TcpFlags.Ack, payload: 1000);
        var dup = AcksFrom(rec, mark);
        var only = Assert.Single(dup);
        Assert.Equal((r + 1000u).Value, only.Ack);
        Assert.Equal([(r.Value, (r + 1000u).Value)], only.Blocks);
        Assert.Equal(1, net.A.Tcp.Mib.DsackOldSent);
        Assert.Equal(1, net.A.Tcp.Mib.DelayedAckLost);

        // Partly old: the old half is the duplicate; the new half is taken, and the D-SACK goes out once.
        mark = rec.Frames.Count;
        InjectedTcp.ToA(net, sk, r + 500u, sk.SndUna, TcpFlags.Ack, payload: 1000);
        net.RunForMs(100);
        Assert.Equal(r + 1500u, sk.RcvNxt);
        var partial = AcksFrom(rec, mark);
        Assert.Equal([(r.Value + 500, r.Value + 1000)], partial[0].Blocks);
        Assert.Equal(2, net.A.Tcp.Mib.DsackOldSent);
        mark = rec.Frames.Count;
        InjectedTcp.ToA(net, sk, r + 1500u, sk.SndUna, TcpFlags.Ack, payload: 1000);
        net.RunForMs(100);
        Assert.All(AcksFrom(rec, mark), a => Assert.Empty(a.Blocks));
        tcp.Close();
    }

    [Fact]
    public void Without_tcp_dsack_the_duplicate_is_acked_with_no_sack_block()
    {
        using var net = new TwoHosts(trackAllocations: false);
        net.WarmUp();
        Assert.True(net.A.Sysctls.TrySet("net.ipv4.tcp_dsack", "0", out _));
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        net.RunForMs(100);
        var sk = tcp.ClientSock;
        var rec = FrameRecorder.On(net.DevA);
        var r = sk.RcvNxt;
        InjectedTcp.ToA(net, sk, r, sk.SndUna, TcpFlags.Ack, payload: 1000);
        net.RunForMs(100);
        int mark = rec.Frames.Count;
        InjectedTcp.ToA(net, sk, r, sk.SndUna, TcpFlags.Ack, payload: 1000);
        var only = Assert.Single(AcksFrom(rec, mark));
        Assert.Empty(only.Blocks);
        Assert.Equal(0, net.A.Tcp.Mib.DsackOldSent);
        Assert.Equal(1, net.A.Tcp.Mib.DelayedAckLost);
        tcp.Close();
    }

    /// <summary>
    /// A writer filling a receiver that does not read (the fill of scripts/linux-tcp-fill-drain.sh): the receiver's
    /// delayed ACK comes later than the sender's probe timeout, so the probe retransmits the tail the receiver
    /// already holds. With D-SACK the sender sees both arrived and keeps cwnd (Linux's capture: ssthresh stays
    /// infinite); without it, the ACK beyond the probe reads as a repaired loss and cwnd is cut.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void A_retransmitted_tail_loss_probe_reported_by_dsack_does_not_reduce_cwnd(int dsack)
    {
        using var net = new TwoHosts(veth: true, trackAllocations: false);
        net.WarmUp();
        Assert.True(net.B.Sysctls.TrySet("net.ipv4.tcp_dsack", dsack.ToString(), out _));
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5001);
        var a = tcp.ClientSock;
        var chunk = new byte[1000];
        for (int i = 0; i < 250; i++)
        {
            while (tcp.A.Write(tcp.Client, chunk) > 0) net.RunFor(Duration.FromMicroseconds(15));
            net.RunForMs(2);
        }
        var mibA = net.A.Tcp.Mib;
        Assert.True(a.TotalRetrans > 0 && mibA.LossProbes > 0, $"retrans {a.TotalRetrans}, probes {mibA.LossProbes}");
        if (dsack == 1)
        {
            Assert.Equal((long)a.TotalRetrans, net.B.Tcp.Mib.DsackOldSent); // every retransmitted probe was a duplicate
            Assert.Equal((long)a.TotalRetrans, mibA.DsackRecv);
            Assert.Equal(0, mibA.LossProbeRecovery);
            Assert.Equal(TcpProtocol.InfiniteSsthresh, a.SndSsthresh);
        }
        else
        {
            Assert.Equal(0, mibA.DsackRecv);
            Assert.True(mibA.LossProbeRecovery > 0);
            Assert.True(a.SndSsthresh < TcpProtocol.InfiniteSsthresh);
        }
        tcp.Close();
    }
}
