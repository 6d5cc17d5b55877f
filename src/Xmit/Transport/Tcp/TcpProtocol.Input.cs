using Xmit.Buffers;
using Xmit.Sockets;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

public sealed partial class TcpProtocol
{
    /// <summary>
    /// tcp_v4_rcv(): checksum, socket lookup (a RST for segments nobody wants), then the state machine.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_ipv4.c tcp_v4_rcv(), tcp_v4_do_rcv()</remarks>
    public void Receive(SkBuff skb, Ipv4Address source, Ipv4Address destination)
    {
        // skb_csum_unnecessary(): a segment that came through lo as CHECKSUM_PARTIAL is not checked again.
        Mib.InSegs++; // "Count it even if it's bad"
        if (!TcpSegment.TryCreate(skb.Data, out var seg))
        {
            Mib.InErrs++;
            skb.Free(SkbDropReason.PktTooSmall);
            return;
        }
        if (skb.IpSummed != ChecksumState.Unnecessary && !seg.VerifyChecksum(source, destination))
        {
            Mib.InErrs++; // csum_error: TCP_MIB_CSUMERRORS and TCP_MIB_INERRS
            skb.Free(SkbDropReason.TcpCsum);
            return;
        }
        // tcp_v4_fill_cb(): the IP header's TOS byte travels with the segment, for ECN.
        skb.Cb.IpDsfield = skb.NetworkHeader >= 0 ? skb.NetworkHeaderSpan[1] : (byte)0;
        var sk = Lookup(destination, seg.DestinationPort, source, seg.SourcePort);
        if (sk is null)
        {
            SendResetFor(destination, source, seg);
            skb.Free(SkbDropReason.NoSocket);
            return;
        }
        // tcp_inbound_hash(): no socket here has a TCP_MD5SIG key, so a signed segment is one nobody expected.
        if (seg.HasMd5Signature)
        {
            Mib.Md5Unexpected++;
            skb.Free(SkbDropReason.TcpMd5Unexpected);
            return;
        }
        if (sk.State != TcpState.Listen) SegsInCount(sk, skb, skb.Len - seg.HeaderLength);
        if (sk.State == TcpState.Listen)
        {
            ListenerReceive(sk, skb, seg, source, destination);
            return;
        }
        if (sk.State == TcpState.SynSent)
        {
            SynSentReceive(sk, seg);
            skb.Free(SkbDropReason.Consumed);
            return;
        }
        StateProcess(sk, skb, seg);
    }

    /// <summary>What both ends offered in the SYNs: MSS, window scaling, SACK, timestamps (each only if our sysctl allows it).</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_parse_options(), tcp_openreq_init(); net/ipv4/tcp_output.c tcp_sync_mss()</remarks>
    private void NegotiateOptions(TcpSock sk, in TcpOptions opt, int pmtu)
    {
        sk.MssClamp = opt.Mss != 0 ? opt.Mss : MssDefault;
        if (sk.UserMss > 0 && sk.UserMss < sk.MssClamp) sk.MssClamp = sk.UserMss;
        sk.WscaleOk = opt.WindowScale >= 0 && Sysctls.TcpWindowScaling != 0;
        sk.SndWscale = sk.WscaleOk ? (byte)opt.WindowScale : (byte)0;
        sk.SackOk = opt.SackPermitted && Sysctls.TcpSack != 0;
        sk.TimestampOk = opt.HasTimestamp && Sysctls.TcpTimestamps != 0;
        if (sk.TimestampOk) sk.TsRecent = opt.TsVal;
        if (sk.State != TcpState.SynSent)
        {
            // tcp_openreq_init_rwin(): the SYN-ACK's window in segments of advmss less the timestamp option.
            SelectInitialWindow(sk, FullSpace(sk), sk.AdvMss - (sk.TimestampOk ? TimestampOptionLength : 0), sk.WscaleOk);
            sk.RcvSsthresh = sk.RcvWnd;
        }
        else if (!sk.WscaleOk) sk.WindowClamp = Math.Min(sk.WindowClamp, 65535u); // tcp_rcv_synsent_state_process
        if (!sk.WscaleOk) sk.RcvWscale = 0;
        SyncMss(sk, pmtu);
        InitRcvMss(sk);
    }

    /// <summary>tcp_initialize_rcv_mss(): a first guess of the peer's segment size, at most 536.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_initialize_rcv_mss()</remarks>
    private static void InitRcvMss(TcpSock sk)
    {
        int hint = Math.Min(sk.AdvMss, sk.MssCache);
        hint = Math.Min(hint, (int)(sk.RcvWnd / 2));
        hint = Math.Min(hint, MssDefault);
        sk.RcvMss = Math.Max(hint, MinMss);
    }

