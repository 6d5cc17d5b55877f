using Xmit.Buffers;
using Xmit.Time;

namespace Xmit.Transport.Tcp;

/// <summary>What an ACK in Loss asks to send next (tcp_ack's rexmit): nothing, the segments marked lost, or new data (F-RTO).</summary>
internal enum RecoveryXmit : byte { None, Lost, New }

/// <summary>
/// Undo of spurious cwnd reductions (RFC 3522 Eifel detection by timestamps, RFC 3708 by D-SACK, RFC 5682 F-RTO):
/// an episode (Recovery or Loss) remembers where it began and what ssthresh was (undo_marker, prior_ssthresh,
/// prior_cwnd); it is undone when a timestamp echo older than the first retransmission shows an original was only
/// late (tcp_packet_delayed), when every retransmission was D-SACKed (undo_retrans reaches 0), or when F-RTO sees
/// never-retransmitted data acknowledged after an RTO. Undo sets cwnd back (the congestion control's undo_cwnd) and
/// ssthresh back (prior_ssthresh), and forgets which segments were marked lost when it ends a Loss episode.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_input.c tcp_init_undo(), tcp_packet_delayed(), tcp_may_undo(), tcp_undo_cwnd_reduction(), tcp_try_undo_recovery(), tcp_try_undo_dsack(), tcp_try_undo_partial(), tcp_try_undo_loss(), tcp_process_loss()</remarks>
public sealed partial class TcpProtocol
{
    /// <summary>tcp_init_undo(): the episode begins at snd_una; retransmissions still out may be D-SACKed later.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_init_undo()</remarks>
    private static void InitUndo(TcpSock sk)
    {
        sk.Undo.Marker = sk.SndUna;
        // A retransmitted loss probe is counted in retrans_out here already (Linux adds it for tlp_retrans).
        sk.Undo.Retrans = sk.RetransOut != 0 ? (int)sk.RetransOut : -1;
    }

    /// <summary>tcp_current_ssthresh(): ssthresh, or ¾ of cwnd if that is more, outside a cwnd reduction.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_current_ssthresh()</remarks>
    private static uint CurrentSsthresh(TcpSock sk) =>
        sk.CaState is TcpCaState.Cwr or TcpCaState.Recovery ? sk.SndSsthresh
            : Math.Max(sk.SndSsthresh, (sk.SndCwnd >> 1) + (sk.SndCwnd >> 2));

    /// <summary>The TSval our segments carry for a time (milliseconds, tcp_time_stamp_ts).</summary>
    private static uint TsOf(Instant t) => (uint)(t.Nanoseconds / 1_000_000);

    /// <summary>tcp_tsopt_ecr_before(): the ACK echoes a timestamp older than <paramref name="when"/>.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_tsopt_ecr_before()</remarks>
    private static bool TsEcrBefore(TcpSock sk, Instant when) =>
        sk.TimestampOk && sk.RcvTsEcr != 0 && (int)(sk.RcvTsEcr - TsOf(when)) < 0;

    /// <summary>
    /// tcp_packet_delayed(): the echoed timestamp predates the first retransmission — or nothing was retransmitted
    /// at all (retrans_stamp 0), except in SYN-SENT and for a non-SACK connection holding at high_seq, where
    /// retrans_stamp was cleared with retransmissions done.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_packet_delayed()</remarks>
    private static bool PacketDelayed(TcpSock sk)
    {
        if (sk.RetransStamp is { } stamp) return TsEcrBefore(sk, stamp);
        if (sk.State == TcpState.SynSent) return false;
        if (!sk.SackOk && sk.SndUna >= sk.HighSeq) return false;
        return true;
    }

    /// <summary>tcp_may_undo(): an episode to undo, and either every retransmission D-SACKed or the original shown delayed.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_may_undo()</remarks>
    private static bool MayUndo(TcpSock sk) => sk.Undo.Marker is not null && (sk.Undo.Retrans == 0 || PacketDelayed(sk));

    /// <summary>tcp_any_retrans_done(): retransmissions are out, or the head was retransmitted once.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_any_retrans_done()</remarks>
    private static bool AnyRetransDone(TcpSock sk) =>
        sk.RetransOut > 0 || sk.WriteQueue.Peek() is { } head && head != sk.SendHead && (head.Cb.Sacked & TcpSacked.EverRetrans) != 0;

