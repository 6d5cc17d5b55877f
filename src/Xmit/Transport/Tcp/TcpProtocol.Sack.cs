using Xmit.Buffers;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

public sealed partial class TcpProtocol
{
    /// <summary>
    /// tcp_sacktag_write_queue(): mark the sent skbs the peer's SACK blocks cover (cutting TSO skbs at MSS
    /// boundaries inside a block), move them out of lost / retransmitted, and note for RACK the most recently
    /// sent one that was delivered. Returns how many segments became SACKed.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_sacktag_write_queue(), tcp_sacktag_one(), tcp_match_skb_to_sack()</remarks>
    private uint SackTag(TcpSock sk, in TcpOptions opt, bool dsack, out bool origSacked)
    {
        uint newly = 0;
        origSacked = false;
        int mss = sk.MssCache;
        var priorFack = HighestSackSeq(sk);
        var reord = sk.SndNxt;
        for (int b = 0; b < opt.SackBlockCount; b++)
        {
            var (startValue, endValue) = opt.Sack(b);
            TcpSeq start = new(startValue), end = new(endValue);
            if (start >= end || end <= sk.SndUna || end > sk.SndNxt) continue; // old, D-SACK or bogus
            if (b == 0 && dsack) DsackTagRetransmitted(sk, start, end);
            for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
            {
                if (s.Cb.EndSeq <= start) continue;
                if (s.Cb.Seq >= end) break;
                if ((s.Cb.Sacked & TcpSacked.Acked) != 0) continue;
                // A block covering part of a TSO skb: cut at the block's edges when they fall on MSS boundaries.
                if (s.Cb.Seq < start)
                {
                    int head = (int)(start - s.Cb.Seq);
                    if (head % mss != 0) continue;
                    Fragment(sk, s, head);
                    continue; // the next skb starts at the block
                }
                if (s.Cb.EndSeq > end)
                {
                    int inside = (int)(end - s.Cb.Seq);
                    if (inside % mss != 0) continue;
                    Fragment(sk, s, inside);
                }
                uint pc = (uint)Pcount(s, mss);
                if ((s.Cb.Sacked & TcpSacked.Lost) != 0) sk.LostOut -= Math.Min(sk.LostOut, pc);
                if ((s.Cb.Sacked & TcpSacked.Retrans) != 0) sk.RetransOut -= Math.Min(sk.RetransOut, pc);
                // A never-retransmitted segment SACKed below the highest SACK arrived out of order (tcp_sacktag_one);
                // one sent before the episode began shows F-RTO that an original got through (FLAG_ORIG_SACK_ACKED).
                if ((s.Cb.Sacked & TcpSacked.Retrans) == 0 && s.Cb.Seq < priorFack && s.Cb.Seq < reord) reord = s.Cb.Seq;
                if ((s.Cb.Sacked & (TcpSacked.Retrans | TcpSacked.EverRetrans)) == 0 && s.Cb.EndSeq <= sk.HighSeq) origSacked = true;
                RackAdvance(sk, s);
                s.Cb.Sacked = (s.Cb.Sacked & TcpSacked.EverRetrans) | TcpSacked.Acked;
                sk.SackedOut += pc;
                sk.Delivered += pc;
                newly += pc;
                if (s.Cb.EndSeq > sk.HighestSackEnd || sk.HighestSackEnd == default) sk.HighestSackEnd = s.Cb.EndSeq;
            }
        }
        // Not in Loss, where retransmissions cannot be told apart, unless an undo is still possible.
        if (reord < priorFack && (sk.CaState != TcpCaState.Loss || sk.Undo.Marker is not null)) CheckSackReordering(sk, reord, HighestSackSeq(sk));
        return newly;
    }