    /// <summary>
    /// SYN-SENT: a SYN-ACK for our SYN establishes the connection (ACK sent at once), RST|ACK refuses it
    /// (ECONNREFUSED); a wrong ACK is answered with a RST.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_synsent_state_process(), tcp_finish_connect()</remarks>
    private void SynSentReceive(TcpSock sk, TcpSegment seg)
    {
        byte f = seg.Flags;
        // Acceptable: above snd_una and not past snd_nxt (a Fast Open SYN-ACK may acknowledge the SYN alone).
        if ((f & TcpFlags.Ack) != 0 && (seg.Ack <= sk.SndUna || seg.Ack > sk.SndNxt))
        {
            if ((f & TcpFlags.Rst) == 0) SendResetFor(sk.LocalAddress, sk.RemoteAddress, seg);
            return;
        }
        // An echoed timestamp from before our SYN or from the future: not an answer to it (PAWSActive), reset.
        if ((f & TcpFlags.Ack) != 0 && TcpOptions.Parse(seg.Options, syn: true) is { HasTimestamp: true, TsEcr: not 0 } ts
            && (int)(ts.TsEcr - (uint)(sk.SynSentAt.Nanoseconds / 1_000_000)) is var sinceSyn && (sinceSyn < 0 || (int)(TsNow - ts.TsEcr) < 0))
        {
            Mib.PawsActiveRejected++;
            if ((f & TcpFlags.Rst) == 0) SendResetFor(sk.LocalAddress, sk.RemoteAddress, seg);
            return;
        }
        if ((f & TcpFlags.Rst) != 0)
        {
            if ((f & TcpFlags.Ack) == 0) return;
            sk.Error = Errno.ECONNREFUSED;
            Mib.AttemptFails++;
            Done(sk);
            return;
        }
        if ((f & TcpFlags.Syn) != 0 && (f & TcpFlags.Ack) == 0)
        {
            SimultaneousOpen(sk, seg);
            return;
        }
        if ((f & TcpFlags.Syn) == 0 || (f & TcpFlags.Ack) == 0) return;
        var route = _output.Routes.Lookup(sk.RemoteAddress);
        var opt = TcpOptions.Parse(seg.Options, syn: true);
        sk.RcvNxt = sk.CopiedSeq = sk.RcvWup = seg.Seq + 1;
        NegotiateOptions(sk, opt, route?.EffectiveMtu ?? 1500);
        EcnRcvSynAck(sk, f);
        if (sk.TimestampOk) sk.AdvMss -= TimestampOptionLength; // the option takes room from every segment
        sk.SndWnd = seg.Window;
        sk.SndWl1 = seg.Seq;
        sk.MaxWindow = sk.SndWnd;
        SyncMss(sk, sk.PmtuCookie); // tcp_rcv_synsent_state_process(): again, now that max_window is known
        AckSyn(sk, opt, seg.Ack);
        sk.State = TcpState.Established;
        InitTransfer(sk);
        // tcp_rcv_synsent_state_process(): unacknowledged SYN data goes again at once, and carries the ACK.
        if (!((sk.SynFastOpen || sk.SynData) && FastOpenSynAck(sk, opt, seg)))
        {
            if (sk.WritePending > 0)
            {
                // A writer waits for the connection: its data will carry the ACK; the timer is the fallback.
                sk.Delack.Pending = true;
                EnterQuickAck(sk);
                ResetDelackTimer(sk, JiffiesClock.Deadline(Now, DelackMax));
            }
            else SendAck(sk);
        }
        sk.RaiseStateChange();
    }

    /// <summary>
    /// tcp_rcv_synsent_state_process(), a SYN without ACK: the SYNs crossed (simultaneous open, or a connect to
    /// oneself). The connection goes to SYN-RECV with the peer's options, and our SYN is sent again as a SYN-ACK
    /// (tcp_send_synack) — without the data a Fast Open SYN carried, which stays queued. Data in the peer's SYN is
    /// not taken: the segment is consumed.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_synsent_state_process(); net/ipv4/tcp_output.c tcp_send_synack()</remarks>
    private void SimultaneousOpen(TcpSock sk, TcpSegment seg)
    {
        var opt = TcpOptions.Parse(seg.Options, syn: true);
        sk.RcvNxt = sk.CopiedSeq = sk.RcvWup = seg.Seq + 1;
        NegotiateOptions(sk, opt, sk.PmtuCookie); // still SYN-SENT: the window offered with the SYN stands
        sk.State = TcpState.SynRecv;
        sk.SndWnd = seg.Window; // never scaled in a SYN
        sk.SndWl1 = seg.Seq;
        sk.MaxWindow = sk.SndWnd;
        MtupInit(sk, TcpHeaderLength(sk));
        SyncMss(sk, sk.PmtuCookie);
        InitRcvMss(sk);
        if (sk.WriteQueue.Peek() is not { } syn || (syn.Cb.TcpFlags & TcpFlags.Syn) == 0) return;
        syn.Cb.TcpFlags |= TcpFlags.Ack;
        TransmitSkb(sk, syn, clone: true);
    }

    /// <summary>The ACK of our SYN: free it, take the RTT sample (from the timestamp echo or the SYN's send time).</summary>
    private void AckSyn(TcpSock sk, in TcpOptions opt, TcpSeq? synAckAck = null)
    {
        if (sk.WriteQueue.Peek() is { } syn && (syn.Cb.TcpFlags & TcpFlags.Syn) != 0)
        {
            sk.WriteQueue.Unlink(syn);
            sk.WmemQueued -= syn.Truesize;
            syn.Free(SkbDropReason.Consumed);
        }
        // A Fast Open SYN's data is acknowledged with it, or stays (sent) for tcp_rcv_fastopen_synack to resend.
        var ack = synAckAck ?? sk.SndNxt;
        int stillOut = 0;
        if (sk.SynData && sk.WriteQueue.Peek() is { } data && data != sk.SendHead)
        {
            if (data.Cb.EndSeq <= ack)
            {
                sk.WriteQueue.Unlink(data);
                sk.WmemQueued -= data.Truesize;
                sk.Delivered++; // tcp_clean_rtx_queue(): the data as a second packet (tcp_rcv_fastopen_synack takes it back)
                data.Free(SkbDropReason.Consumed);
            }
            else
            {
                if (ack > data.Cb.Seq)
                {
                    // The SYN-ACK acknowledged part of the data: tcp_clean_rtx_queue() trims it (tcp_trim_head).
                    int n = (int)(ack - data.Cb.Seq);
                    data.Pull(n);
                    data.Truesize -= n;
                    sk.WmemQueued -= n;
                    data.Cb.Seq = ack;
                }
                stillOut = Pcount(data, sk.MssCache); // in segments of the MSS the SYN-ACK set (tcp_set_skb_tso_segs on the resend)
            }
        }
        if (sk.State == TcpState.SynSent) sk.Delivered++; // tcp_clean_rtx_queue() counts our SYN delivered
        SndUnaUpdate(sk, ack);
        sk.RcvTstamp = Now; // tcp_ack() on the SYN-ACK
        sk.PacketsOut = (uint)stillOut;
        sk.RetransOut = 0;
        sk.LostOut = 0;
        _clock.Disarm(sk.RetransmitTimer);
        // A retransmitted SYN gives no RTT sample (Karn) unless the timestamp echo says which one was answered.
        if (sk.Retransmits == 0) sk.Rtt.Sample((Now - sk.SynSentAt).Nanoseconds / 1000, sk.SndUna, sk.SndNxt);
        else if (sk.TimestampOk && opt.TsEcr != 0) sk.Rtt.Sample((long)(TsNow - opt.TsEcr) * 1000, sk.SndUna, sk.SndNxt);
        sk.Retransmits = 0;
        sk.RetransStamp = null;
        sk.Backoff = 0;
        sk.Rtt.SetRto(JiffiesClock);
    }