    /// <summary>tcp_retrans_stamp_cleanup(): no retransmission left in the window, so the next one starts a new retrans_stamp.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_retrans_stamp_cleanup()</remarks>
    private static void RetransStampCleanup(TcpSock sk)
    {
        if (!AnyRetransDone(sk)) sk.RetransStamp = null;
    }

    /// <summary>
    /// tcp_undo_cwnd_reduction(): cwnd from the congestion control's undo_cwnd (max of cwnd and prior_cwnd), ssthresh
    /// back to prior_ssthresh if that is higher (and no CWR goes out for the reduction) — unless ECN forbade undo
    /// (prior_ssthresh 0); after an RTO, the segments marked lost are not lost after all.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_undo_cwnd_reduction()</remarks>
    private static void UndoCwndReduction(TcpSock sk, bool unmarkLoss)
    {
        if (unmarkLoss)
        {
            for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
                s.Cb.Sacked &= ~TcpSacked.Lost;
            sk.LostOut = 0;
        }
        if (sk.Undo.PriorSsthresh != 0)
        {
            sk.SndCwnd = sk.CongestionOps.UndoCwnd(sk);
            if (sk.Undo.PriorSsthresh > sk.SndSsthresh)
            {
                sk.SndSsthresh = sk.Undo.PriorSsthresh;
                sk.Ecn &= ~TcpEcnFlags.QueueCwr; // tcp_ecn_withdraw_cwr()
            }
        }
        sk.Undo.Marker = null;
    }

    /// <summary>
    /// tcp_is_non_sack_preventing_reopen(): without SACK, stay in the state until something above high_seq is
    /// acknowledged (RFC 6582), so a duplicate ACK of high_seq cannot start a false fast retransmit.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_is_non_sack_preventing_reopen()</remarks>
    private static bool NonSackPreventingReopen(TcpSock sk)
    {
        if (sk.SndUna != sk.HighSeq || sk.SackOk) return false;
        RetransStampCleanup(sk);
        return true;
    }

    /// <summary>
    /// tcp_try_undo_recovery(): the episode is over (snd_una reached high_seq); if it proves spurious, undo it
    /// (TCPLossUndo after an RTO, TCPFullUndo after a fast recovery). Open again — returns true when a non-SACK
    /// connection must hold the state instead.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_try_undo_recovery()</remarks>
    private bool TryUndoRecovery(TcpSock sk)
    {
        if (MayUndo(sk))
        {
            UndoCwndReduction(sk, unmarkLoss: false);
            if (sk.CaState == TcpCaState.Loss) Mib.LossUndo++;
            else Mib.FullUndo++;
        }
        if (NonSackPreventingReopen(sk)) return true;
        SetCaState(sk, TcpCaState.Open);
        return false;
    }

    /// <summary>tcp_try_undo_dsack(): every retransmission of the episode was D-SACKed: none was needed (TCPDSACKUndo).</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_try_undo_dsack()</remarks>
    private bool TryUndoDsack(TcpSock sk)
    {
        if (sk.Undo.Marker is null || sk.Undo.Retrans != 0) return false;
        UndoCwndReduction(sk, unmarkLoss: false);
        Mib.DsackUndo++;
        return true;
    }

    /// <summary>
    /// tcp_try_undo_partial(): a partial ACK in Recovery whose timestamp echo shows the hole was filled by the
    /// delayed original: the path reorders more than thought (tcp_check_sack_reordering, TCPTSReorder). With no
    /// retransmission left out the reduction is undone (TCPPartialUndo); with some, nothing more is marked lost or
    /// retransmitted on this ACK (returns true).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_try_undo_partial()</remarks>
    private bool TryUndoPartial(TcpSock sk, Wire.TcpSeq priorSndUna)
    {
        if (sk.Undo.Marker is null || !PacketDelayed(sk)) return false;
        CheckSackReordering(sk, priorSndUna, HighestSackSeq(sk), ts: true);
        if (sk.RetransOut > 0) return true;
        RetransStampCleanup(sk);
        UndoCwndReduction(sk, unmarkLoss: true);
        Mib.PartialUndo++;
        TryKeepOpen(sk);
        return false;
    }