    /// <summary>
    /// tcp_sacktag_one() with dup_sack: a D-SACK inside the window for segments we retransmitted — each is one
    /// retransmission fewer left to prove needed (undo_retrans), and a retransmission still counted out is not.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_sacktag_one()</remarks>
    private static void DsackTagRetransmitted(TcpSock sk, TcpSeq start, TcpSeq end)
    {
        int mss = sk.MssCache;
        for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
        {
            if (s.Cb.EndSeq <= start) continue;
            if (s.Cb.Seq >= end) break;
            if (s.Cb.Seq < start || s.Cb.EndSeq > end) continue; // only whole skbs (tcp_match_skb_to_sack would cut)
            if ((s.Cb.Sacked & (TcpSacked.Retrans | TcpSacked.EverRetrans)) == 0) continue;
            int pc = Pcount(s, mss);
            if (sk.Undo.Marker is { } marker && sk.Undo.Retrans > 0 && s.Cb.EndSeq > marker)
                sk.Undo.Retrans = Math.Max(0, sk.Undo.Retrans - pc);
            if ((s.Cb.Sacked & (TcpSacked.Acked | TcpSacked.Retrans)) == (TcpSacked.Acked | TcpSacked.Retrans))
            {
                s.Cb.Sacked &= ~TcpSacked.Retrans;
                sk.RetransOut -= Math.Min(sk.RetransOut, (uint)pc);
            }
        }
    }

    /// <summary>
    /// tcp_check_dsack() / tcp_dsack_seen(): the first SACK block is a D-SACK (RFC 2883) when it lies below the
    /// ACK (TCPDSACKRecv) or inside the second block (TCPDSACKOfoRecv). It is believed only if no longer than the
    /// largest window and if the peer has not reported more duplicates than we retransmitted
    /// (TCPDSACKIgnoredDubious otherwise). <paramref name="tlpDup"/>: it is the duplicate of our loss probe — one
    /// segment ending at tlp_high_seq (FLAG_DSACK_TLP), so the original and the probe both arrived.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_check_dsack(), tcp_dsack_seen()</remarks>
    private uint CheckDsack(TcpSock sk, in TcpOptions opt, TcpSeq ack, out bool tlpDup)
    {
        tlpDup = false;
        if (opt.SackBlockCount == 0) return 0;
        var (s0, e0) = opt.Sack(0);
        TcpSeq start = new(s0), end = new(e0);
        if (start < ack) Mib.DsackRecv++;
        else if (opt.SackBlockCount > 1)
        {
            var (s1, e1) = opt.Sack(1);
            if (end > new TcpSeq(e1) || start < new TcpSeq(s1)) return 0;
            Mib.DsackOfoRecv++;
        }
        else return 0;
        uint dupSegs = 0;
        if (start < end && end - start <= sk.MaxWindow)
        {
            uint len = end - start;
            uint mss = (uint)sk.MssCache;
            dupSegs = len > mss ? (len + mss - 1) / mss : 1;
            bool probe = len <= mss && sk.TlpHighSeq != default && sk.TlpHighSeq == end;
            sk.DsackDups += dupSegs;
            // More duplicates than retransmissions: not caused by us (a duplicating path), so it proves nothing.
            if (sk.DsackDups > sk.TotalRetrans) dupSegs = 0;
            else tlpDup = probe;
        }
        if (dupSegs == 0)
        {
            Mib.DsackIgnoredDubious++;
            return 0;
        }
        Mib.DsackRecvSegs += dupSegs;
        // D-SACK for data already acknowledged: count it against the episode's retransmissions (undo_retrans).
        if (sk.Undo.Marker is { } marker && sk.Undo.Retrans > 0 && end <= sk.SndUna && end > marker)
            sk.Undo.Retrans = Math.Max(0, sk.Undo.Retrans - (int)dupSegs);
        return dupSegs;
    }

    /// <summary>tcp_highest_sack_seq(): the end of the highest SACKed data, or snd_una when none is SACKed.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_highest_sack_seq()</remarks>
    private static TcpSeq HighestSackSeq(TcpSock sk) =>
        sk.SackedOut > 0 && sk.HighestSackEnd != default && sk.HighestSackEnd > sk.SndUna ? sk.HighestSackEnd : sk.SndUna;

    /// <summary>
    /// tcp_check_sack_reordering(): a segment delivered below the highest SACK shows the path reorders by
    /// (fack − seq) bytes; the reordering degree grows to that many segments (at most tcp_max_reordering, 300).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_check_sack_reordering()</remarks>
    private void CheckSackReordering(TcpSock sk, TcpSeq lowSeq, TcpSeq fack, bool ts = false)
    {
        if (lowSeq >= fack) return;
        uint metric = fack - lowSeq;
        uint mss = (uint)sk.MssCache;
        if (metric > sk.Reordering * mss) sk.Reordering = Math.Min((metric + mss - 1) / mss, 300u);
        sk.ReordSeen++;
        if (ts) Mib.TsReorder++;
        else Mib.SackReorder++;
    }