    /// <summary>tcp_init_transfer(): cwnd 10 (reset to 1 after a lost SYN is left to tcp_init_cwnd — not modelled), pacing rate.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_init_transfer()</remarks>
    private void InitTransfer(TcpSock sk)
    {
        MtupInit(sk, TcpHeaderLength(sk));
        sk.SndCwnd = 10;
        sk.CongestionOps.Init(sk); // tcp_init_congestion_control
        InitBufferSpace(sk);
        sk.LastSendTime = Now;
        sk.Delack.LastReceived = Now; // icsk_ack.lrcvtime starts at the handshake (tcp_finish_connect)
        UpdatePacingRate(sk);
        sk.WriteSeq = sk.SndNxt;
        sk.PushedSeq = sk.SndNxt;
    }

    /// <summary>
    /// tcp_rcv_state_process() / tcp_rcv_established() for the synchronised states: sequence check, RST, SYN,
    /// ACK processing (which also completes a passive open), data and FIN, then the ACK decision.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_state_process(), tcp_validate_incoming(), tcp_sequence()</remarks>
    private void StateProcess(TcpSock sk, SkBuff skb, TcpSegment seg)
    {
        byte f = seg.Flags;
        var seq = seg.Seq;
        int len = seg.Payload.Length;
        var endSeq = seq + (uint)len + ((f & TcpFlags.Fin) != 0 ? 1u : 0) + ((f & TcpFlags.Syn) != 0 ? 1u : 0); // TCP_SKB_CB(skb)->end_seq
        if (sk.State == TcpState.Established) Trace?.TcpProbe(sk, skb, len); // first thing tcp_rcv_established() does
        var opt = TcpOptions.Parse(seg.Options, syn: false);
        sk.RcvTsEcr = opt.HasTimestamp ? opt.TsEcr : 0;
        if (sk.State == TcpState.TimeWait && (f & (TcpFlags.Syn | TcpFlags.Rst)) == 0)
        {
            TimeWaitProcess(sk, skb, seq, len, f);
            return;
        }

        // A Fast Open child still holds its request: tcp_check_req() sees the segment first.
        if (sk.FastOpenReq is { } foReq && !FastOpenCheckReq(sk, foReq, seg))
        {
            skb.Free(SkbDropReason.Consumed);
            return;
        }

        // tcp_sequence(): acceptable if it overlaps the receive window — and, since 6.17, a segment that runs past
        // the window's right edge only while nothing waits in the receive queue (a reader that reads everything
        // may take it whole; otherwise it would overcommit the buffer the window was computed from).
        var wndEnd = sk.RcvNxt + ReceiveWindow(sk);
        bool acceptable = endSeq >= sk.RcvWup && seq <= wndEnd || (len == 0 && seq == sk.RcvNxt);
        bool beyondWindow = seq > wndEnd || (endSeq > wndEnd && !sk.ReceiveQueue.IsEmpty);
        if (acceptable && beyondWindow && endSeq != seq) acceptable = false;
        if (!acceptable)
        {
            if ((f & (TcpFlags.Syn | TcpFlags.Rst)) == 0 && beyondWindow) Mib.BeyondWindow++;
            if ((f & TcpFlags.Syn) != 0) SendChallengeAck(sk, synChallenge: true);
            // tcp_send_dupack, unless a pure ACK comes too soon after the last answer: two ends that disagree
            // about sequence space would otherwise ACK each other's ACKs for ever.
            else if ((f & TcpFlags.Rst) == 0 && !OowRateLimited(sk, len > 0 || (f & TcpFlags.Fin) != 0, ref Mib.AckSkippedSeq)) SendDupAck(sk, seq, endSeq);
            skb.Free(SkbDropReason.TcpOverWindow);
            return;
        }
        if ((f & TcpFlags.Rst) != 0)
        {
            // RFC 5961: only an exact RST resets; one elsewhere in the window gets a challenge ACK.
            if (seq == sk.RcvNxt) Reset(sk);
            else SendChallengeAck(sk, synChallenge: false);
            skb.Free(SkbDropReason.Consumed);
            return;
        }
        // tcp_validate_incoming() step 4: a SYN gets a challenge ACK (RFC 5961) — except, in SYN-RECV after crossed
        // SYNs, the peer's SYN-ACK: its SYN is the one already taken, and it acknowledges everything sent.
        bool crossedSynAck = sk.State == TcpState.SynRecv && (f & TcpFlags.Ack) != 0 && len == 0 && seq + 1 == sk.RcvNxt && seg.Ack == sk.SndNxt;
        if ((f & TcpFlags.Syn) != 0 && !crossedSynAck)
        {
            SendChallengeAck(sk, synChallenge: true);
            skb.Free(SkbDropReason.Consumed);
            return;
        }
        if ((f & TcpFlags.Ack) == 0)
        {
            skb.Free(SkbDropReason.Consumed);
            return;
        }

        if (sk.State == TcpState.SynRecv && sk.FastOpenReq is not null)
        {
            if (!FastOpenSynRecvAck(sk, seg, opt))
            {
                SendResetFor(sk.LocalAddress, sk.RemoteAddress, seg);
                skb.Free(SkbDropReason.Consumed);
                return;
            }
            sk.Delivered++; // tcp_rcv_state_process() TCP_SYN_RECV: the SYN-ACK's delivery is not counted by tcp_ack()
            if (sk.TimestampOk) sk.AdvMss -= TimestampOptionLength;
            sk.SndWnd = (uint)seg.Window << sk.SndWscale;
            sk.SndWl1 = seq;
            sk.MaxWindow = Math.Max(sk.MaxWindow, sk.SndWnd);
            sk.State = TcpState.Established;
            sk.RaiseStateChange();
        }
        else if (sk.State == TcpState.SynRecv)
        {
            if (seg.Ack != sk.SndNxt)
            {
                SendResetFor(sk.LocalAddress, sk.RemoteAddress, seg);
                skb.Free(SkbDropReason.Consumed);
                return;
            }
            AckSyn(sk, opt);
            sk.Delivered++; // tcp_rcv_state_process() TCP_SYN_RECV: the SYN-ACK's delivery is not counted by tcp_ack()
            if (sk.TimestampOk) sk.AdvMss -= TimestampOptionLength;
            sk.SndWnd = (uint)seg.Window << sk.SndWscale;
            sk.SndWl1 = seq;
            sk.MaxWindow = Math.Max(sk.MaxWindow, sk.SndWnd);
            sk.State = TcpState.Established;
            InitTransfer(sk);
            sk.RaiseStateChange();
        }
        else if (!Ack(sk, seg, opt))
        {
            skb.Free(SkbDropReason.Consumed);
            return;
        }
        else if (sk.FastOpenReq is not null && sk.SndUna > sk.Iss)
        {
            // FIN-WAIT-1 of a Fast Open child closed before the handshake ended: the SYN-ACK is acknowledged now.
            FastOpenRemove(sk);
            sk.Retransmits = 0;
            sk.RetransStamp = null;
            RearmRto(sk);
        }
        // tcp_replace_ts_recent(): only a segment that passed the checks (and the ACK) may update ts_recent.
        if (sk.TimestampOk && opt.HasTimestamp && seq <= sk.RcvWup) sk.TsRecent = opt.TsVal;

        // States after our FIN was acknowledged.
        bool finAcked = sk.SndUna == sk.WriteSeq && sk.WriteQueue.IsEmpty;
        switch (sk.State)
        {
            case TcpState.FinWait1 when finAcked:
                sk.State = TcpState.FinWait2;
                sk.RaiseStateChange();
                break;
            case TcpState.Closing when finAcked:
                EnterTimeWait(sk);
                skb.Free(SkbDropReason.Consumed);
                return;
            case TcpState.LastAck when finAcked:
                Done(sk);
                skb.Free(SkbDropReason.Consumed);
                return;
        }

        // Data and FIN — and that SYN-ACK, whose SYN lies below rcv_nxt: tcp_data_queue() reports it as a duplicate.
        if ((len > 0 || (f & (TcpFlags.Fin | TcpFlags.Syn)) != 0) && sk.State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            if ((sk.Shutdown & Sock.RcvShutdown) != 0 && sk.Dead && len > 0)
            {
                // Data for a closed socket: abort (tcp_rcv_state_process, "TCPAbortOnData"); tcp_reset() sends
                // nothing, tcp_v4_do_rcv() then answers the segment with tcp_v4_send_reset().
                Mib.AbortOnData++;
                SendResetFor(sk.LocalAddress, sk.RemoteAddress, seg);
                Done(sk);
                skb.Free(SkbDropReason.Consumed);
                return;
            }
            skb.Pull(seg.HeaderLength);
            DataQueue(sk, skb, seq, endSeq, (f & TcpFlags.Fin) != 0);
        }
        else skb.Free(SkbDropReason.Consumed);

        if (sk.State != TcpState.Close)
        {
            PushPendingFrames(sk, SendMss(sk, out _), sk.NonAgle); // tcp_data_snd_check
            CheckSpace(sk);
            AckSndCheck(sk);
        }
    }