    /// <summary>
    /// tcp_try_undo_loss(): in Loss, the RTO proved spurious — by timestamps or D-SACKs (tcp_may_undo), or by F-RTO
    /// (<paramref name="frtoUndo"/>, TCPSpuriousRTOs): undo, nothing is lost, Open (SACK or F-RTO). Returns whether
    /// it undid.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_try_undo_loss()</remarks>
    private bool TryUndoLoss(TcpSock sk, bool frtoUndo)
    {
        if (!frtoUndo && !MayUndo(sk)) return false;
        UndoCwndReduction(sk, unmarkLoss: true);
        Mib.LossUndo++;
        if (frtoUndo) Mib.SpuriousRtos++;
        sk.Retransmits = 0;
        if (NonSackPreventingReopen(sk)) return true;
        if (frtoUndo || sk.SackOk) SetCaState(sk, TcpCaState.Open);
        return true;
    }

    /// <summary>tcp_try_keep_open(): Disorder while segments are SACKed, lost or were retransmitted, else Open; high_seq moves on.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_try_keep_open()</remarks>
    private static void TryKeepOpen(TcpSock sk)
    {
        var state = sk.SackedOut + sk.LostOut > 0 || AnyRetransDone(sk) ? TcpCaState.Disorder : TcpCaState.Open;
        if (sk.CaState == state) return;
        SetCaState(sk, state);
        sk.HighSeq = sk.SndNxt;
    }

    /// <summary>tcp_end_cwnd_reduction(): cwnd = ssthresh at the end of CWR or of a Recovery that was not undone.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_end_cwnd_reduction()</remarks>
    private static void EndCwndReduction(TcpSock sk)
    {
        if (sk.SndSsthresh < InfiniteSsthresh && (sk.CaState == TcpCaState.Cwr || sk.Undo.Marker is not null)) sk.SndCwnd = sk.SndSsthresh;
    }

    /// <summary>
    /// tcp_process_loss(): an ACK in Loss. Undo if it proves the RTO spurious (timestamps, D-SACKs); F-RTO (RFC 5682
    /// §3.1, the SACK-enhanced version): never-retransmitted data (S)ACKed after new data went out shows the RTO was
    /// spurious (step 3.b), a SACK or duplicate ACK then shows the loss was real (3.a); the first ACK that advances
    /// snd_una sends new data instead of retransmitting, if the window allows (2.b). Once snd_una reaches high_seq
    /// the episode ends (tcp_try_undo_recovery); otherwise the lost segments go again.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_process_loss()</remarks>
    private RecoveryXmit ProcessLoss(TcpSock sk, bool unaAdvanced, bool origAcked, bool dataSacked, bool dupAck)
    {
        var what = ProcessLossAck(sk, unaAdvanced, origAcked, dataSacked, dupAck);
        if (sk.CaState != TcpCaState.Loss) UpdateRtoTime(sk); // tcp_fastretrans_alert(): the RTO episode has ended
        return what;
    }

    private RecoveryXmit ProcessLossAck(TcpSock sk, bool unaAdvanced, bool origAcked, bool dataSacked, bool dupAck)
    {
        bool recovered = sk.SndUna >= sk.HighSeq;
        if ((unaAdvanced || sk.FastOpenReq is not null) && TryUndoLoss(sk, frtoUndo: false)) return RecoveryXmit.None;
        if (sk.Undo.Frto)
        {
            if (origAcked && TryUndoLoss(sk, frtoUndo: true)) return RecoveryXmit.None;
            if (sk.SndNxt > sk.HighSeq)
            {
                if (dataSacked || dupAck) sk.Undo.Frto = false;
            }
            else if (unaAdvanced && !recovered)
            {
                sk.HighSeq = sk.SndNxt;
                if (sk.SendHead is not null && WndEnd(sk) > sk.SndNxt) return RecoveryXmit.New;
                sk.Undo.Frto = false;
            }
        }
        if (recovered)
        {
            TryUndoRecovery(sk);
            return RecoveryXmit.None;
        }
        return RecoveryXmit.Lost;
    }

    /// <summary>
    /// tcp_xmit_recovery(): after cwnd was updated, F-RTO's new data (Nagle off) — falling back to retransmitting
    /// when none could go — or the lost segments.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_xmit_recovery()</remarks>
    private void XmitRecovery(TcpSock sk, RecoveryXmit what)
    {
        if (what == RecoveryXmit.None || sk.State == TcpState.SynSent) return;
        if (what == RecoveryXmit.New)
        {
            PushPendingFrames(sk, SendMss(sk, out _), NagleMode.Off);
            if (sk.SndNxt > sk.HighSeq) return;
            sk.Undo.Frto = false;
        }
        RetransmitQueue(sk);
    }
}
