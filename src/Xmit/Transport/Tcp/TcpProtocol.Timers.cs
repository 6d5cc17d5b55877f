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
        if (sk.FastOpenReq is not null) return; // the timer resends a Fast Open child's SYN-ACK: it stays
        bool wasProbe = sk.PendingTimer is TcpXmitTimer.LossProbe or TcpXmitTimer.ReorderTimeout;
        if (sk.PacketsOut == 0)
        {
            sk.PendingTimer = TcpXmitTimer.None;
            _clock.Disarm(sk.RetransmitTimer);
            return;
        }
        sk.PendingTimer = TcpXmitTimer.Retransmit;
        var timeout = sk.Rtt.Rto;
        if (wasProbe && sk.WriteQueue.Peek() is { } head && (head.Cb.TcpFlags & TcpFlags.Syn) == 0)
            timeout = Duration.Max(head.Cb.SentAt + sk.Rtt.Rto - Now, Duration.FromMicroseconds(1)); // usecs_to_jiffies(max(delta_us, 1))
        ResetTimer(sk.RetransmitTimer, timeout);
    }

    /// <summary>
    /// tcp_retransmit_timer(): the head of the queue was not acknowledged within the RTO — SYNs are resent up to
    /// tcp_syn_retries; data enters Loss (ssthresh from CUBIC's β, cwnd 1, everything sent counts as lost), the
    /// head is resent and the RTO doubles.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_retransmit_timer(), tcp_write_timeout(); net/ipv4/tcp_input.c tcp_enter_loss()</remarks>
    internal void OnRetransmitTimer(TcpSock sk)
    {
        var pending = sk.PendingTimer;
        sk.PendingTimer = TcpXmitTimer.None;
        if (sk.FastOpenReq is { } req && sk.State is not (TcpState.Close or TcpState.TimeWait))
        {
            FastOpenSynAckTimer(sk, req);
            return;
        }
        if (pending == TcpXmitTimer.LossProbe)
        {
            SendLossProbe(sk);
            return;
        }
        if (pending == TcpXmitTimer.ReorderTimeout)
        {
            OnReorderTimeout(sk);
            return;
        }
        var head = sk.WriteQueue.Peek();
        if (pending == TcpXmitTimer.Probe0)
        {
            if (sk.State is not (TcpState.Close or TcpState.Listen or TcpState.TimeWait)) ProbeTimer(sk);
            return;
        }
        if (head is null || sk.PacketsOut == 0 || sk.State is TcpState.Close or TcpState.Listen or TcpState.TimeWait) return;
        Mib.Timeouts++;
        if (WriteTimeout(sk))
        {
            sk.Error = sk.Error != Errno.OK ? sk.Error : Errno.ETIMEDOUT;
            Mib.AbortOnTimeout++; // tcp_write_err()
            if (sk.State == TcpState.SynSent) Mib.AttemptFails++;
            Done(sk);
            return;
        }
        // tcp_write_timeout(): a timeout may mean a broken path; a new flow label can take the flow to another TX queue
        // (and, across ECMP, another path).
        if (RethinkTxHash(sk))
        {
            sk.TimeoutRehash++;
            Mib.TimeoutRehash++;
        }
        if (sk.State is not (TcpState.SynSent or TcpState.SynRecv))
        {
            CountTimeoutFailure(sk);
            EnterLoss(sk);
        }
        UpdateRtoStats(sk);
        RetransmitSkb(sk, head);
        // Linux 6.18: a SYN's first tcp_syn_linear_timeouts timeouts keep the RTO (a single lost SYN costs 1 s,
        // not 1 + 2 + 4…); every other timeout doubles it.
        if (sk.State != TcpState.SynSent || sk.TotalRto > Sysctls.TcpSynLinearTimeouts)
        {
            sk.Backoff++;
            sk.Rtt.Backoff();
        }
        sk.PendingTimer = TcpXmitTimer.Retransmit;
        ResetTimer(sk.RetransmitTimer, ClampRtoToUserTimeout(sk, sk.Rtt.Rto));
    }

    /// <summary>
    /// tcp_write_timeout(): whether this timeout ends the connection. A SYN gets TCP_SYNCNT (or tcp_syn_retries)
    /// retransmissions plus tcp_syn_linear_timeouts; every state is also bounded in time — TCP_USER_TIMEOUT, or the
    /// time <c>boundary</c> exponentially backed-off retransmissions would take (tcp_model_timeout), counted from
    /// retrans_stamp: a connection with a long RTO gives up after fewer retransmissions than tcp_retries2.
    /// An orphan's bound is tcp_orphan_retries. Fast Open's blackhole check sees every timeout.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_write_timeout(), retransmits_timed_out(), tcp_model_timeout(), tcp_orphan_retries()</remarks>
    private bool WriteTimeout(TcpSock sk)
    {
        bool expired = false;
        int retryUntil;
        if (sk.State is TcpState.SynSent or TcpState.SynRecv)
        {
            retryUntil = sk.SynRetries > 0 ? sk.SynRetries : Sysctls.TcpSynRetries;
            int maxRetransmits = retryUntil + (sk.State == TcpState.SynSent ? Sysctls.TcpSynLinearTimeouts : 0);
            expired = sk.Retransmits >= maxRetransmits;
        }
        else
        {
            if (RetransmitsTimedOut(sk, Sysctls.TcpRetries1, 0)) MtuProbingOnTimeout(sk); // black hole detection
            retryUntil = Sysctls.TcpRetries2;
            // tcp_orphan_retries(): an orphan gets tcp_orphan_retries — 0 by default, which means 8 (over 100 s at
            // the minimal RTO) while its RTO is below TCP_RTO_MAX. (tcp_out_of_resources' orphan and memory limits
            // are not modelled.)
            if (sk.Dead)
            {
                retryUntil = Sysctls.TcpOrphanRetries;
                if (retryUntil == 0 && sk.Rtt.Rto < RtoMax) retryUntil = 8;
            }
        }
        if (!expired) expired = RetransmitsTimedOut(sk, retryUntil, sk.UserTimeoutMs);
        FastOpenDetectBlackhole(sk, expired);
        return expired;
    }

    /// <summary>
    /// retransmits_timed_out(): after at least one retransmission, whether <paramref name="userTimeoutMs"/> (when set)
    /// or the model time of <paramref name="boundary"/> backed-off retransmissions has passed since retrans_stamp,
    /// compared in milliseconds as Linux's TCP timestamps count.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c retransmits_timed_out()</remarks>
    private bool RetransmitsTimedOut(TcpSock sk, int boundary, int userTimeoutMs)
    {
        if (sk.Retransmits == 0 || sk.RetransStamp is not { } start) return false;
        long timeoutMs = userTimeoutMs > 0 ? userTimeoutMs
            : ModelTimeoutMs(boundary, sk.State is TcpState.SynSent or TcpState.SynRecv ? InitialRto : RtoMin);
        return Now.Nanoseconds / 1_000_000 - start.Nanoseconds / 1_000_000 >= timeoutMs;
    }

    /// <summary>
    /// tcp_model_timeout(): how long <paramref name="boundary"/> retransmissions take when the RTO starts at
    /// <paramref name="rtoBase"/> and doubles up to TCP_RTO_MAX.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_model_timeout()</remarks>
    internal static long ModelTimeoutMs(int boundary, Duration rtoBase)
    {
        long baseMs = rtoBase.Nanoseconds / 1_000_000, maxMs = RtoMax.Nanoseconds / 1_000_000;
        int thresh = System.Numerics.BitOperations.Log2((ulong)(maxMs / baseMs));
        return boundary <= thresh ? ((2L << boundary) - 1) * baseMs
            : ((2L << thresh) - 1) * baseMs + (boundary - thresh) * maxMs;
    }

    /// <summary>
    /// tcp_update_rto_stats(): one more timeout — tcpi_total_rto — and, for the first of an episode, one more RTO
    /// recovery, whose time counts from now until the episode ends (tcpi_total_rto_time).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_update_rto_stats()</remarks>
    private void UpdateRtoStats(TcpSock sk)
    {
        if (sk.Retransmits == 0)
        {
            sk.TotalRtoRecoveries++;
            sk.RtoStamp = Now;
        }
        sk.Retransmits++;
        sk.TotalRto++;
    }

    /// <summary>tcp_update_rto_time(): an RTO recovery has ended; its time joins tcpi_total_rto_time.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_update_rto_time()</remarks>
    private void UpdateRtoTime(TcpSock sk)
    {
        if (sk.RtoStamp is not { } stamp) return;
        sk.TotalRtoTimeMs += (uint)(Now.Nanoseconds / 1_000_000 - stamp.Nanoseconds / 1_000_000);
        sk.RtoStamp = null;
    }

    /// <summary>sk_rethink_txhash(): a new sk_txhash for a socket that has one (net.core.txrehash = 1, Linux's default).</summary>
    /// <remarks>Linux: include/net/sock.h sk_rethink_txhash(); net/ipv4/tcp_timer.c tcp_write_timeout()</remarks>
    private bool RethinkTxHash(TcpSock sk)
    {
        if (sk.TxHash == 0) return false;
        sk.TxHash = NewTxHash();
        return true;
    }

    /// <summary>
    /// tcp_enter_loss(): all outstanding segments lost, cwnd 1 (what is in flight + 1). ssthresh is reduced — and the
    /// state an undo would restore saved (prior_ssthresh, prior_cwnd, tcp_init_undo) — unless this window was already
    /// reduced (Recovery or CWR not yet over, or a timeout again). A timeout in disorder after many SACKs says the
    /// reordering estimate is too high. F-RTO will test this timeout unless it comes during another recovery (a
    /// repeated timeout of the same head is tested too).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_enter_loss(), tcp_timeout_mark_lost()</remarks>
    private void EnterLoss(TcpSock sk)
    {
        bool newRecovery = sk.CaState < TcpCaState.Recovery;
        if (sk.CaState <= TcpCaState.Disorder || sk.HighSeq <= sk.SndUna || (sk.CaState == TcpCaState.Loss && sk.Retransmits == 0))
        {
            sk.Undo.PriorSsthresh = CurrentSsthresh(sk);
            sk.PriorCwnd = sk.SndCwnd;
            sk.SndSsthresh = sk.CongestionOps.SsThresh(sk);
            InitUndo(sk);
        }
        sk.SndCwnd = 1;
        sk.SndCwndCnt = 0;
        if (sk.CaState <= TcpCaState.Disorder && sk.SackedOut >= Sysctls.TcpReordering)
            sk.Reordering = Math.Min(sk.Reordering, (uint)Sysctls.TcpReordering);
        SetCaState(sk, TcpCaState.Loss);
        sk.HighSeq = sk.SndNxt;
        sk.TlpHighSeq = default; // an RTO ends the probe's episode
        EcnQueueCwr(sk);
        sk.DupAcks = 0;
        sk.LostOut = 0;
        sk.RetransOut = 0;
        if (!sk.SackOk) sk.SackedOut = 0; // Reno's counted duplicate ACKs; SACKed segments stay SACKed
        for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
        {
            if ((s.Cb.Sacked & TcpSacked.Acked) != 0) continue;
            s.Cb.Sacked = (s.Cb.Sacked & TcpSacked.EverRetrans) | TcpSacked.Lost;
            sk.LostOut += (uint)Pcount(s, sk.MssCache);
        }
        sk.Undo.Frto = Sysctls.TcpFrto != 0 && (newRecovery || sk.Retransmits > 0);
    }

    /// <summary>
    /// tcp_retransmit_timer(): the first timeout of an episode counts what it interrupted — a fast recovery
    /// (TCPSackRecoveryFail / TCPRenoRecoveryFail), a loss recovery (TCPLossFailures), disorder (TCPSackFailures /
    /// TCPRenoFailures).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_retransmit_timer()</remarks>
    private void CountTimeoutFailure(TcpSock sk)
    {
        if (sk.Retransmits != 0) return;
        if (sk.CaState == TcpCaState.Recovery)
        {
            if (sk.SackOk) Mib.SackRecoveryFail++;
            else Mib.RenoRecoveryFail++;
        }
        else if (sk.CaState == TcpCaState.Loss) Mib.LossFailures++;
        else if (sk.CaState == TcpCaState.Disorder || sk.SackedOut > 0)
        {
            if (sk.SackOk) Mib.SackFailures++;
            else Mib.RenoFailures++;
        }
    }

    /// <summary>tcp_set_ca_state(): tell the congestion control, then move.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_set_ca_state()</remarks>
    private static void SetCaState(TcpSock sk, TcpCaState state)
    {
        sk.CongestionOps.SetState(sk, state);
        sk.CaState = state;
    }

    /// <summary>
    /// tcp_retransmit_skb(): resend a queued skb, cut to <paramref name="segs"/> segments (one for the RTO and
    /// probes, what cwnd allows for recovery); a multi-segment retransmission is one GSO packet.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c __tcp_retransmit_skb(), tcp_retransmit_skb()</remarks>
    private bool RetransmitSkb(TcpSock sk, SkBuff skb, int segs = 1, bool lossProbe = false)
    {
        bool sent = RetransmitOne(sk, skb, segs);
        if (lossProbe) return sent; // __tcp_retransmit_skb alone: no retrans_stamp, not an undo_retrans
        // tcp_retransmit_skb(): the first (attempted) retransmission stamps the episode; each counts for undo.
        sk.RetransStamp ??= skb.Cb.SentAt;
        if (sk.Undo.Retrans < 0) sk.Undo.Retrans = 0;
        sk.Undo.Retrans += Pcount(skb, sk.MssCache);
        return sent;
    }

    /// <summary>__tcp_retransmit_skb(): the transmission itself, marking the skb retransmitted (and ever retransmitted).</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c __tcp_retransmit_skb()</remarks>
    private bool RetransmitOne(TcpSock sk, SkBuff skb, int segs)
    {
        // Nothing of it inside the peer's window (in SYN-SENT there is none yet): not resent — unless it is the
        // head, whose resend then probes the zero window.
        if ((int)(WndEnd(sk) - skb.Cb.Seq) <= 0 && skb.Cb.Seq != sk.SndUna) return false;
        int mss = sk.MssCache;
        int len = mss * Math.Max(segs, 1);
        // The pieces of a sent skb add up to the segments already counted in flight.
        if (skb.Len > len && (skb.Cb.TcpFlags & TcpFlags.Syn) == 0) Fragment(sk, skb, len);
        EcnClearSyn(skb);
        bool tsqArmed = sk.TsqTasklet.IsArmed;
        if (TransmitSkb(sk, skb, clone: true) < 0)
        {
            // Not sent (the qdisc dropped it): it stays unmarked. Freeing the dropped clone must not schedule the TSQ
            // push at once — it would retry into the same full qdisc in the same instant for ever (Linux spins until
            // the device drains); the next TX completion of what the qdisc holds schedules it instead.
            if (!tsqArmed && sk.TsqTasklet.IsArmed)
            {
                _clock.Disarm(sk.TsqTasklet);
                sk.TsqThrottled = true;
            }
            return false;
        }
        Trace?.TcpRetransmitSkb(sk, skb);
        if ((skb.Cb.Sacked & TcpSacked.Retrans) == 0) sk.RetransOut += (uint)Pcount(skb, mss);
        skb.Cb.Sacked |= TcpSacked.Retrans | TcpSacked.EverRetrans;
        Mib.RetransSegs += Pcount(skb, mss);
        sk.TotalRetrans += (uint)Pcount(skb, mss); // tcp_retransmit_skb(): total_retrans, bytes_retrans
        sk.BytesRetrans += (ulong)skb.Len;
        return true;
    }

    /// <summary>
    /// tcp_xmit_retransmit_queue(): resend lost segments while cwnd allows and TCP Small Queues (with the limit
    /// doubled for retransmissions) lets them below TCP; a throttled queue goes on from tcp_tsq_handler.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_xmit_retransmit_queue(), tcp_small_queue_check()</remarks>
    private void RetransmitQueue(TcpSock sk)
    {
        for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
        {
            if (PacingCheck(sk)) break;
            if (sk.InFlight >= sk.SndCwnd) break;
            if ((s.Cb.Sacked & (TcpSacked.Lost | TcpSacked.Retrans | TcpSacked.Acked)) != TcpSacked.Lost) continue;
            if (SmallQueueCheck(sk, s, 1)) break;
            if (!RetransmitSkb(sk, s, (int)(sk.SndCwnd - sk.InFlight))) break;
            if (sk.CaState is TcpCaState.Recovery or TcpCaState.Cwr) sk.PrrOut += (uint)Pcount(s, sk.MssCache); // tcp_in_cwnd_reduction()
            if (s == sk.WriteQueue.Peek()) RearmRto(sk);
        }
    }

    /// <summary>tcp_delack_timer_handler(): send the delayed ACK; a missed one shortens the next timeout (ato grows out of ping-pong).</summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_delack_timer_handler()</remarks>
    internal void OnDelackTimer(TcpSock sk)
    {
        if (!sk.Delack.Pending || sk.State is TcpState.Close or TcpState.Listen) return;
        if (!sk.Delack.PingPong) sk.Delack.Ato = Duration.Min(sk.Delack.Ato * 2, sk.Rtt.Rto);
        else
        {
            sk.Delack.PingPong = false;
            sk.Delack.Ato = AtoMin;
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
    /// interactive mode; an ACK already due within a quarter of that goes now. ato and the timeout are jiffies: the
    /// timer's nominal expiry is jiffies + ato (kept for the next decision), and the wheel fires it one tick after that
    /// (40 ms armed mid-tick: 40-44 ms at HZ=250).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_send_delayed_ack()</remarks>
    private void SendDelayedAck(TcpSock sk)
    {
        var ato = sk.Delack.Ato;
        if (ato > AtoMin)
        {
            var max = sk.Delack.PingPong ? DelackMax : Duration.FromMilliseconds(500);
            if (sk.Rtt.HasSample)
            {
                var rtt = Duration.Max(Duration.FromMicroseconds(sk.Rtt.SrttUs), AtoMin);
                if (rtt < max) max = rtt;
            }
            ato = Duration.Min(ato, max);
        }
        var jiffies = JiffiesClock;
        ato = jiffies.RoundUp(ato); // usecs_to_jiffies() of the RTT bound; ato itself is kept in jiffies
        var timeout = jiffies.Deadline(Now, ato);
        if (sk.Delack.Pending && sk.Delack.Timer.IsArmed)
        {
            if (sk.Delack.Timeout <= jiffies.Deadline(Now, jiffies.RoundDown(ato / 4))) // jiffies + (ato >> 2)
            {
                SendAck(sk);
                return;
            }
            if (timeout > sk.Delack.Timeout) timeout = sk.Delack.Timeout;
        }
        sk.Delack.Pending = true;
        ResetDelackTimer(sk, timeout);
    }
}