    /// <summary>
    /// tcp_send_dupack(): answer an unacceptable segment at once; one carrying data below rcv_nxt means our ACK was
    /// lost, so quick-ACK mode resumes and the ACK reports the old part as a duplicate (D-SACK).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_send_dupack()</remarks>
    private void SendDupAck(TcpSock sk, TcpSeq seq, TcpSeq endSeq)
    {
        if (endSeq != seq && seq < sk.RcvNxt)
        {
            Mib.DelayedAckLost++;
            EnterQuickAck(sk);
            DsackSet(sk, seq, endSeq > sk.RcvNxt ? sk.RcvNxt : endSeq);
        }
        SendAck(sk);
    }

    /// <summary>
    /// tcp_timewait_state_process() for a segment with neither SYN nor RST: a bare ACK at rcv_nxt restarts the
    /// TIME-WAIT timer; anything else — above all the peer's FIN again, because our last ACK was lost — restarts it
    /// too (if it carries an ACK) and is answered with an ACK at once (a pure ACK under tcp_invalid_ratelimit; data
    /// or a FIN always), so the peer's LAST-ACK ends instead of retransmitting its FIN until TIME-WAIT is over.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_minisocks.c tcp_timewait_state_process(), tcp_timewait_check_oow_rate_limit(); net/ipv4/tcp_ipv4.c tcp_v4_timewait_ack()</remarks>
    private void TimeWaitProcess(TcpSock sk, SkBuff skb, TcpSeq seq, int len, byte f)
    {
        bool fin = (f & TcpFlags.Fin) != 0;
        if (seq == sk.RcvNxt && len == 0 && !fin)
        {
            ResetTimer(sk.TimeWaitTimer, TimeWaitLength); // inet_twsk_reschedule(tw, TCP_TIMEWAIT_LEN)
            skb.Free(SkbDropReason.Consumed);
            return;
        }
        if ((f & TcpFlags.Ack) != 0) ResetTimer(sk.TimeWaitTimer, TimeWaitLength);
        if (!OowRateLimited(sk, len > 0 || fin, ref Mib.AckSkippedTimeWait)) SendAck(sk);
        skb.Free(SkbDropReason.Consumed);
    }

