using Xmit.Buffers;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

public sealed partial class TcpProtocol
{
    /// <summary>TCP_TIMEOUT_MIN_US: 2 ms, added in microseconds before the sum is rounded up to jiffies (Linux 6.6+).</summary>
    private static readonly Duration TimeoutMin = Duration.FromMilliseconds(2);

    /// <summary>
    /// tcp_schedule_loss_probe(): with SACK, in the Open state and tcp_early_retrans 3 or 4, arm a tail loss
    /// probe 2·srtt out (plus TCP_RTO_MIN when a single segment is in flight, for the peer's delayed ACK;
    /// 1 s without an RTT sample), but never later than the RTO would fire. The sum is rounded up to jiffies once
    /// (usecs_to_jiffies of timeout_us): at HZ=250 a short RTT's probe is 1 jiffy out, fired 4-8 ms later.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_schedule_loss_probe(); include/net/tcp.h tcp_rto_delta_us()</remarks>
    private bool ScheduleLossProbe(TcpSock sk, bool advancingRto)
    {
        if (Sysctls.TcpEarlyRetrans is not (3 or 4) || sk.PacketsOut == 0 || !sk.SackOk || sk.CaState is not (TcpCaState.Open or TcpCaState.Cwr))
            return false;
        var timeout = sk.Rtt.HasSample
            ? Duration.FromMicroseconds(sk.Rtt.ScaledSrttUs >> 2) + (sk.PacketsOut == 1 ? RtoMin : TimeoutMin)
            : InitialRto;
        var rtoDelta = advancingRto ? sk.Rtt.Rto
            : sk.WriteQueue.Peek() is { } head ? head.Cb.SentAt + sk.Rtt.Rto - Now : sk.Rtt.Rto;
        if (rtoDelta > Duration.Zero && rtoDelta < timeout) timeout = rtoDelta;
        sk.PendingTimer = TcpXmitTimer.LossProbe;
        ResetTimer(sk.RetransmitTimer, timeout);
        return true;
    }

    /// <summary>tcp_set_xmit_timer(): after an ACK, a loss probe if one may be scheduled, else the RTO.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_set_xmit_timer()</remarks>
    private void SetXmitTimer(TcpSock sk)
    {
        if (!ScheduleLossProbe(sk, advancingRto: true)) RearmRto(sk);
    }

    /// <summary>
    /// tcp_send_loss_probe(): at most one probe outstanding — new data if the window allows, else the last
    /// segment sent again (cut to one MSS); then the RTO from now.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_send_loss_probe()</remarks>
    private void SendLossProbe(TcpSock sk)
    {
        int mss = sk.MssCache;
        if (sk.TlpHighSeq == default)
        {
            bool sent = false;
            sk.TlpRetrans = false;
            if (sk.SendHead is { } next && SndWndTest(sk, next, mss))
            {
                sent = WriteXmit(sk, mss, NagleMode.Off, pushOne: true, lossProbe: true);
            }
            else if (LastSent(sk) is { } last)
            {
                int pcount = Pcount(last, mss);
                if (pcount > 1 && last.Len > (pcount - 1) * mss)
                {
                    Fragment(sk, last, (pcount - 1) * mss);
                    last = SkBuffQueue.NextOf(last)!;
                }
                sent = sk.TlpRetrans = RetransmitSkb(sk, last, lossProbe: true);
            }
            if (sent)
            {
                sk.TlpHighSeq = sk.SndNxt;
                Mib.LossProbes++;
            }
        }
        RearmRto(sk);
    }

    private static SkBuff? LastSent(TcpSock sk)
    {
        SkBuff? last = null;
        for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s)) last = s;
        return last is not null && (last.Cb.TcpFlags & TcpFlags.Syn) == 0 ? last : null;
    }

    /// <summary>
    /// tcp_process_tlp_ack(): an ACK reaching the probe's snd_nxt ends the episode — at once after a probe of new
    /// data, or when a D-SACK of the retransmitted probe shows the original had arrived too, or on a pure
    /// duplicate ACK. An ACK beyond it after a retransmitted probe without such a D-SACK means a segment was really
    /// lost: cwnd is reduced once (CWR to ssthresh; TCPLossProbeRecovery). Otherwise the episode goes on.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_process_tlp_ack()</remarks>
    private void ProcessTlpAck(TcpSock sk, TcpSeq ack, bool notDup, bool dsackTlp)
    {
        if (sk.TlpHighSeq == default || ack < sk.TlpHighSeq) return;
        if (sk.TlpRetrans && !dsackTlp)
        {
            if (ack > sk.TlpHighSeq)
            {
                sk.SndSsthresh = sk.CongestionOps.SsThresh(sk);
                sk.SndCwnd = Math.Min(sk.SndCwnd, sk.SndSsthresh);
                Mib.LossProbeRecovery++;
            }
            else if (notDup) return;
        }
        sk.TlpHighSeq = default;
    }
}
