using Xmit.Buffers;
using Xmit.Network.Ipv4;
using Xmit.Sockets;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>The receive side of the data: queues, ACK scheduling, FIN, and reading.</summary>
public sealed partial class TcpProtocol
{
    /// <summary>
    /// tcp_data_queue(): in-order data joins the receive queue (and pulls in what the out-of-order queue now
    /// continues), a FIN moves the state on; data beyond rcv_nxt waits out of order and is ACKed at once with
    /// SACK blocks; a duplicate schedules an ACK in quick-ACK mode (tcp_ack_snd_check sends it). Data the window
    /// has no room for (a zero window, or beyond its right edge) is dropped and answered with an ACK; data the
    /// receive buffer has no room for is dropped after pruning (tcp_try_rmem_schedule).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_data_queue(), tcp_data_queue_ofo(), tcp_ofo_queue(), tcp_fin(), tcp_event_data_recv()</remarks>
    private void DataQueue(TcpSock sk, SkBuff skb, TcpSeq seq, TcpSeq endSeq, bool fin)
    {
        skb.Cb.Seq = seq;
        skb.Cb.EndSeq = endSeq;
        skb.Cb.TcpFlags = fin ? TcpFlags.Fin : (byte)0;
        sk.DsackPending = false; // a D-SACK not yet sent describes an older duplicate: this segment's ACK replaces it
        if (endSeq <= sk.RcvNxt)
        {
            // All old: a retransmission we already have — our ACK was lost or late (DelayedACKLost); the ACK reports
            // the duplicate (D-SACK) so the sender can tell a spurious retransmission. It is only scheduled, with
            // quick-ACK mode entered: tcp_ack_snd_check() decides after, and a receiver whose buffer is over half full
            // leaves quick-ACK mode in __tcp_select_window() there — its D-SACK waits for the delayed-ACK timer.
            Mib.DelayedAckLost++;
            DsackSet(sk, seq, endSeq);
            skb.Free(SkbDropReason.Consumed);
            EnterQuickAck(sk);
            sk.Delack.Pending = true; // inet_csk_schedule_ack()
            return;
        }
        if ((seq > sk.RcvNxt && seq >= sk.RcvNxt + ReceiveWindow(sk)) || (seq <= sk.RcvNxt && ReceiveWindow(sk) == 0 && endSeq - sk.RcvNxt > (fin ? 1u : 0)))
        {
            // out_of_window: nothing of it fits the window we announced.
            // tcp_data_queue(): TCP_ZEROWINDOW when the window is closed, TCP_OVERWINDOW otherwise; a segment that
            // starts below rcv_nxt has its old part reported first.
            if (seq < sk.RcvNxt) DsackSet(sk, seq, sk.RcvNxt);
            bool zero = ReceiveWindow(sk) == 0;
            if (zero) Mib.ZeroWindowDrop++;
            skb.Free(zero ? SkbDropReason.TcpZeroWindow : SkbDropReason.TcpOverWindow);
            EnterQuickAck(sk);
            SendAck(sk);
            return;
        }
        if (seq > sk.RcvNxt)
        {
            DataEcnCheck(sk, skb.Cb.IpDsfield); // tcp_data_queue_ofo() looks at the ECN field first
            if (TryRmemSchedule(sk, skb)) InsertOutOfOrder(sk, skb);
            else
            {
                Mib.OfoDrop++;
                skb.Free(SkbDropReason.ProtoMem);
            }
            SendAck(sk); // ICSK_ACK_NOW with SACK
            return;
        }
        if (seq < sk.RcvNxt) DsackSet(sk, seq, sk.RcvNxt); // partly old: the old part is a duplicate
        if (!sk.ReceiveQueue.IsEmpty && !TryRmemSchedule(sk, skb))
        {
            Mib.RcvQDrop++;
            skb.Free(SkbDropReason.ProtoMem);
            sk.RaiseDataReady();
            return;
        }
        // Overlap with what we have: drop the old part.
        int dup = (int)(sk.RcvNxt - seq);
        if (dup > 0)
        {
            skb.Pull(dup);
            skb.Cb.Seq = sk.RcvNxt;
        }
        byte dsfield = skb.Cb.IpDsfield;
        bool data = skb.Len > 0;
        QueueInOrder(sk, skb);
        if (data) DataEcnCheck(sk, dsfield); // tcp_event_data_recv(), for the segment that arrived (not what it pulls in)
        bool hadHole = !sk.OutOfOrder.IsEmpty;
        var dsackHigh = sk.RcvNxt; // tcp_ofo_queue(): held data the in-order data already brought is a duplicate
        while (sk.OutOfOrder.Peek() is { } next && next.Cb.Seq <= sk.RcvNxt)
        {
            if (next.Cb.Seq < dsackHigh)
            {
                var dsackEnd = dsackHigh;
                if (next.Cb.EndSeq < dsackHigh) dsackHigh = next.Cb.EndSeq;
                DsackExtend(sk, next.Cb.Seq, dsackEnd);
            }
            sk.OutOfOrder.Unlink(next);
            if (next.Cb.EndSeq <= sk.RcvNxt)
            {
                next.Free(SkbDropReason.Consumed);
                continue;
            }
            int d = (int)(sk.RcvNxt - next.Cb.Seq);
            if (d > 0) { next.Pull(d); next.Cb.Seq = sk.RcvNxt; }
            QueueInOrder(sk, next);
        }
        if (!sk.OutOfOrder.IsEmpty) sk.Delack.Pending = true;
        else if (hadHole) sk.Delack.Now = true; // RFC 5681 4.2: ACK at once when the gap is filled
        sk.RaiseDataReady();
    }