    /// <summary>A reset received: ECONNREFUSED in SYN-RECV... ECONNRESET when established, EPIPE after close_wait.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_reset()</remarks>
    private void Reset(TcpSock sk)
    {
        sk.Error = sk.State switch
        {
            TcpState.SynSent => Errno.ECONNREFUSED,
            TcpState.CloseWait => Errno.EPIPE,
            TcpState.Close => Errno.OK,
            _ => Errno.ECONNRESET,
        };
        if (sk.State is TcpState.Established or TcpState.CloseWait) Mib.EstabResets++;
        Done(sk);
    }

    /// <summary>
    /// tcp_ack(): ignore old ACKs, drop ACKs of unsent data, update the send window, free what was
    /// acknowledged (RTT sample, RTO rearmed), count duplicate ACKs for fast retransmit, grow cwnd, and wake
    /// writers when memory came back.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_ack(), tcp_ack_update_window(), tcp_may_update_window(), tcp_clean_rtx_queue(), tcp_cong_avoid(), tcp_fastretrans_alert()</remarks>
    private bool Ack(TcpSock sk, TcpSegment seg, in TcpOptions opt)
    {
        var ack = seg.Ack;
        var priorUna = sk.SndUna;
        uint priorPackets = sk.PacketsOut;
        // tcp_sacktag_write_queue() runs before the queue is cleaned, so a D-SACK is judged against the state the
        // duplicate was sent in (tlp_high_seq, snd_una).
        bool dsackTlp = false;
        uint dsackSegs = sk.SackOk && ack <= sk.SndNxt ? CheckDsack(sk, opt, ack, out dsackTlp) : 0;
        bool dsack = dsackSegs > 0;
        if (ack < priorUna)
        {
            // An old ACK: its SACK blocks still count (tcp_ack's old_ack path), the rest is ignored; data is processed.
            if (sk.SackOk && opt.SackBlockCount > 0 && sk.PacketsOut > 0)
            {
                uint sacked = SackTag(sk, opt, dsack, out bool origSacked);
                sk.Delivered += dsackSegs; // tcp_count_delivered(sack_delivered)
                SackCongestionState(sk, 0, sacked, RackDetectLoss(sk), new AckEvent(false, false, priorUna, origSacked, dsack, Dubious: true, dsackSegs));
            }
            return true;
        }
        if (ack > sk.SndNxt) return false; // ACK of data not sent yet: discarded (RFC 793 §3.9)
        uint nwin = (uint)seg.Window << sk.SndWscale;
        bool windowChanged = false;
        // tcp_may_update_window(): FLAG_WIN_UPDATE, which (with data or an advancing ACK) makes the ACK no duplicate.
        // Without new data acknowledged or a newer sequence, the window may only grow or close (a repeated ACK
        // announcing less is ignored: tests/scripts/tcp/tcp-window-shrink-same-ack.pkt).
        bool mayUpdateWindow = ack > sk.SndUna || seg.Seq > sk.SndWl1 || (seg.Seq == sk.SndWl1 && (nwin > sk.SndWnd || nwin == 0));
        if (mayUpdateWindow)
        {
            windowChanged = nwin != sk.SndWnd;
            sk.SndWl1 = seg.Seq;
            sk.SndWnd = nwin;
            if (windowChanged && sk.SendHead is not null) SlowStartAfterIdleCheck(sk); // tcp_ack_update_window
            if (nwin > sk.MaxWindow)
            {
                sk.MaxWindow = nwin;
                if (sk.PmtuCookie > 0) SyncMss(sk, sk.PmtuCookie); // tcp_ack_update_window(): the half-window bound may have moved
            }
        }
        bool ece = EcnRcvEcnEcho(sk, seg.Flags); // FLAG_ECE
        long deliveredBefore = sk.Delivered;
        EcnAcceptCwr(sk, seg.Flags, seg.Payload.Length);
        sk.ProbesOut = 0; // the peer answers: no probe is unanswered
        sk.RcvTstamp = Now;
        var priorFack = sk.SackOk ? HighestSackSeq(sk) : priorUna;
        // tcp_ack() moves snd_una (tcp_snd_una_update, on both the fast and the slow path) before it cleans the
        // retransmit queue, so what tcp_clean_rtx_queue() calls — the RTT estimator's rtt_seq window, the congestion
        // module's pkts_acked (HyStart's round end) — sees the new snd_una.
        SndUnaUpdate(sk, ack);
        uint acked = CleanRtxQueue(sk, ack, opt, priorFack, out bool origAcked, out bool retransAcked);
        if (ack > priorUna) sk.Retransmits = 0; // tcp_ack(): FLAG_SND_UNA_ADVANCED resets icsk_retransmits
        ProcessTlpAck(sk, ack, acked > 0, dsackTlp);
        if (sk.SackOk)
        {
            // SACK: the scoreboard, RACK's loss detection and PRR (tcp_sacktag_write_queue, tcp_rack_mark_lost, tcp_fastretrans_alert).
            bool origSacked = false;
            uint newlySacked = opt.SackBlockCount > 0 ? SackTag(sk, opt, dsack, out origSacked) : 0;
            uint newlyLost = sk.PacketsOut > 0 ? RackDetectLoss(sk) : 0;
            bool notDup = acked > 0 || mayUpdateWindow || seg.Payload.Length > 0;
            bool dubious = !notDup || newlySacked > 0 || ece || dsack || sk.CaState != TcpCaState.Open;
            sk.Delivered += dsackSegs; // tcp_count_delivered(sack_delivered): a spurious retransmission is delivered
            SackCongestionState(sk, acked, newlySacked, newlyLost, new AckEvent(ece, sk.SndUna > priorUna, priorUna, origAcked || origSacked, dsack, dubious, dsackSegs));
        }
        else
        {
            bool dup = acked == 0 && ack == priorUna && sk.PacketsOut > 0 && seg.Payload.Length == 0 && !windowChanged && (seg.Flags & TcpFlags.Fin) == 0;
            // An ECE reduces cwnd once (CWR), unless this duplicate ACK starts Recovery, which reduces it anyway.
            if (ece && !(dup && sk.CaState < TcpCaState.Recovery && sk.DupAcks + 1 >= sk.Reordering)) EcnEcho(sk);
            if (ece) sk.Undo.PriorSsthresh = 0;
            if (dup) DupAck(sk, ece);
            // Without SACK an ACK that covers a retransmission cannot show an original got through.
            else if (acked > 0) AckAdvanced(sk, acked, priorUna, origAcked && !retransAcked);
        }
        if (ece) sk.DeliveredCe += sk.Delivered - deliveredBefore; // tcp_count_delivered(): what this ECE ACK delivered
        if (priorPackets == 0) AckProbe(sk);
        if (acked > 0 || windowChanged) UpdatePacingRate(sk);
        return true;
    }

