using Xmit.Configuration;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// Where HyStart's rounds begin and end. A round (bictcp_hystart_reset) ends on the first RTT sample whose snd_una is
/// past the round's end_seq, so two things decide its boundaries: which snd_una pkts_acked sees (tcp_ack() has moved
/// it to the ACK before tcp_clean_rtx_queue() calls pkts_acked), and that since "tcp_cubic: fix incorrect HyStart round
/// start detection" (2025, in 6.18) hystart_update() ends rounds whatever cwnd is, the hystart_low_window check coming
/// after the reset. With snd_una one ACK behind, tests/scripts/tcp/cubic-hystart-bulk-166k.pkt left slow start at
/// cwnd 42 where Linux 6.18 leaves at 36 (measured; upstream's 2023 script, written before that fix, says 48).
/// </summary>
public class HystartRoundTests
{
    /// <summary>
    /// pkts_acked (and the RTT estimator before it) runs with snd_una already at the ACK: the first unacknowledged
    /// byte the write queue still holds is snd_una, on every ACK of a bulk transfer.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_ack() (tcp_snd_una_update() before tcp_clean_rtx_queue())</remarks>
    [Fact]
    public void Pkts_acked_sees_snd_una_already_moved_to_the_ack()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5001);
        var a = tcp.ClientSock;
        var probe = new UnaAtPktsAcked(a.CongestionOps);
        a.CongestionOps = probe;
        var chunk = new byte[65536];
        var buf = new byte[65536];
        for (int step = 0; step < 200; step++)
        {
            while (tcp.A.Write(tcp.Client, chunk) > 0) { }
            net.RunFor(Duration.FromMicroseconds(200));
            while (tcp.B.Read(tcp.Server, buf) > 0) { }
        }
        Assert.True(probe.Calls > 100, $"only {probe.Calls} pkts_acked calls");
        Assert.True(probe.Mismatches == 0, $"{probe.Mismatches} of {probe.Calls} pkts_acked calls saw snd_una behind the ACK (first: una {probe.FirstUna}, queue starts at {probe.FirstHead})");
        tcp.Close();
    }

    /// <summary>
    /// The ACKs of tcp/cubic/cubic-bulk-166k.pkt fed to CUBIC directly: ACK k (every 100 ms) moves snd_una to 2000·k + 1
    /// with cwnd 10 + 2·(k − 1) and snd_nxt 10001 + 4000·(k − 1) (each ACK released four 1000-byte segments), its RTT
    /// sample k · 100 ms. Worked through 6.18's net/ipv4/tcp_cubic.c (hystart_low_window 16, HYSTART_MIN_SAMPLES 8,
    /// threshold delay_min + clamp(delay_min / 8, 4 ms, 16 ms) = 112.5 ms): cubictcp_init() starts a round ending at
    /// snd_nxt 1. ACK 1 (cwnd 10) is past it: a round ending at 10001 begins, although cwnd is below the low window
    /// (nothing else happens below it); ACKs 4–5 (cwnd 16, 18) are its first samples. ACK 6 (snd_una 12001) is past
    /// 10001: a round ending at 30001, ACKs 6–13 its 8 samples; ACK 14 (snd_una 28001, same round) checks curr_rtt
    /// 600 ms &gt; 112.5 ms: ssthresh = cwnd = 36 — what Linux 6.18 shows for the script (without fq). Before the 2025
    /// fix (no round ended below the low window) it was ACK 20, cwnd 48, as upstream's script still says.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c cubictcp_acked(), hystart_update(), bictcp_hystart_reset()</remarks>
    [Fact]
    public void Rounds_end_below_the_low_window_too_so_the_bulk_166k_acks_leave_slow_start_at_cwnd_36()
    {
        using var net = new TwoHosts();
        var sk = net.A.Tcp.Create();
        var cubic = new Cubic(net.Sim.Scheduler, new CubicParameters());
        sk.SndSsthresh = TcpProtocol.InfiniteSsthresh;
        sk.SndUna = sk.SndNxt = new TcpSeq(1);
        cubic.Init(sk);
        for (uint k = 1; k <= 14; k++)
        {
            net.RunForMs(100);
            sk.SndUna = new TcpSeq(2000 * k + 1);
            sk.SndNxt = new TcpSeq(10001 + 4000 * (k - 1));
            sk.SndCwnd = 10 + 2 * (k - 1);
            cubic.PktsAcked(sk, 2, k * 100_000);
            Assert.Equal(100_000u, cubic.DelayMinUs);
            Assert.True(cubic.HystartFound == (k == 14), $"ACK {k} (cwnd {sk.SndCwnd}): found {cubic.HystartFound}");
        }
        Assert.Equal(36u, sk.SndSsthresh);
        Assert.Equal(1L, net.A.Tcp.Mib.HystartDelayDetect);
    }

    /// <summary>Passes everything to the real algorithm; at each pkts_acked checks snd_una against the write queue's first byte.</summary>
    private sealed class UnaAtPktsAcked(ITcpCongestionOps inner) : ITcpCongestionOps
    {
        public int Calls, Mismatches;
        public TcpSeq FirstUna, FirstHead;
        public string Name => inner.Name;
        public void Init(TcpSock sk) => inner.Init(sk);
        public uint SsThresh(TcpSock sk) => inner.SsThresh(sk);
        public void CongAvoid(TcpSock sk, uint acked, uint nowJiffies) => inner.CongAvoid(sk, acked, nowJiffies);
        public void SetState(TcpSock sk, TcpCaState newState) => inner.SetState(sk, newState);
        public void CwndEvent(TcpSock sk, TcpCaEvent ev, uint nowJiffies) => inner.CwndEvent(sk, ev, nowJiffies);
        public uint UndoCwnd(TcpSock sk) => inner.UndoCwnd(sk);

        public void PktsAcked(TcpSock sk, uint acked, long rttUs)
        {
            var head = sk.WriteQueue.Peek();
            var firstUnacked = head is null || head == sk.SendHead ? sk.SndNxt : head.Cb.Seq;
            Calls++;
            if (sk.SndUna != firstUnacked && Mismatches++ == 0)
            {
                FirstUna = sk.SndUna;
                FirstHead = firstUnacked;
            }
            inner.PktsAcked(sk, acked, rttUs);
        }
    }
}