    /// <summary>
    /// tcp_queue_rcv(): the skb joins the tail of the receive queue if it can (tcp_try_coalesce), or the queue,
    /// charged to rmem once (an skb from the out-of-order queue already is).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_queue_rcv(), tcp_ofo_queue()</remarks>
    private void QueueInOrder(TcpSock sk, SkBuff skb)
    {
        bool fin = (skb.Cb.TcpFlags & TcpFlags.Fin) != 0;
        RcvNxtUpdate(sk, skb.Cb.EndSeq);
        if (skb.Len > 0 || fin)
        {
            bool copied = false;
            if (sk.ReceiveQueue.PeekTail() is not { } tail || !TryCoalesce(sk, tail, skb, out copied))
            {
                if (skb.Sk != sk) sk.SetOwnerR(skb);
                sk.ReceiveQueue.Enqueue(skb);
            }
            if (skb.Len > 0) EventDataRecv(sk, skb); // the segment as it arrived, merged or not
            if (copied) skb.Free(SkbDropReason.Consumed);
        }
        else skb.Free(SkbDropReason.Consumed);
        if (fin) Fin(sk);
    }

    /// <summary>
    /// tcp_try_rmem_schedule() / tcp_prune_queue(): room for <paramref name="skb"/> while rmem is not over rcvbuf
    /// (one skb may overshoot, as in Linux); otherwise tcp_clamp_window lets an unlocked buffer grow to what is
    /// allocated, then both queues are collapsed into compact copies, and failing that the out-of-order queue is
    /// pruned from the top; the data is dropped if nothing brought rmem back within rcvbuf.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_try_rmem_schedule(), tcp_prune_queue(), tcp_clamp_window(), tcp_collapse_ofo_queue(), tcp_collapse(), tcp_prune_ofo_queue()</remarks>
    private bool TryRmemSchedule(TcpSock sk, SkBuff skb)
    {
        if (sk.RmemAlloc <= sk.RcvBuf) return true;
        Mib.PruneCalled++;
        if (sk.RmemAlloc >= sk.RcvBuf) ClampWindow(sk);
        if (sk.RmemAlloc <= sk.RcvBuf) return true;
        CollapseOfoQueue(sk);
        if (sk.ReceiveQueue.Peek() is { } first) Collapse(sk, sk.ReceiveQueue, first, null, sk.CopiedSeq, sk.RcvNxt);
        if (sk.RmemAlloc <= sk.RcvBuf) return true;
        // Collapsing did not help: destructive measures follow.
        if (!sk.OutOfOrder.IsEmpty)
        {
            // tcp_prune_ofo_queue(): drop from the highest sequence down, never the data just before this skb.
            while (sk.OutOfOrder.PeekTail() is { } tail && tail.Cb.Seq > skb.Cb.Seq && sk.RmemAlloc > sk.RcvBuf)
            {
                sk.OutOfOrder.Unlink(tail);
                tail.Free(SkbDropReason.TcpOfoDrop);
            }
            Mib.OfoPruned++;
        }
        if (sk.RmemAlloc <= sk.RcvBuf) return true;
        Mib.RcvPruned++;
        Trace?.SockExceedBufLimit(sk, SkMemKind.Recv);
        return false;
    }