    /// <summary>tcp_clean_rtx_queue(): free fully acknowledged skbs, trim a partly acknowledged one, take an RTT sample (Karn).</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_clean_rtx_queue(), tcp_ack_update_rtt(); net/ipv4/tcp_output.c tcp_trim_head()</remarks>
    /// <summary>
    /// tcp_ack_tstamp(): SCM_TSTAMP_ACK once the ACK covers the timestamped byte. The skb heads the retransmit queue,
    /// so its key is at or above the previous snd_una.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_ack_tstamp()</remarks>
    private void AckTstamp(TcpSock sk, SkBuff skb, TcpSeq ack)
    {
        var key = new TcpSeq(skb.TsKey);
        if (key >= skb.Cb.Seq && key < ack) TxTimestamps.Report(sk, skb, TstampType.Ack, Now);
    }

    private uint CleanRtxQueue(TcpSock sk, TcpSeq ack, in TcpOptions opt, TcpSeq priorFack, out bool origAcked, out bool retransAcked)
    {
        origAcked = false; // FLAG_ORIG_SACK_ACKED: never-retransmitted data sent before high_seq acknowledged
        var reord = sk.SndNxt; // the lowest never-retransmitted, never-SACKed segment this ACK covers
        uint ackedSegs = 0;
        bool progressed = false;
        long rttSampleNs = -1, firstAcktNs = -1; // ca_rtt (the newest skb acked) and seq_rtt (the oldest)
        retransAcked = false;
        int mss = sk.MssCache;
        while (sk.WriteQueue.Peek() is { } skb && skb != sk.SendHead)
        {
            if ((skb.TxFlags & SkbTxFlags.AckTstamp) != 0) AckTstamp(sk, skb, ack);
            if (skb.Cb.EndSeq > ack)
            {
                if (ack <= skb.Cb.Seq || (skb.Cb.TcpFlags & TcpFlags.Syn) != 0) break;
                // Partly acknowledged TSO skb: tcp_trim_head.
                int before = Pcount(skb, mss);
                if ((skb.Cb.Sacked & (TcpSacked.Retrans | TcpSacked.Acked)) == 0 && skb.Cb.Seq < reord) reord = skb.Cb.Seq;
                if ((skb.Cb.Sacked & (TcpSacked.Retrans | TcpSacked.EverRetrans | TcpSacked.Acked)) == 0 && skb.Cb.EndSeq <= sk.HighSeq) origAcked = true;
                int n = (int)(ack - skb.Cb.Seq);
                skb.Pull(n);
                skb.Truesize -= n;
                sk.WmemQueued -= n;
                skb.Cb.Seq = ack;
                uint segs = (uint)(before - Pcount(skb, mss));
                ackedSegs += segs;
                progressed = true;
                SubtractOut(sk, skb, segs);
                if ((skb.Cb.Sacked & TcpSacked.Retrans) == 0) { rttSampleNs = (Now - skb.Cb.SentAt).Nanoseconds; if (firstAcktNs < 0) firstAcktNs = rttSampleNs; }
                else retransAcked = true;
                break;
            }
            uint pc = (uint)Pcount(skb, mss);
            progressed = true;
            if ((skb.Cb.Sacked & (TcpSacked.Retrans | TcpSacked.EverRetrans | TcpSacked.Acked)) == 0 && skb.Cb.EndSeq <= sk.HighSeq) origAcked = true;
            if ((skb.Cb.Sacked & TcpSacked.Acked) != 0) sk.SackedOut -= Math.Min(sk.SackedOut, pc);
            else
            {
                if ((skb.Cb.Sacked & TcpSacked.Retrans) == 0 && skb.Cb.Seq < reord) reord = skb.Cb.Seq;
                ackedSegs += pc;
                RackAdvance(sk, skb);
            }
            SubtractOut(sk, skb, pc);
            if ((skb.Cb.Sacked & TcpSacked.Retrans) != 0) retransAcked = true;
            else
            {
                rttSampleNs = (Now - skb.Cb.SentAt).Nanoseconds;
                if (firstAcktNs < 0) firstAcktNs = rttSampleNs;
            }
            sk.WriteQueue.Unlink(skb);
            sk.WmemQueued -= skb.Truesize;
            skb.Free(SkbDropReason.Consumed);
        }
        if (sk.WriteQueue.Peek() == sk.SendHead) ChronoStop(sk, TcpChrono.Busy); // nothing left in flight
        if (!progressed) return 0;
        if (sk.Mtup.ProbeSize != 0 && sk.Mtup.ProbeSeqEnd <= ack) MtupProbeSuccess(sk);
        // Data cumulatively acknowledged below the highest SACK was delivered out of order.
        if (sk.SackOk && reord < priorFack) CheckSackReordering(sk, reord, priorFack);
        sk.Delivered += ackedSegs;
        // tcp_ack_update_rtt(): the ACK's timing against the skbs' send times first (Karn: not when retransmitted
        // data is acknowledged), the timestamp echo (millisecond resolution) only when that gives nothing.
        long seqRttUs = firstAcktNs >= 0 && !retransAcked ? firstAcktNs / 1000 : -1;
        long caRttUs = firstAcktNs >= 0 && !retransAcked ? rttSampleNs / 1000 : -1;
        if (seqRttUs < 0 && sk.TimestampOk && opt.HasTimestamp && opt.TsEcr != 0) seqRttUs = caRttUs = (long)(TsNow - opt.TsEcr) * 1000;
        if (seqRttUs >= 0)
        {
            sk.Rtt.Sample(seqRttUs, sk.SndUna, sk.SndNxt);
            sk.CongestionOps.PktsAcked(sk, ackedSegs, caRttUs); // pkts_acked: the RTT of the newest data acknowledged
        }
        sk.Backoff = 0;
        sk.Rtt.SetRto(JiffiesClock);
        SetXmitTimer(sk);
        return ackedSegs;
    }