    /// <summary>tcp_rack_advance(): remember the latest-sent skb known delivered, and the RTT it implies.</summary>
    /// <remarks>Linux: net/ipv4/tcp_recovery.c tcp_rack_advance()</remarks>
    private void RackAdvance(TcpSock sk, SkBuff skb)
    {
        var sent = skb.Cb.SentAt;
        long rttUs = (Now - sent).Nanoseconds / 1000;
        // A retransmission acknowledged sooner than min_rtt could be the original's ACK: ignore it.
        if ((skb.Cb.Sacked & TcpSacked.Retrans) != 0 && rttUs < sk.Rtt.MinRttUs) return;
        sk.Rack.RttUs = rttUs;
        if (sent > sk.Rack.SentAt || (sent == sk.Rack.SentAt && skb.Cb.EndSeq > sk.Rack.EndSeq))
        {
            sk.Rack.SentAt = sent;
            sk.Rack.EndSeq = skb.Cb.EndSeq;
        }
    }

    /// <summary>
    /// RACK (RFC 8985), tcp_rack_detect_loss(): an unSACKed skb sent before the latest delivered one is lost
    /// once RTT + reo_wnd has passed since it was sent; those still inside the window arm the reordering timer.
    /// reo_wnd is min_rtt/4 (at most srtt), 0 when recovery is already on or three segments are SACKed.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_recovery.c tcp_rack_detect_loss(), tcp_rack_reo_wnd(), tcp_rack_mark_lost()</remarks>
    private uint RackDetectLoss(TcpSock sk)
    {
        if (!sk.Rack.HasSample) return 0;
        long reoWndUs = sk.ReordSeen == 0 && (sk.CaState >= TcpCaState.Recovery || sk.SackedOut >= sk.Reordering)
            ? 0 : Math.Min(sk.Rtt.MinRttUs / 4, sk.Rtt.SrttUs);
        long timeoutUs = 0;
        uint newlyLost = 0;
        int mss = sk.MssCache;
        for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
        {
            if ((s.Cb.Sacked & TcpSacked.Acked) != 0) continue;
            if ((s.Cb.Sacked & TcpSacked.Lost) != 0 && (s.Cb.Sacked & TcpSacked.Retrans) == 0) continue;
            bool sentBefore = s.Cb.SentAt < sk.Rack.SentAt || (s.Cb.SentAt == sk.Rack.SentAt && s.Cb.EndSeq < sk.Rack.EndSeq);
            if (!sentBefore) continue;
            long remainingUs = (s.Cb.SentAt - Now).Nanoseconds / 1000 + sk.Rack.RttUs + reoWndUs;
            if (remainingUs <= 0)
            {
                uint pc = (uint)Pcount(s, mss);
                if ((s.Cb.Sacked & TcpSacked.Retrans) != 0) sk.RetransOut -= Math.Min(sk.RetransOut, pc);
                s.Cb.Sacked = TcpSacked.Lost;
                sk.LostOut += pc;
                newlyLost += pc;
            }
            else timeoutUs = Math.Max(timeoutUs, remainingUs);
        }
        if (timeoutUs > 0)
        {
            // tcp_rack_mark_lost(): the wait plus TCP_TIMEOUT_MIN_US, rounded up to jiffies.
            sk.PendingTimer = TcpXmitTimer.ReorderTimeout;
            ResetTimer(sk.RetransmitTimer, Duration.FromMicroseconds(timeoutUs) + TimeoutMin);
        }
        return newlyLost;
    }

    /// <summary>tcp_rack_reo_timeout(): the reordering window ran out — mark what is now lost, start recovery and retransmit.</summary>
    /// <remarks>Linux: net/ipv4/tcp_recovery.c tcp_rack_reo_timeout()</remarks>
    private void OnReorderTimeout(TcpSock sk)
    {
        uint lost = RackDetectLoss(sk);
        if (lost > 0)
        {
            if (sk.CaState != TcpCaState.Recovery)
            {
                EnterRecovery(sk);
                CwndReduction(sk, 1);
            }
            RetransmitQueue(sk);
        }
        if (sk.PendingTimer != TcpXmitTimer.ReorderTimeout) RearmRto(sk);
    }

