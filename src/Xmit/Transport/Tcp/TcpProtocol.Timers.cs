using Xmit.Buffers;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>The retransmission, delayed-ACK and TIME-WAIT timers, and the retransmission they drive.</summary>
public sealed partial class TcpProtocol
{
    /// <summary>
    /// tcp_rearm_rto(): the retransmission timer RTO from now — or, replacing a pending loss probe, RTO from
    /// when the head was sent (tcp_rto_delta_us); off when nothing is in flight.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rearm_rto()</remarks>
    internal void RearmRto(TcpSock sk)
    {
        bool wasProbe = sk.ProbeArmed || sk.ReoArmed;
        sk.ProbeArmed = false;
        sk.ReoArmed = false;
        if (sk.PacketsOut == 0)
        {
            _clock.Disarm(sk.RetransmitTimer);
            return;
        }
        var when = Now + sk.Rto;
        if (wasProbe && sk.WriteQueue.Peek() is { } head && (head.Cb.TcpFlags & TcpFlags.Syn) == 0)
            when = Instant.Max(new Instant(head.Cb.SentAtNs) + sk.Rto, Now + Duration.FromMicroseconds(1));
        _clock.Arm(sk.RetransmitTimer, when);
    }

    /// <summary>
    /// tcp_retransmit_timer(): the head of the queue was not acknowledged within the RTO — SYNs are resent up to
    /// tcp_syn_retries; data enters Loss (ssthresh from CUBIC's β, cwnd 1, everything sent counts as lost), the
    /// head is resent and the RTO doubles.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_retransmit_timer(), tcp_write_timeout(); net/ipv4/tcp_input.c tcp_enter_loss()</remarks>
    internal void OnRetransmitTimer(TcpSock sk)
    {
        if (sk.ProbeArmed)
        {
            sk.ProbeArmed = false;
            SendLossProbe(sk);
            return;
        }
        if (sk.ReoArmed)
        {
            sk.ReoArmed = false;
            OnReorderTimeout(sk);
            return;
        }
        var head = sk.WriteQueue.Peek();
        if (sk.PacketsOut == 0 && sk.SendHead is not null && sk.State is not (TcpState.Close or TcpState.Listen or TcpState.TimeWait))
        {
            PushPendingFrames(sk, SendMss(sk, out _), sk.NonAgle); // the probe timer: retry what local congestion dropped
            return;
        }
        if (head is null || sk.PacketsOut == 0 || sk.State is TcpState.Close or TcpState.Listen or TcpState.TimeWait) return;
        Mib.Timeouts++;
        int limit = sk.State == TcpState.SynSent ? Sysctls.TcpSynRetries
            : sk.State == TcpState.SynRecv ? Sysctls.TcpSynackRetries : Sysctls.TcpRetries2;
        if (sk.Retransmits >= limit)
        {
            sk.Error = sk.Error != Errno.OK ? sk.Error : Errno.ETIMEDOUT;
            if (sk.State == TcpState.SynSent) Mib.AttemptFails++;
            Done(sk);
            return;
        }
        if (sk.State is not (TcpState.SynSent or TcpState.SynRecv)) EnterLoss(sk);
        RetransmitSkb(sk, head);
        sk.Retransmits++;
        sk.Backoff++;
        sk.Rto = Duration.Min(sk.Rto * 2, RtoMax);
        _clock.Arm(sk.RetransmitTimer, Now + sk.Rto);
    }

    /// <summary>tcp_enter_loss(): ssthresh from the congestion control, cwnd 1, all outstanding segments lost.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_enter_loss()</remarks>
    private void EnterLoss(TcpSock sk)
    {
        if (sk.CaState < TcpCaState.Loss || sk.Backoff == 0)
        {
            sk.PriorCwnd = sk.SndCwnd;
            sk.SndSsthresh = CubicSsthresh(sk);
        }
        sk.SndCwnd = 1;
        sk.SndCwndCnt = 0;
        sk.CaState = TcpCaState.Loss;
        sk.Cubic.Reset(); // cubictcp_state(TCP_CA_Loss): bictcp_reset
        sk.HighSeq = sk.SndNxt;
        sk.TlpHighSeq = 0; // an RTO ends the probe's episode
        sk.DupAcks = 0;
        sk.LostOut = 0;
        sk.RetransOut = 0;
        if (!sk.SackOk) sk.SackedOut = 0; // Reno's counted duplicate ACKs; SACKed segments stay SACKed
        for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
        {
            if ((s.Cb.Sacked & SackedAcked) != 0) continue;
            s.Cb.Sacked = SackedLost;
            sk.LostOut += (uint)Pcount(s, sk.MssCache);
        }
    }