    private static void SubtractOut(TcpSock sk, SkBuff skb, uint segs)
    {
        sk.PacketsOut -= Math.Min(sk.PacketsOut, segs);
        if ((skb.Cb.Sacked & TcpSacked.Lost) != 0) sk.LostOut -= Math.Min(sk.LostOut, segs);
        if ((skb.Cb.Sacked & TcpSacked.Retrans) != 0) sk.RetransOut -= Math.Min(sk.RetransOut, segs);
    }

    /// <summary>
    /// A duplicate ACK. Without a SACK scoreboard each counts as one segment that left the network (Reno's
    /// tcp_add_reno_sack); the third starts fast recovery: ssthresh from CUBIC's β, the head is resent.
    /// </summary>
    private void DupAck(TcpSock sk, bool ece = false)
    {
        sk.DupAcks++;
        if (sk.SackedOut + 1 < sk.PacketsOut)
        {
            sk.SackedOut++;
            sk.Delivered++;
        }
        if (sk.CaState is TcpCaState.Open or TcpCaState.Cwr && sk.DupAcks >= sk.Reordering && sk.WriteQueue.Peek() is { } head)
        {
            if (MtuProbeFailed(sk)) return;
            // tcp_enter_recovery(): from CWR the reduction already under way goes on (tcp_in_cwnd_reduction()).
            RetransStampCleanup(sk);
            sk.Undo.PriorSsthresh = 0;
            InitUndo(sk);
            if (sk.CaState != TcpCaState.Cwr)
            {
                if (!ece) sk.Undo.PriorSsthresh = CurrentSsthresh(sk);
                sk.PriorCwnd = sk.SndCwnd;
                sk.SndSsthresh = sk.CongestionOps.SsThresh(sk);
                sk.HighSeq = sk.SndNxt;
                EcnQueueCwr(sk);
            }
            sk.SndCwnd = sk.SndSsthresh;
            sk.CaState = TcpCaState.Recovery;
            Mib.FastRetrans++;
            MarkLost(sk, head);
            RetransmitSkb(sk, head);
        }
        else if (sk.CaState == TcpCaState.Loss)
        {
            // F-RTO: a duplicate ACK after new data went out shows the loss was real (step 3.a).
            XmitRecovery(sk, ProcessLoss(sk, unaAdvanced: false, origAcked: false, dataSacked: false, dupAck: true));
        }
        else if (sk.CaState >= TcpCaState.Recovery) RetransmitQueue(sk);
    }

    private void MarkLost(TcpSock sk, SkBuff skb)
    {
        if ((skb.Cb.Sacked & TcpSacked.Lost) != 0) return;
        if (skb.Len > sk.MssCache) Fragment(sk, skb, sk.MssCache);
        skb.Cb.Sacked |= TcpSacked.Lost;
        sk.LostOut += (uint)Pcount(skb, sk.MssCache);
    }