    /// <summary>tcp_clamp_window(): the buffer is full — an unlocked one grows to what is allocated (up to tcp_rmem[2]); if still over, rcv_ssthresh drops to two segments.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_clamp_window()</remarks>
    private void ClampWindow(TcpSock sk)
    {
        sk.Delack.QuickAcks = 0;
        if (sk.RcvBuf < Sysctls.TcpRmem.Max && !sk.RcvBufLocked) sk.RcvBuf = (int)Math.Min(sk.RmemAlloc, Sysctls.TcpRmem.Max);
        if (sk.RmemAlloc > sk.RcvBuf) sk.RcvSsthresh = Math.Min(sk.WindowClamp, 2u * (uint)sk.AdvMss);
    }

    /// <summary>
    /// tcp_data_queue_ofo(): the skb takes its place in the out-of-order queue, joining the skb it continues when it
    /// can (tcp_ooo_try_coalesce: usually the queue's last, as data after a hole keeps arriving in order).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_data_queue_ofo(), tcp_ooo_try_coalesce()</remarks>
    private void InsertOutOfOrder(TcpSock sk, SkBuff skb)
    {
        Mib.OfoQueue++;
        sk.RcvOooPack++;
        SkBuff? after = null;
        for (var s = sk.OutOfOrder.PeekTail(); s is not null; s = SkBuffQueue.PrevOf(s))
        {
            if (s.Cb.Seq <= skb.Cb.Seq)
            {
                after = s;
                break;
            }
        }
        if (after is not null && skb.Cb.EndSeq <= after.Cb.EndSeq)
        {
            // Already held (TCPOFOMerge): the whole segment is a duplicate.
            DsackSet(sk, skb.Cb.Seq, skb.Cb.EndSeq);
            skb.Free(SkbDropReason.Consumed);
            return;
        }
        // Overlapping the held skb before it: the overlap is a duplicate.
        if (after is not null && skb.Cb.Seq < after.Cb.EndSeq) DsackSet(sk, skb.Cb.Seq, after.Cb.EndSeq);
        var next = after is null ? sk.OutOfOrder.Peek() : SkBuffQueue.NextOf(after);
        if (after is not null && skb.Cb.Seq == after.Cb.EndSeq && (next is null || next.Cb.Seq >= skb.Cb.EndSeq)
            && TryCoalesce(sk, after, skb, out bool copied))
        {
            if (copied) skb.Free(SkbDropReason.Consumed);
            return;
        }
        sk.SetOwnerR(skb);
        sk.OutOfOrder.InsertAfter(after, skb);
    }

    /// <summary>tcp_event_data_recv(): ACK scheduling — quick ACKs for a new flow, then ato follows the gaps between segments — and the window's growth.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_event_data_recv(), tcp_measure_rcv_mss()</remarks>
    private void EventDataRecv(TcpSock sk, SkBuff skb)
    {
        int len = skb.Len;
        sk.Delack.Pending = true;
        MeasureRcvMss(sk, skb);
        if (sk.Delack.Ato == Duration.Zero)
        {
            IncrQuickAck(sk, MaxQuickAcks);
            sk.Delack.Ato = AtoMin;
        }
        else
        {
            // m, ato and the RTO are jiffies: the gap counts the ticks between the two arrivals, halving rounds down.
            var m = JiffiesClock.Elapsed(sk.Delack.LastReceived, Now);
            var half = JiffiesClock.RoundDown(sk.Delack.Ato / 2);
            if (m <= AtoMin / 2) sk.Delack.Ato = half + AtoMin / 2;
            else if (m < sk.Delack.Ato) sk.Delack.Ato = Duration.Min(half + m, sk.Rtt.Rto);
            else if (m > sk.Rtt.Rto) IncrQuickAck(sk, MaxQuickAcks);
        }
        sk.Delack.LastReceived = Now;
        RcvRttMeasure(sk, skb, sk.RcvTsEcr);
        if (len >= 128) GrowWindow(sk, skb);
    }