    /// <summary>CUBIC's ssthresh on loss: cwnd × β (717/1024), at least 2; W_max remembered for the next curve.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c cubictcp_recalc_ssthresh()</remarks>
    private static uint CubicSsthresh(TcpSock sk) => sk.Cubic.RecalcSsthresh(sk.SndCwnd);

    /// <summary>
    /// tcp_retransmit_skb(): resend a queued skb, cut to <paramref name="segs"/> segments (one for the RTO and
    /// probes, what cwnd allows for recovery); a multi-segment retransmission is one GSO packet.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c __tcp_retransmit_skb(), tcp_retransmit_skb()</remarks>
    private bool RetransmitSkb(TcpSock sk, SkBuff skb, int segs = 1)
    {
        int mss = sk.MssCache;
        int len = mss * Math.Max(segs, 1);
        // The pieces of a sent skb add up to the segments already counted in flight.
        if (skb.Len > len && (skb.Cb.TcpFlags & TcpFlags.Syn) == 0) Fragment(sk, skb, len);
        if (TransmitSkb(sk, skb, clone: true) < 0) return false; // not sent (local congestion): stays unmarked
        if ((skb.Cb.Sacked & SackedRetrans) == 0) sk.RetransOut += (uint)Pcount(skb, mss);
        skb.Cb.Sacked |= SackedRetrans;
        Mib.RetransSegs += Pcount(skb, mss);
        return true;
    }

    /// <summary>tcp_xmit_retransmit_queue(): resend lost segments while cwnd allows.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_xmit_retransmit_queue()</remarks>
    private void RetransmitQueue(TcpSock sk)
    {
        for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
        {
            if (sk.InFlight >= sk.SndCwnd) break;
            if ((s.Cb.Sacked & (SackedLost | SackedRetrans | SackedAcked)) != SackedLost) continue;
            if (!RetransmitSkb(sk, s, (int)(sk.SndCwnd - sk.InFlight))) break;
            if (sk.CaState == TcpCaState.Recovery) sk.PrrOut += (uint)Pcount(s, sk.MssCache);
            if (s == sk.WriteQueue.Peek()) RearmRto(sk);
        }
    }

    /// <summary>tcp_delack_timer_handler(): send the delayed ACK; a missed one shortens the next timeout (ato grows out of ping-pong).</summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_delack_timer_handler()</remarks>
    internal void OnDelackTimer(TcpSock sk)
    {
        if (!sk.AckPending || sk.State is TcpState.Close or TcpState.Listen) return;
        if (!sk.PingPong) sk.Ato = Duration.Min(sk.Ato * 2, sk.Rto);
        else
        {
            sk.PingPong = false;
            sk.Ato = AtoMin;
        }
        Mib.DelayedAcks++;
        SendAck(sk);
    }

    internal void OnTimeWaitTimer(TcpSock sk)
    {
        if (sk.State == TcpState.TimeWait) Done(sk);
    }

    /// <summary>
    /// tcp_send_delayed_ack(): ACK later — after ato, capped by the RTT (at least 40 ms) and by 200 ms in
    /// interactive mode; an ACK already due within a quarter of that goes now.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_send_delayed_ack()</remarks>
    private void SendDelayedAck(TcpSock sk)
    {
        var ato = sk.Ato;
        if (ato > AtoMin)
        {
            var max = sk.PingPong ? DelackMax : Duration.FromMilliseconds(500);
            if (sk.SrttUs > 0)
            {
                var rtt = Duration.Max(Duration.FromMicroseconds(sk.SrttUs >> 3), AtoMin);
                if (rtt < max) max = rtt;
            }
            ato = Duration.Min(ato, max);
        }
        var timeout = Now + ato;
        if (sk.AckPending && sk.DelackTimer.IsArmed)
        {
            if (sk.DelackTimer.Expires <= Now + ato / 4)
            {
                SendAck(sk);
                return;
            }
            if (timeout > sk.DelackTimer.Expires) timeout = sk.DelackTimer.Expires;
        }
        sk.AckPending = true;
        _clock.Arm(sk.DelackTimer, timeout);
    }
}