    /// <summary>
    /// tcp_enter_recovery() / tcp_init_cwnd_reduction(): the episode an undo would take back begins here
    /// (tcp_init_undo; retrans_stamp starts afresh when nothing is retransmitted), ssthresh from CUBIC (the old one
    /// kept as prior_ssthresh unless an ECE came with the loss), PRR counters start — unless a CWR episode (an ECE,
    /// local congestion) is already reducing cwnd, which Recovery then continues.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_enter_recovery(), tcp_init_cwnd_reduction()</remarks>
    private void EnterRecovery(TcpSock sk, bool ece = false)
    {
        RetransStampCleanup(sk);
        sk.Undo.PriorSsthresh = 0;
        InitUndo(sk);
        if (sk.CaState is not (TcpCaState.Cwr or TcpCaState.Recovery))
        {
            if (!ece) sk.Undo.PriorSsthresh = CurrentSsthresh(sk);
            sk.PriorCwnd = sk.SndCwnd;
            sk.SndSsthresh = sk.CongestionOps.SsThresh(sk);
            sk.PrrDelivered = 0;
            sk.PrrOut = 0;
            sk.HighSeq = sk.SndNxt;
            sk.TlpHighSeq = default;
            EcnQueueCwr(sk);
        }
        SetCaState(sk, TcpCaState.Recovery);
        Mib.FastRetrans++;
    }

    /// <summary>
    /// tcp_cwnd_reduction(): Proportional Rate Reduction (RFC 6937) — while more is in flight than ssthresh,
    /// send ssthresh/prior_cwnd of what is delivered; below it, what PRR still owes (at least what this ACK
    /// delivered), and with the slow-start reduction bound one more when snd_una advanced and nothing was newly
    /// marked lost; never above ssthresh; one segment goes at once on entering recovery.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_cwnd_reduction()</remarks>
    private static void CwndReduction(TcpSock sk, uint newlyAckedSacked, bool unaAdvanced = false, bool newlyLost = false)
    {
        if (newlyAckedSacked == 0 || sk.PriorCwnd == 0) return;
        long delta = (long)sk.SndSsthresh - sk.InFlight;
        sk.PrrDelivered += newlyAckedSacked;
        long sndcnt;
        if (delta < 0)
        {
            long dividend = (long)sk.SndSsthresh * sk.PrrDelivered + sk.PriorCwnd - 1;
            sndcnt = dividend / sk.PriorCwnd - sk.PrrOut;
        }
        else
        {
            sndcnt = Math.Max((long)sk.PrrDelivered - sk.PrrOut, newlyAckedSacked);
            if (unaAdvanced && !newlyLost) sndcnt++; // FLAG_SND_UNA_ADVANCED, no rs->losses
            sndcnt = Math.Min(delta, sndcnt);
        }
        sndcnt = Math.Max(sndcnt, sk.PrrOut > 0 ? 0 : 1);
        sk.SndCwnd = (uint)Math.Max(sk.InFlight + sndcnt, 1);
    }