    /// <summary>
    /// tcp_dsack_set(): with SACK and tcp_dsack, remember a duplicate range for the next segment's first SACK block
    /// (RFC 2883), counted as old (below rcv_nxt) or out of order.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_dsack_set()</remarks>
    private void DsackSet(TcpSock sk, TcpSeq seq, TcpSeq endSeq)
    {
        if (!sk.SackOk || Sysctls.TcpDsack == 0) return;
        if (seq < sk.RcvNxt) Mib.DsackOldSent++;
        else Mib.DsackOfoSent++;
        sk.DsackPending = true;
        sk.DsackStart = seq;
        sk.DsackEnd = endSeq;
    }

    /// <summary>tcp_dsack_extend(): widen the pending D-SACK block by an adjoining or overlapping range, or start one.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_dsack_extend(), tcp_sack_extend()</remarks>
    private void DsackExtend(TcpSock sk, TcpSeq seq, TcpSeq endSeq)
    {
        if (!sk.DsackPending)
        {
            DsackSet(sk, seq, endSeq);
            return;
        }
        if (seq > sk.DsackEnd || sk.DsackStart > endSeq) return; // disjoint: the block stays as it is
        if (seq < sk.DsackStart) sk.DsackStart = seq;
        if (endSeq > sk.DsackEnd) sk.DsackEnd = endSeq;
    }

    /// <summary>tcp_incr_quickack(): about half a window of segments are ACKed at once, up to 16.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_incr_quickack()</remarks>
    private static void IncrQuickAck(TcpSock sk, int max)
    {
        int quick = (int)(sk.RcvWnd / (uint)(2 * Math.Max(sk.RcvMss, 1)));
        if (quick == 0) quick = 2;
        quick = Math.Min(quick, max);
        if (quick > sk.Delack.QuickAcks) sk.Delack.QuickAcks = quick;
    }

    /// <summary>tcp_enter_quickack_mode(): ACK the next segments at once (up to <paramref name="max"/>), leave ping-pong, shortest ato.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_enter_quickack_mode()</remarks>
    private static void EnterQuickAck(TcpSock sk, int max = MaxQuickAcks)
    {
        IncrQuickAck(sk, max);
        sk.Delack.PingPong = false;
        sk.Delack.Ato = AtoMin;
    }

    /// <summary>tcp_fin(): the peer finished sending — CLOSE-WAIT, CLOSING or TIME-WAIT; readers see EOF; the FIN is ACKed at once.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_fin()</remarks>
    private void Fin(TcpSock sk)
    {
        sk.FinReceived = true;
        sk.Shutdown |= Sock.RcvShutdown;
        sk.Delack.Pending = true;
        sk.Delack.QuickAcks = Math.Max(sk.Delack.QuickAcks, 1);
        sk.Delack.PingPong = false;
        switch (sk.State)
        {
            case TcpState.Established:
                sk.State = TcpState.CloseWait;
                break;
            case TcpState.FinWait1:
                sk.State = TcpState.Closing;
                break;
            case TcpState.FinWait2:
                SendAck(sk);
                EnterTimeWait(sk);
                break;
        }
        sk.RaiseStateChange();
    }

    private void EnterTimeWait(TcpSock sk)
    {
        sk.State = TcpState.TimeWait;
        _clock.Disarm(sk.RetransmitTimer);
        _clock.Disarm(sk.Delack.Timer);
        ResetTimer(sk.TimeWaitTimer, TimeWaitLength);
        sk.RaiseStateChange();
    }

    /// <summary>
    /// __tcp_ack_snd_check(): ACK now when more than one full segment arrived since the last ACK and the
    /// window's right edge would move on (or nothing is left unread), in quick-ACK mode, or while out-of-order
    /// data is held; otherwise delay it.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c __tcp_ack_snd_check(); include/net/tcp.h tcp_in_quickack_mode()</remarks>
    private void AckSndCheck(TcpSock sk)
    {
        if (!sk.Delack.Pending || sk.State is TcpState.Close or TcpState.TimeWait) return;
        bool fullFrames = sk.RcvNxt - sk.RcvWup > (uint)sk.RcvMss
            && (sk.RcvNxt - sk.CopiedSeq < 1 || SelectWindowFree(sk) >= sk.RcvWnd); // SO_RCVLOWAT is 1
        // Only now: __tcp_select_window() above ends quick-ACK mode once less than half the buffer is free, and
        // Linux tests the mode after it — a receiver whose reader lags stops ACKing every segment at once.
        bool quick = sk.Delack.QuickAcks > 0 && !sk.Delack.PingPong;
        if (fullFrames || quick || !sk.OutOfOrder.IsEmpty || sk.Delack.Now)
            SendAck(sk);
        else
            SendDelayedAck(sk);
    }