    /// <summary>
    /// New data acknowledged without SACK: Loss goes to <see cref="ProcessLoss"/> (undo, F-RTO); Recovery ends past
    /// high_seq (undone if spurious, held while snd_una is at high_seq, else cwnd = ssthresh) or, on a partial
    /// ACK, may be undone by timestamps before the next hole is retransmitted (NewReno); otherwise cwnd grows.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_fastretrans_alert(), tcp_remove_reno_sacks(), tcp_try_undo_partial()</remarks>
    private void AckAdvanced(TcpSock sk, uint acked, TcpSeq priorUna = default, bool origAcked = false)
    {
        sk.DupAcks = 0;
        if (!sk.SackOk)
        {
            // tcp_remove_reno_sacks(): one ACKed segment filled the hole, the rest eat duplicate ACKs; cwnd grows
            // by what was newly delivered.
            uint delivered = acked > sk.SackedOut ? acked - sk.SackedOut : 1;
            sk.SackedOut = acked - 1 >= sk.SackedOut ? 0 : sk.SackedOut - (acked - 1);
            acked = delivered;
        }
        if (sk.CaState == TcpCaState.Cwr && CwrAck(sk, acked, unaAdvanced: true)) return;
        if (sk.CaState == TcpCaState.Loss)
        {
            var what = ProcessLoss(sk, unaAdvanced: true, origAcked, dataSacked: false, dupAck: false);
            if (sk.CaState == TcpCaState.Loss)
            {
                CongAvoid(sk, acked);
                XmitRecovery(sk, what);
                return;
            }
            if (sk.CaState == TcpCaState.Open) sk.SackedOut = 0;
        }
        else if (sk.CaState == TcpCaState.Recovery)
        {
            if (sk.SndUna >= sk.HighSeq)
            {
                sk.SackedOut = 0; // tcp_reset_reno_sack()
                if (TryUndoRecovery(sk)) return; // held at high_seq (RFC 6582)
                EndCwndReduction(sk);
            }
            else
            {
                if (TryUndoPartial(sk, priorUna)) return;
                if (sk.CaState == TcpCaState.Recovery)
                {
                    if (sk.WriteQueue.Peek() is { } head && head != sk.SendHead) MarkLost(sk, head); // partial ACK (NewReno)
                    RetransmitQueue(sk);
                    return;
                }
            }
        }
        CongAvoid(sk, acked);
    }

    /// <summary>tcp_cong_avoid(): the congestion control grows cwnd for what was newly delivered.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_cong_avoid()</remarks>
    private void CongAvoid(TcpSock sk, uint acked) => sk.CongestionOps.CongAvoid(sk, acked, Jiffies);

    /// <summary>tcp_jiffies32 at HZ=1000.</summary>
    private uint Jiffies => (uint)(Now.Nanoseconds / 1_000_000);

    /// <summary>tcp_update_pacing_rate(): 200 % of cwnd × mss / srtt in slow start, 120 % after (srtt_us is scaled by 8, as is the rate's numerator).</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_update_pacing_rate()</remarks>
    private static void UpdatePacingRate(TcpSock sk)
    {
        if (!sk.Rtt.HasSample) return;
        ulong rate = (ulong)sk.MssCache * 8 * 1_000_000 / 100;
        rate *= sk.SndCwnd < sk.SndSsthresh / 2 ? 200u : 120u;
        rate *= Math.Max(sk.SndCwnd, sk.PacketsOut);
        rate /= (ulong)sk.Rtt.ScaledSrttUs;
        sk.PacingRate = Math.Min(rate, sk.MaxPacingRate);
    }

    /// <summary>
    /// tcp_oow_rate_limited(): an answer to an out-of-window pure ACK (or SYN) is skipped when the last one went
    /// less than tcp_invalid_ratelimit ago; data is always answered (it is not part of an ACK loop).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_oow_rate_limited(), __tcp_oow_rate_limited()</remarks>
    private bool OowRateLimited(TcpSock sk, bool data, ref long skippedCounter)
    {
        if (data) return false;
        return OowRateLimited(sk, ref skippedCounter);
    }

    private bool OowRateLimited(TcpSock sk, ref long skippedCounter) => OowRateLimited(ref sk.LastOowAck, ref skippedCounter);

    /// <summary>__tcp_oow_rate_limited() on the time of the last answer, a socket's or a request socket's.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c __tcp_oow_rate_limited()</remarks>
    private bool OowRateLimited(ref Instant? lastOowAck, ref long skippedCounter)
    {
        if (lastOowAck is { } last)
        {
            var elapsed = Now - last;
            if (elapsed >= Duration.Zero && elapsed < Duration.FromMilliseconds(Sysctls.TcpInvalidRatelimitMs))
            {
                skippedCounter++;
                return true;
            }
        }
        lastOowAck = Now;
        return false;
    }

    /// <summary>
    /// tcp_send_challenge_ack() (RFC 5961): an ACK that tells a peer — or an attacker — where the window really
    /// is, under the same per-socket rate limit (the host-wide tcp_challenge_ack_limit is INT_MAX on 6.18).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_send_challenge_ack(), tcp_validate_incoming()</remarks>
    private void SendChallengeAck(TcpSock sk, bool synChallenge)
    {
        if (synChallenge) Mib.SynChallenge++;
        if (OowRateLimited(sk, ref Mib.AckSkippedChallenge)) return;
        Mib.ChallengeAck++;
        SendAck(sk);
    }
}