    /// <summary>
    /// The SACK side of tcp_fastretrans_alert() and tcp_cong_control(): an ECE forbids undo; Recovery ends when
    /// snd_una reaches high_seq — undone if it proves spurious, else cwnd = ssthresh; Loss goes to
    /// <see cref="ProcessLoss"/> (undo, F-RTO); in Recovery a partial ACK or D-SACKs may undo it (and a loss still
    /// evident starts it again), else PRR paces the retransmissions; Open ↔ Disorder while segments are SACKed,
    /// D-SACKs of every retransmission undoing a finished recovery; Recovery once RACK finds a loss.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_fastretrans_alert(), tcp_cong_control(), tcp_end_cwnd_reduction(), tcp_try_to_open()</remarks>
    private void SackCongestionState(TcpSock sk, uint acked, uint newlySacked, uint newlyLost, in AckEvent ev)
    {
        bool ece = ev.Ece, unaAdvanced = ev.UnaAdvanced;
        if (ece) sk.Undo.PriorSsthresh = 0;
        if (sk.CaState == TcpCaState.Open)
        {
            if (ev.Dubious) sk.RetransStamp = null;
        }
        else if (sk.CaState == TcpCaState.Recovery && sk.SndUna >= sk.HighSeq)
        {
            TryUndoRecovery(sk); // with SACK it never holds the state
            EndCwndReduction(sk);
        }
        if (sk.CaState == TcpCaState.Loss)
        {
            var what = ProcessLoss(sk, unaAdvanced, ev.OrigAcked, newlySacked > 0, dupAck: false);
            if (sk.CaState != TcpCaState.Open)
            {
                // Loss is no cwnd reduction: slow start goes on (tcp_cong_control), then the recovery's sends.
                if (MayRaiseCwnd(sk, acked, newlySacked)) CongAvoid(sk, acked + newlySacked + ev.DsackSegs);
                XmitRecovery(sk, what);
                return;
            }
        }
        // An ECE without a new loss reduces cwnd once (CWR); with one, Recovery below reduces it anyway.
        if (ece && !(sk.LostOut > 0 && newlyLost > 0)) EcnEcho(sk);
        // CWR goes on (PRR) unless this ACK ends it or RACK found a loss, which starts Recovery instead.
        if (sk.CaState == TcpCaState.Cwr && !(sk.LostOut > 0 && newlyLost > 0) && CwrAck(sk, acked + newlySacked + ev.DsackSegs, unaAdvanced, newlyLost > 0)) return;
        if (sk.CaState == TcpCaState.Recovery)
        {
            // A partial ACK or D-SACKs may show the recovery spurious; a loss still evident starts it again.
            bool hold = unaAdvanced && TryUndoPartial(sk, ev.PriorUna);
            if (!hold && TryUndoDsack(sk)) TryKeepOpen(sk);
            if (sk.CaState != TcpCaState.Recovery && sk.LostOut > 0) EnterRecovery(sk, ece);
            if (sk.CaState == TcpCaState.Recovery)
            {
                CwndReduction(sk, acked + newlySacked + ev.DsackSegs, unaAdvanced, newlyLost > 0);
                if (!hold) RetransmitQueue(sk);
                return;
            }
        }
        else
        {
            if (sk.CaState <= TcpCaState.Disorder) TryUndoDsack(sk);
            if (sk.CaState != TcpCaState.Recovery && sk.LostOut > 0 && newlyLost > 0)
            {
                if (MtuProbeFailed(sk)) return;
                EnterRecovery(sk, ece);
                CwndReduction(sk, acked + newlySacked + ev.DsackSegs, unaAdvanced, newlyLost > 0);
                RetransmitQueue(sk);
                return;
            }
        }
        // tcp_try_to_open()
        RetransStampCleanup(sk);
        if (sk.CaState != TcpCaState.Cwr) TryKeepOpen(sk);
        if (MayRaiseCwnd(sk, acked, newlySacked)) CongAvoid(sk, acked + newlySacked + ev.DsackSegs);
    }

    /// <summary>
    /// tcp_may_raise_cwnd(): normally only cumulative progress grows cwnd; once reordering was seen beyond
    /// tcp_reordering, SACKed data counts too.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_may_raise_cwnd()</remarks>
    private bool MayRaiseCwnd(TcpSock sk, uint acked, uint newlySacked) =>
        sk.Reordering > Sysctls.TcpReordering ? acked + newlySacked > 0 : acked > 0;
}

/// <summary>
/// What tcp_ack() learnt from an ACK that tcp_fastretrans_alert() decides on (its flags): ECE, snd_una advanced
/// (from <see cref="PriorUna"/>), never-retransmitted data (S)ACKed (FLAG_ORIG_SACK_ACKED), a D-SACK, and whether
/// the ACK is dubious (tcp_ack_is_dubious: a duplicate, a SACK, an ECE or a D-SACK); DsackSegs, the segments a D-SACK
/// reported delivered twice (tcp_dsack_seen's sack_delivered, "a spurious retransmission is delivered"), which count
/// with the ACK's acked and SACKed ones wherever Linux uses acked_sacked (cwnd growth, PRR).
/// </summary>
internal readonly record struct AckEvent(bool Ece, bool UnaAdvanced, Wire.TcpSeq PriorUna, bool OrigAcked, bool Dsack, bool Dubious, uint DsackSegs = 0);