    /// <summary>
    /// tcp_recvmsg(): copy in-order bytes (MSG_PEEK leaves them), wait for data unless non-blocking, 0 at the
    /// peer's FIN; freed receive space may open the window (tcp_cleanup_rbuf sends a window update).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_recvmsg_locked(), tcp_cleanup_rbuf()</remarks>
    public int RecvMsg(TcpSock sk, Span<byte> buffer, MsgFlags flags, bool noblock)
    {
        if (sk.State == TcpState.Listen) return -(int)Errno.ENOTCONN;
        var deadline = noblock ? Now : sk.RcvTimeo.Nanoseconds == long.MaxValue ? Instant.Never : Now + sk.RcvTimeo;
        bool waitAll = (flags & MsgFlags.WaitAll) != 0;
        int copied = 0;
        while (copied < buffer.Length)
        {
            var skb = sk.ReceiveQueue.Peek();
            int offset = skb is null ? 0 : (int)(sk.CopiedSeq - skb.Cb.Seq); // where copied_seq falls in the skb
            if (skb is not null && offset < skb.Len)
            {
                int n = Math.Min(skb.Len - offset, buffer.Length - copied);
                skb.CopyBits(offset, buffer.Slice(copied, n));
                copied += n;
                if ((flags & MsgFlags.Peek) != 0) break;
                sk.CopiedSeq += (uint)n;
                if (offset + n == skb.Len && (skb.Cb.TcpFlags & TcpFlags.Fin) == 0)
                {
                    sk.ReceiveQueue.Dequeue();
                    skb.Free(SkbDropReason.Consumed);
                }
                continue;
            }
            if (skb is not null && (skb.Cb.TcpFlags & TcpFlags.Fin) != 0) break; // EOF after the data
            if (copied > 0 && !waitAll) break;
            if (sk.Error != Errno.OK) return copied > 0 ? copied : -(int)sk.TakeError();
            if ((sk.Shutdown & Sock.RcvShutdown) != 0 || sk.State == TcpState.Close)
            {
                if (sk.State == TcpState.Close && !sk.FinReceived && copied == 0 && (sk.Shutdown & Sock.RcvShutdown) == 0) return -(int)Errno.ENOTCONN;
                break;
            }
            if (Now >= deadline) return copied > 0 ? copied : -(int)Errno.EAGAIN;
            if (!WaitForData(sk, deadline) && deadline == Instant.Never) return copied > 0 ? copied : -(int)Errno.EAGAIN; // nothing can wake us: do not hang
        }
        if (copied > 0 && (flags & MsgFlags.Peek) == 0)
        {
            RcvSpaceAdjust(sk);
            CleanupRbuf(sk);
        }
        return copied;
    }

    // In a method of its own so the closure is allocated only when a read really blocks.
    private bool WaitForData(TcpSock sk, Instant deadline) =>
        _clock.WaitUntil(() => sk.ReceiveQueue.Peek() is not null || sk.Error != Errno.OK || (sk.Shutdown & Sock.RcvShutdown) != 0 || sk.State == TcpState.Close, deadline);

    /// <summary>
    /// tcp_cleanup_rbuf(): after reading, send a pending delayed ACK if more than a segment is unacknowledged
    /// (or the read emptied the buffer after a small pushed segment), or — when what is left of the announced
    /// window is at most half the clamp — announce the window the read opened if it is at least twice as large
    /// (the window update a stalled sender waits for).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c __tcp_cleanup_rbuf()</remarks>
    private void CleanupRbuf(TcpSock sk)
    {
        if (sk.State is not (TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)) return;
        if (sk.Delack.Pending && (sk.RcvNxt - sk.RcvWup > (uint)sk.RcvMss
            || ((sk.Delack.Pushed2 || (sk.Delack.Pushed && !sk.Delack.PingPong)) && sk.RmemAlloc == 0)))
        {
            SendAck(sk);
            return;
        }
        if ((sk.Shutdown & Sock.RcvShutdown) != 0) return;
        uint rcvWindowNow = ReceiveWindow(sk);
        if (2L * rcvWindowNow > sk.WindowClamp) return;
        uint newWindow = SelectWindowFree(sk);
        if (newWindow != 0 && newWindow >= 2L * rcvWindowNow) SendAck(sk);
    }
}
