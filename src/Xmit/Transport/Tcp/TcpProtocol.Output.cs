using Xmit.Buffers;
using Xmit.Network.Ipv4;
using Xmit.Sockets;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

public sealed partial class TcpProtocol
{
    /// <summary>
    /// tcp_sendmsg(): copy <paramref name="data"/> into skbs of the size goal at the tail of the write queue and
    /// push. A full skb is pushed at once; the last one is pushed with the socket's Nagle setting (MSG_MORE
    /// corks). When sk_wmem_queued reaches sndbuf the call waits for ACKs to free memory (or returns what it
    /// copied / EAGAIN when non-blocking).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sendmsg_locked(), tcp_push(), forced_push(); net/core/stream.c sk_stream_wait_memory(), sk_stream_wait_connect()</remarks>
    public int SendMsg(TcpSock sk, ReadOnlySpan<byte> data, MsgFlags flags, bool noblock)
    {
        var uarg = ZerocopyBegin(sk, data.Length, flags, out int zerr);
        if (zerr < 0) return zerr;
        int rc = SendMsgLocked(sk, data, flags, noblock, uarg);
        ZerocopyEnd(uarg, rc > 0);
        return rc;
    }

    /// <summary>
    /// tcp_sendmsg_locked()'s start for MSG_ZEROCOPY on a socket with SO_ZEROCOPY: the notification this send's data
    /// will belong to, extending the one of the write queue's tail when it was the last (ENOBUFS when optmem is
    /// exhausted). TCP always sends scatter-gather (sk_setup_caps), so the data is meant to go from the user's pages.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sendmsg_locked(); net/core/skbuff.c msg_zerocopy_realloc()</remarks>
    internal ZerocopyArg? ZerocopyBegin(TcpSock sk, int size, MsgFlags flags, out int err)
    {
        err = 0;
        if ((flags & MsgFlags.Zerocopy) == 0 || size == 0 || !sk.ZerocopyEnabled) return null;
        // tcp_write_queue_tail(): the last skb not yet sent (Xmit's write queue also holds the sent ones).
        var unsentTail = sk.SendHead is null ? null : sk.WriteQueue.PeekTail();
        var uarg = ZerocopyArg.Realloc(sk, size, unsentTail?.Zerocopy, stream: true, Sysctls.OptmemMax);
        if (uarg is null) err = -(int)Errno.ENOBUFS;
        return uarg;
    }

    /// <summary>The send's own reference goes (net_zcopy_put), or, when it sent nothing, its id too (net_zcopy_put_abort).</summary>
    internal static void ZerocopyEnd(ZerocopyArg? uarg, bool sent)
    {
        if (uarg is null) return;
        if (sent) uarg.Put();
        else uarg.PutAbort();
    }

    /// <summary>tcp_sendmsg_locked() past its zerocopy start: <see cref="SendMsg"/>'s body, for callers that hold the notification themselves (Fast Open).</summary>
    internal int SendMsgLocked(TcpSock sk, ReadOnlySpan<byte> data, MsgFlags flags, bool noblock, ZerocopyArg? uarg)
    {
        var deadline = noblock ? Now : sk.SndTimeo.Nanoseconds == long.MaxValue ? Instant.Never : Now + sk.SndTimeo;
        // sk_stream_wait_connect(): wait out the handshake — not a Fast Open child, which may send in SYN-RECV.
        while (sk.State is TcpState.SynSent or TcpState.SynRecv && sk.FastOpenReq is null)
        {
            if (sk.Error != Errno.OK) return -(int)sk.TakeError();
            if (Now >= deadline) return -(int)Errno.EAGAIN;
            sk.WritePending++; // sk_stream_wait_connect()
            bool woke = WaitForConnection(sk, deadline);
            sk.WritePending--;
            if (!woke && deadline == Instant.Never) return -(int)Errno.EAGAIN;
        }
        int copied = 0;
        while (true)
        {
            if (sk.Error != Errno.OK) return copied > 0 ? TxTimestamp(sk, copied) : -(int)sk.TakeError();
            if ((sk.Shutdown & Sock.SendShutdown) != 0 || sk.State is not (TcpState.Established or TcpState.CloseWait) && sk.FastOpenReq is null)
                return copied > 0 ? TxTimestamp(sk, copied) : -(int)Errno.EPIPE;
            if (copied == data.Length) break;
            int mss = SendMss(sk, out int sizeGoal);
            var tail = sk.WriteQueue.PeekTail();
            SkBuff skb;
            int room;
            // Append to the unsent tail while it is below the size goal (and its buffer has room: it may have
            // been allocated for a smaller goal); otherwise a new skb, if sk_wmem_queued allows.
            // A zerocopy send does not join an skb of another notification (skb_zerocopy_iter_stream: EEXIST).
            // Nor one whose frags are all taken by user pages (__zerocopy_sg_from_iter: EMSGSIZE at MAX_SKB_FRAGS).
            bool zcFull = uarg is not null && tail is not null && tail.ZerocopyPages >= SkBuff.MaxFrags;
            if (tail is not null && sk.SendHead is not null && tail.Len < sizeGoal && tail.Tailroom > 0 && CanCollapseTo(tail)
                && (uarg is null || tail.Zerocopy is null || tail.Zerocopy == uarg) && !zcFull)
            {
                skb = tail;
                room = Math.Min(sizeGoal - tail.Len, tail.Tailroom);
            }
            else
            {
                if (!sk.StreamMemoryFree)
                {
                    // wait_for_space: push what is queued, then sleep until ACKs free memory.
                    sk.NoSpace = true;
                    Trace?.SockExceedBufLimit(sk, SkMemKind.Send);
                    if (copied > 0) Push(sk, flags & ~MsgFlags.More, mss, NagleMode.Push, sizeGoal);
                    if (Now >= deadline) return copied > 0 ? TxTimestamp(sk, copied) : -(int)Errno.EAGAIN;
                    if (!WaitForMemory(sk, deadline) && deadline == Instant.Never) return copied > 0 ? TxTimestamp(sk, copied) : -(int)Errno.EAGAIN; // nothing can wake us: do not hang
                    continue;
                }
                if (zcFull && sk.SendHead is not null) MarkPush(sk, tail!); // tcp_mark_push() on the unsent tail before new_segment
                skb = NewDataSkb(sk, sizeGoal);
                room = sizeGoal;
            }
            int n = Math.Min(room, data.Length - copied);
            int charge = n;
            if (uarg is not null)
            {
                // skb_zerocopy_iter_stream(): the user's pages become the skb's frags, as many as MAX_SKB_FRAGS leaves
                // room for, each charged whole (PAGE_ALIGN(len + offset in the first page); the caller's buffer is
                // taken to start a page).
                int offset = copied % PageSize;
                n = Math.Min(n, (SkBuff.MaxFrags - skb.ZerocopyPages) * PageSize - offset);
                int pages = (offset + n + PageSize - 1) / PageSize;
                skb.ZerocopyPages += pages;
                charge = pages * PageSize;
                skb.ZerocopySet(uarg);
            }
            data.Slice(copied, n).CopyTo(skb.Put(n));
            skb.Truesize += charge;
            sk.WmemQueued += charge;
            skb.Cb.EndSeq += (uint)n;
            sk.WriteSeq += (uint)n;
            copied += n;
            if (copied == data.Length && (flags & MsgFlags.Eor) != 0) skb.Cb.Flags |= EorFlag;
            if (skb.Len < sizeGoal) continue;
            if (ForcedPush(sk))
            {
                MarkPush(sk, skb);
                PushPendingFrames(sk, mss, NagleMode.Push);
            }
            else if (skb == sk.SendHead)
            {
                WriteXmit(sk, mss, NagleMode.Push, pushOne: true);
            }
        }
        if (copied > 0)
        {
            TxTimestamp(sk, copied);
            Push(sk, flags, SendMss(sk, out int goal), sk.NonAgle, goal);
        }
        return copied;
    }

    /// <summary>PAGE_SIZE: what a pinned user page costs the send buffer.</summary>
    private const int PageSize = 4096;

    /// <summary>
    /// tcp_tx_timestamp(): with SO_TIMESTAMPING's recording flags the unsent tail — the skb holding this send's last
    /// byte — asks for the timestamps, keyed by that byte's sequence number. Returns <paramref name="copied"/>.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_tx_timestamp(); net/socket.c __sock_tx_timestamp()</remarks>
    private static int TxTimestamp(TcpSock sk, int copied)
    {
        var flags = sk.TsFlags;
        var tail = sk.WriteQueue.PeekTail();
        if (flags == TimestampingFlags.None || tail is null || sk.SendHead is null) return copied; // all of it already sent
        var tx = tail.TxFlags | TxTimestamps.TxFlagsFor(flags);
        if ((flags & TimestampingFlags.TxAck) != 0) tx |= SkbTxFlags.AckTstamp; // tcb->txstamp_ack
        tail.TxFlags = tx;
        if ((flags & TimestampingFlags.TxRecordMask) != 0) tail.TsKey = (tail.Cb.Seq + (uint)tail.Len - 1u).Value;
        return copied;
    }

    /// <summary>TCP_NODELAY: on also pushes what Nagle was holding.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c __tcp_sock_set_nodelay()</remarks>
    public int SetNoDelay(TcpSock sk, bool on)
    {
        if (on)
        {
            sk.NonAgle |= NagleMode.Off | NagleMode.Push;
            PushPendingFrames(sk, SendMss(sk, out _), sk.NonAgle);
            sk.NonAgle &= ~NagleMode.Push;
        }
        else sk.NonAgle &= ~NagleMode.Off;
        return 0;
    }

    /// <summary>TCP_CORK: while set only full segments go; clearing it pushes the rest.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c __tcp_sock_set_cork()</remarks>
    public int SetCork(TcpSock sk, bool on)
    {
        if (on) sk.NonAgle |= NagleMode.Cork;
        else
        {
            sk.NonAgle &= ~NagleMode.Cork;
            if ((sk.NonAgle & NagleMode.Off) != 0) sk.NonAgle |= NagleMode.Push;
            PushPendingFrames(sk, SendMss(sk, out _), sk.NonAgle);
            sk.NonAgle &= ~NagleMode.Push;
        }
        return 0;
    }

    /// <summary>TCP_MAXSEG: 88…32767 (0 clears), before the connection only.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c do_tcp_setsockopt() TCP_MAXSEG</remarks>
    public int SetMaxSeg(TcpSock sk, int value)
    {
        if (value != 0 && (value < MinMss || value > 32767)) return -(int)Errno.EINVAL;
        sk.UserMss = value;
        return 0;
    }

    /// <summary>TCP_QUICKACK: on sends a pending ACK now and enters quick-ACK mode; off enters ping-pong mode.</summary>
    public int SetQuickAck(TcpSock sk, bool on)
    {
        if (on)
        {
            sk.Delack.PingPong = false;
            if (sk.Delack.Pending && sk.State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait) SendAck(sk);
        }
        else sk.Delack.PingPong = true;
        return 0;
    }

    // The waits live in methods of their own so the closures they capture are allocated only when a call
    // really blocks, not on every send (a lambda's captured locals are hoisted at the enclosing method's entry).
    private bool WaitForConnection(TcpSock sk, Instant deadline) =>
        _clock.WaitUntil(() => sk.State is not (TcpState.SynSent or TcpState.SynRecv) || sk.Error != Errno.OK, deadline);

    private bool WaitForMemory(TcpSock sk, Instant deadline) =>
        _clock.WaitUntil(() => sk.StreamMemoryFree && sk.StreamWriteable || sk.Error != Errno.OK
            || sk.State is not (TcpState.Established or TcpState.CloseWait) || (sk.Shutdown & Sock.SendShutdown) != 0, deadline);

    /// <summary>A new skb at the tail of the write queue, charged to sk_wmem_queued (tcp_stream_alloc_skb + tcp_skb_entail).</summary>
    private SkBuff NewDataSkb(TcpSock sk, int sizeGoal)
    {
        var skb = _pool.Alloc(MaxTcpHeader + sizeGoal);
        skb.Reserve(MaxTcpHeader);
        // Linux keeps only headers in the linear part and the data in page fragments charged byte for byte.
        skb.Truesize = Truesize.ForAllocSkb(MaxTcpHeader);
        skb.Cb.Seq = skb.Cb.EndSeq = sk.WriteSeq;
        skb.Cb.TcpFlags = TcpFlags.Ack;
        skb.Cb.Sacked = 0;
        skb.Cb.Flags = 0;
        Entail(sk, skb);
        return skb;
    }

    /// <summary>tcp_skb_entail(): the skb joins the write queue, charged; a connection idle for an RTO restarts its window first.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_skb_entail()</remarks>
    private void Entail(TcpSock sk, SkBuff skb)
    {
        SlowStartAfterIdleCheck(sk);
        // tcp_add_write_queue_tail(): the first unsent skb starts the busy chronograph (the SYN is not data).
        if (sk.SendHead is null && (skb.Cb.TcpFlags & TcpFlags.Syn) == 0) ChronoStart(sk, TcpChrono.Busy);
        sk.WriteQueue.Enqueue(skb);
        sk.WmemQueued += skb.Truesize;
        sk.SendHead ??= skb;
    }

    /// <summary>Cb.Flags bit: the skb ends a record (MSG_EOR); nothing may be appended to it.</summary>
    private const int EorFlag = 1;

    /// <summary>tcp_skb_can_collapse_to(): data may join the skb unless it carries SYN/FIN or ends a record.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_skb_can_collapse_to()</remarks>
    private static bool CanCollapseTo(SkBuff skb) => (skb.Cb.TcpFlags & (TcpFlags.Syn | TcpFlags.Fin)) == 0 && (skb.Cb.Flags & EorFlag) == 0;

    /// <summary>forced_push(): more than half the largest window written since the last PSH.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c forced_push()</remarks>
    private static bool ForcedPush(TcpSock sk) => sk.WriteSeq > sk.PushedSeq + (sk.MaxWindow >> 1);

    /// <summary>tcp_mark_push(): PSH on the skb, pushed_seq moves to write_seq.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_mark_push()</remarks>
    private static void MarkPush(TcpSock sk, SkBuff skb)
    {
        skb.Cb.TcpFlags |= TcpFlags.Psh;
        sk.PushedSeq = sk.WriteSeq;
    }

    /// <summary>tcp_push(): PSH on the tail (unless MSG_MORE), autocorking while earlier data is still in the host, then tcp_write_xmit.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_push(), tcp_should_autocork()</remarks>
    private void Push(TcpSock sk, MsgFlags flags, int mss, NagleMode nonagle, int sizeGoal)
    {
        var tail = sk.WriteQueue.PeekTail();
        if (tail is null || sk.SendHead is null) return;
        if ((flags & MsgFlags.More) == 0 || ForcedPush(sk)) MarkPush(sk, tail);
        if (tail.Len < sizeGoal && Sysctls.TcpAutocorking != 0 && tail != sk.WriteQueue.Peek() && sk.WmemAlloc > tail.Truesize)
        {
            // tcp_should_autocork(): hold the tail; the TX completion of what is below TCP pushes it (tcp_tsq_handler).
            if (!sk.TsqThrottled) Mib.AutoCorking++;
            sk.TsqThrottled = true;
            if (sk.WmemAlloc > tail.Truesize) return;
        }
        if ((flags & MsgFlags.More) != 0) nonagle = NagleMode.Cork;
        PushPendingFrames(sk, mss, nonagle);
    }

    /// <summary>__tcp_push_pending_frames(): write what may be sent; arm the probe timer if nothing is in flight.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c __tcp_push_pending_frames(); include/net/tcp.h tcp_check_probe_timer()</remarks>
    internal void PushPendingFrames(TcpSock sk, int mss, NagleMode nonagle)
    {
        if (sk.State == TcpState.Close || sk.SendHead is null) return;
        WriteXmit(sk, mss, nonagle, pushOne: false);
        // tcp_check_probe_timer(): data queued but nothing in flight to clock it out (a zero window, or the
        // qdisc dropped it): the probe timer.
        if (sk.PacketsOut == 0 && sk.SendHead is not null && !sk.RetransmitTimer.IsArmed)
            ArmProbe0(sk, ProbeBase(sk));
    }

    /// <summary>
    /// tcp_current_mss() and tcp_send_mss(): the MSS for this moment (path MTU, peer's MSS, TCP_MAXSEG, options)
    /// and the size goal of an skb: half the largest window the peer offered, in whole MSS, up to 64 KiB.
    /// TCP always builds GSO skbs (sk_setup_caps sets NETIF_F_GSO for TCP); a device without TSO gets them
    /// segmented by the stack just before the driver.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_current_mss(), tcp_sync_mss(); net/ipv4/tcp.c tcp_send_mss(), tcp_xmit_size_goal(); include/net/tcp.h tcp_bound_to_half_wnd(); net/core/sock.c sk_setup_caps()</remarks>
    internal static int SendMss(TcpSock sk, out int sizeGoal)
    {
        sk.Protocol.CheckPmtu(sk);
        int mss = sk.MssCache;
        int gsoMax = 65536 - 1 - MaxTcpHeader;
        int cutoff = sk.MaxWindow > MssDefault ? (int)(sk.MaxWindow >> 1) : (int)sk.MaxWindow;
        int bound = Math.Max(Math.Min(gsoMax, cutoff), 68 - TcpSegment.MinHeaderLength);
        sizeGoal = Math.Max(bound / mss * mss, mss);
        return mss;
    }

    /// <summary>
    /// tcp_current_mss()'s option delta: the MSS less the SACK blocks the next segment will carry, so that a data
    /// segment of a connection that also receives out of order still fits the path MTU with its options (without
    /// it a full-sized segment with SACK blocks is EMSGSIZE under DF, and a connection loaded both ways stalls
    /// at its first loss). Only the wire uses it — GSO cuts a segment to it in <see cref="TransmitSkb"/> — since
    /// the queue's segment counts (Pcount) are kept in MssCache units: Xmit stores no per-skb tcp_gso_segs.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_current_mss(), tcp_established_options()</remarks>
    internal static int CurrentMss(TcpSock sk) => sk.MssCache - SackOptionLength(sk);

    /// <summary>TCPOLEN_SACK_BASE_ALIGNED + TCPOLEN_SACK_PERBLOCK per block: the blocks <see cref="WriteEstablishedOptions"/> writes.</summary>
    private static int SackOptionLength(TcpSock sk)
    {
        if (!sk.SackOk || (sk.OutOfOrder.IsEmpty && !sk.DsackPending)) return 0;
        int maxBlocks = sk.TimestampOk ? 3 : 4;
        int n = sk.DsackPending ? 1 : 0;
        for (var s = sk.OutOfOrder.PeekTail(); s is not null && n < maxBlocks; s = SkBuffQueue.PrevOf(s))
        {
            while (SkBuffQueue.PrevOf(s) is { } p && p.Cb.EndSeq == s.Cb.Seq) s = p; // one block per contiguous run
            n++;
        }
        return 4 + 8 * n;
    }

    private static int SizeGoal(TcpSock sk)
    {
        SendMss(sk, out int goal);
        return goal;
    }

    /// <summary>
    /// tcp_sync_mss(): MSS from the path MTU, clamped by the peer's MSS and TCP_MAXSEG, less the timestamp option,
    /// and at most half the largest window the peer offered (tcp_bound_to_half_wnd: only lo's 64 KiB MTU gets there
    /// in practice — a 65483-byte MSS facing a 65483-byte window sends 32741).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_sync_mss(); include/net/tcp.h tcp_bound_to_half_wnd()</remarks>
    internal void SyncMss(TcpSock sk, int pmtu)
    {
        sk.PmtuCookie = pmtu;
        if (sk.Mtup.SearchHigh > pmtu) sk.Mtup.SearchHigh = pmtu;
        int mss = pmtu - Ipv4Packet.MinHeaderLength - TcpSegment.MinHeaderLength;
        if (mss > sk.MssClamp) mss = sk.MssClamp;
        if (sk.UserMss > 0 && mss > sk.UserMss) mss = sk.UserMss;
        if (sk.TimestampOk) mss -= TimestampOptionLength;
        mss = Math.Max(mss, 48); // TCP_MIN_SND_MSS
        int cutoff = sk.MaxWindow > MssDefault ? (int)(sk.MaxWindow >> 1) : (int)sk.MaxWindow;
        if (cutoff > 0 && mss > cutoff)
            mss = Math.Max(cutoff, 68 - TcpSegment.MinHeaderLength - (sk.TimestampOk ? TimestampOptionLength : 0));
        if (sk.Mtup.Enabled) mss = Math.Min(mss, MtuToMss(sk, sk.Mtup.SearchLow)); // MTU probing: what the search has proven
        bool changed = mss != sk.MssCache;
        sk.MssCache = mss;
        if (changed && sk.PacketsOut > 0) RecountInFlight(sk);
    }

    /// <summary>
    /// After the MSS changed with data in flight: packets_out and the lost, retransmitted and (with SACK) SACKed
    /// counts summed again over the retransmission queue in the new MSS. Linux keeps each skb's tcp_gso_segs from
    /// when it was cut, so its counts do not move until the skbs are acknowledged; Xmit counts every skb in the
    /// current MSS (no per-skb gso_segs), and without this the counters would drift from what the queue holds when an
    /// MTU probe or a path MTU change moves the MSS — in-flight data could then never reach zero.
    /// </summary>
    private static void RecountInFlight(TcpSock sk)
    {
        uint packets = 0, lost = 0, retrans = 0, sacked = 0;
        for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
        {
            uint n = (uint)Pcount(s, sk.MssCache);
            packets += n;
            if ((s.Cb.Sacked & TcpSacked.Lost) != 0) lost += n;
            if ((s.Cb.Sacked & TcpSacked.Retrans) != 0) retrans += n;
            if ((s.Cb.Sacked & TcpSacked.Acked) != 0) sacked += n;
        }
        sk.PacketsOut = packets;
        sk.LostOut = lost;
        sk.RetransOut = retrans;
        if (sk.SackOk) sk.SackedOut = sacked;
    }

    /// <summary>
    /// tcp_current_mss()'s check: the route's MTU fell since the MSS was computed (a fragmentation-needed about
    /// this destination, learned for any socket): sync the MSS to it, or every full-sized segment with DF would be
    /// refused locally for ever.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_current_mss()</remarks>
    internal void CheckPmtu(TcpSock sk)
    {
        if (sk.PmtuCookie == 0 || sk.RemoteAddress.IsUnspecified) return;
        if (_output.Routes.Lookup(sk.RemoteAddress) is { EffectiveMtu: var mtu } && mtu != sk.PmtuCookie) SyncMss(sk, mtu);
    }

    /// <summary>TCPOLEN_TSTAMP_ALIGNED: the timestamp option with its two NOPs.</summary>
    private const int TimestampOptionLength = 12;

    private static int Pcount(SkBuff skb, int mss) => skb.Len <= mss || (skb.Cb.Flags & OneSegmentFlag) != 0 ? 1 : (skb.Len + mss - 1) / mss;

    /// <summary>
    /// tcp_write_xmit(): send unsent skbs while the congestion window (tcp_cwnd_test, at most half of it per
    /// skb), the peer's window (tcp_snd_wnd_test), Nagle and TSO deferral allow, cutting skbs to what may go
    /// (tcp_mss_split_point / tso_fragment) and to the TSO autosize. Then tcp_cwnd_validate.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_write_xmit(), tcp_cwnd_test(), tcp_snd_wnd_test(), tcp_nagle_test(), tcp_tso_should_defer(), tcp_mss_split_point(), tcp_cwnd_validate()</remarks>
    internal bool WriteXmit(TcpSock sk, int mss, NagleMode nonagle, bool pushOne, bool lossProbe = false)
    {
        int sent = 0;
        bool cwndLimited = false, rwndLimited = false;
        if (!pushOne)
        {
            int probe = MtuProbe(sk);
            if (probe == 0) return false;
            if (probe > 0) sent = 1;
        }
        int maxSegs = TsoSegs(sk, mss);
        while (sk.SendHead is { } skb)
        {
            if (PacingCheck(sk)) break;
            int tsoSegs = Pcount(skb, mss);
            uint quota = CwndTest(sk, skb, mss);
            if (quota == 0 && lossProbe) quota = 1; // a loss probe goes out whatever cwnd says
            if (quota == 0)
            {
                cwndLimited = true;
                break;
            }
            quota = Math.Min(quota, (uint)maxSegs);
            // tcp_grow_skb(): an skb smaller than what may leave at once takes bytes from the next one.
            int missing = (int)quota * mss - skb.Len;
            if (missing > 0)
            {
                skb = GrowSkb(sk, skb, missing, mss);
                tsoSegs = Pcount(skb, mss);
            }
            if (!SndWndTest(sk, skb, mss))
            {
                rwndLimited = true;
                break;
            }
            if (tsoSegs == 1)
            {
                if (!NagleTest(sk, skb, mss, SkBuffQueue.NextOf(skb) is null ? nonagle : NagleMode.Push)) break;
            }
            else if (!pushOne && TsoShouldDefer(sk, skb, maxSegs, ref cwndLimited, ref rwndLimited))
            {
                break;
            }
            int limit = mss;
            if (tsoSegs > 1) limit = MssSplitPoint(sk, skb, mss, (int)quota, nonagle);
            if (skb.Len > limit) Fragment(sk, skb, limit);
            if (SmallQueueCheck(sk, skb, 0)) break;
            if (TransmitSkb(sk, skb, clone: true) < 0) break;
            EventNewDataSent(sk, skb, mss);
            if (sk.CaState is TcpCaState.Recovery or TcpCaState.Cwr) sk.PrrOut += (uint)Pcount(skb, mss); // tcp_in_cwnd_reduction()
            if (skb.Len < Pcount(skb, mss) * mss) sk.SndSml = skb.Cb.EndSeq; // tcp_minshall_update
            sent++;
            if (pushOne) break;
        }
        if (rwndLimited) ChronoStart(sk, TcpChrono.RwndLimited);
        else ChronoStop(sk, TcpChrono.RwndLimited);
        cwndLimited |= sk.InFlight >= sk.SndCwnd;
        if (sent > 0 && !lossProbe) ScheduleLossProbe(sk, advancingRto: false); // one probe per tail loss episode
        if (sent > 0 || cwndLimited)
        {
            CwndValidate(sk, cwndLimited);
            ChronoCheckSndbufLimited(sk);
        }
        return sent > 0;
    }

    /// <summary>
    /// tcp_grow_skb(): <paramref name="skb"/>, about to be sent, is <paramref name="amount"/> bytes short of what cwnd
    /// and the TSO autosize let out at once; it takes them from the front of the next unsent skb, and that skb's
    /// PSH/FIN and end of record with its last byte. Two kinds of send head are short: skbs queued while the MSS was
    /// small — a write that fills the send buffer before any ACK has raised max_window (lo: the whole megabyte at
    /// 32741) — and the remainder tso_fragment leaves after cutting a send head to the window. The second matters for
    /// TSQ, which allows twice the *send head's* truesize below TCP: a small remainder would hold the sender back while
    /// the qdisc drains (through a 10 Mbit/s tbf, half Linux's backlog and cwnd without it). Returns the skb that now
    /// heads the send queue (a new, larger buffer when the old one had no tailroom: Xmit's write-queue skbs are linear,
    /// Linux's shift page fragments). The growth stops at the whole segments one IPv4 packet can carry (16-bit total
    /// length): tcp_min_tso_segs lets max_segs ask for two segments of an MSS above 32 KiB, which no packet on Linux's
    /// lo was measured to exceed.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_grow_skb(), tcp_eat_one_skb(); include/net/tcp.h tcp_skb_can_collapse(); net/core/skbuff.c skb_shift()</remarks>
    private SkBuff GrowSkb(TcpSock sk, SkBuff skb, int amount, int mss)
    {
        if (SkBuffQueue.NextOf(skb) is not { } next || !CanCollapseTo(skb)) return skb;
        // skb_shift() moves no zerocopy data, and a timestamp request stays on the skb that carries its byte.
        if (skb.Zerocopy is not null || next.Zerocopy is not null || next.TxFlags != SkbTxFlags.None) return skb;
        int maxPayload = 0xFFFF - Ipv4Packet.MinHeaderLength - TcpHeaderLength(sk) - SackOptionLength(sk);
        int fit = Math.Max(maxPayload / mss, 1) * mss;
        int nlen = Math.Min(Math.Min(amount, fit - skb.Len), next.Len);
        if (nlen <= 0) return skb;
        // At least the size goal, so the pool hands out (and takes back) buffers of the sizes it already holds.
        if (skb.Tailroom < nlen) skb = Reallocate(sk, skb, Math.Max(skb.Len + nlen, SizeGoal(sk)));
        next.CopyBits(0, skb.Put(nlen));
        next.Pull(nlen);
        // The bytes move with their charge: sk_wmem_queued does not change until an skb is freed.
        skb.Truesize += nlen;
        next.Truesize -= nlen;
        skb.Cb.EndSeq += (uint)nlen;
        next.Cb.Seq += (uint)nlen;
        if (next.Len == 0)
        {
            skb.Cb.EndSeq = next.Cb.EndSeq; // the emptied skb's sequence end (a FIN) passes on
            EatSkb(sk, skb, next);
        }
        return skb;
    }

    /// <summary>tcp_eat_one_skb(): <paramref name="src"/>, all of whose bytes went into <paramref name="dst"/>, leaves the queue; its flags and record end pass on.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_eat_one_skb(), tcp_mtu_probe()</remarks>
    private static void EatSkb(TcpSock sk, SkBuff dst, SkBuff src)
    {
        dst.Cb.TcpFlags |= src.Cb.TcpFlags;
        dst.Cb.Flags = (dst.Cb.Flags & ~EorFlag) | (src.Cb.Flags & EorFlag);
        sk.WriteQueue.Unlink(src);
        sk.WmemQueued -= src.Truesize;
        src.Free(SkbDropReason.Consumed);
    }

    /// <summary>The unsent head <paramref name="skb"/> copied into a buffer for <paramref name="capacity"/> bytes, taking its place (and its charge) in the queue.</summary>
    private SkBuff Reallocate(TcpSock sk, SkBuff skb, int capacity)
    {
        var big = _pool.Alloc(MaxTcpHeader + capacity);
        big.Reserve(MaxTcpHeader);
        skb.CopyBits(0, big.Put(skb.Len));
        big.Truesize = skb.Truesize;
        big.Cb = skb.Cb;
        big.TxFlags = skb.TxFlags;
        big.TsKey = skb.TsKey;
        sk.WriteQueue.InsertAfter(skb, big);
        sk.WriteQueue.Unlink(skb);
        if (sk.SendHead == skb) sk.SendHead = big;
        skb.Free(SkbDropReason.Consumed);
        return big;
    }

    /// <summary>
    /// tcp_cwnd_test(): the segments cwnd still allows, but at most half the window so at least two TSO skbs
    /// are in flight; the final FIN (alone in its segment) is not held back by cwnd.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_cwnd_test()</remarks>
    private static uint CwndTest(TcpSock sk, SkBuff skb, int mss)
    {
        if ((skb.Cb.TcpFlags & TcpFlags.Fin) != 0 && Pcount(skb, mss) == 1) return 1;
        uint inFlight = sk.InFlight, cwnd = sk.SndCwnd;
        if (inFlight >= cwnd) return 0;
        uint half = Math.Max(cwnd >> 1, 1u);
        return Math.Min(half, cwnd - inFlight);
    }

    private static TcpSeq WndEnd(TcpSock sk) => sk.SndUna + sk.SndWnd;

    private static bool SndWndTest(TcpSock sk, SkBuff skb, int mss)
    {
        var end = skb.Cb.EndSeq;
        if (skb.Len > mss) end = skb.Cb.Seq + (uint)mss;
        return end <= WndEnd(sk);
    }

    /// <summary>tcp_nagle_check(): hold a partial segment when corked, or (Minshall) while a small segment is unacknowledged.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_nagle_check(), tcp_minshall_check()</remarks>
    private static bool NagleCheck(bool partial, TcpSock sk, NagleMode nonagle) =>
        partial && ((nonagle & NagleMode.Cork) != 0 || (nonagle == NagleMode.On && sk.PacketsOut > 0 && sk.SndSml > sk.SndUna && sk.SndSml <= sk.SndNxt));

    private static bool NagleTest(TcpSock sk, SkBuff skb, int mss, NagleMode nonagle)
    {
        if ((nonagle & NagleMode.Push) != 0) return true;
        if ((skb.Cb.TcpFlags & TcpFlags.Fin) != 0) return true;
        return !NagleCheck(skb.Len < mss, sk, nonagle);
    }

    private static int MssSplitPoint(TcpSock sk, SkBuff skb, int mss, int maxSegs, NagleMode nonagle)
    {
        uint window = WndEnd(sk) - skb.Cb.Seq;
        int maxLen = mss * maxSegs;
        if (maxLen <= window && skb != sk.WriteQueue.PeekTail()) return maxLen;
        int needed = (int)Math.Min((uint)skb.Len, window);
        if (maxLen <= needed) return maxLen;
        int partial = needed % mss;
        return NagleCheck(partial != 0, sk, nonagle) ? needed - partial : needed;
    }

    /// <summary>
    /// tcp_tso_autosize() / tcp_tso_segs(): segments per TSO skb — about 1 ms of the pacing rate, at least
    /// tcp_min_tso_segs, at most what 64 KiB holds.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_tso_autosize(), tcp_tso_segs()</remarks>
    private int TsoSegs(TcpSock sk, int mss)
    {
        ulong bytes = sk.PacingRate == ulong.MaxValue ? 65536 : sk.PacingRate >> 10;
        // tcp_min_rtt(): the smallest RTT seen, so a path whose queue grows keeps its large skbs (0 before a sample).
        long minRttUs = sk.Rtt.MinRttUs == long.MaxValue ? 0 : sk.Rtt.MinRttUs;
        long r = minRttUs >> 9; // tcp_tso_rtt_log = 9
        if (r < 32) bytes += (ulong)(65536 >> (int)r);
        bytes = Math.Min(bytes, 65536);
        return (int)Math.Max(bytes / (ulong)mss, (ulong)Sysctls.TcpMinTsoSegs);
    }

    /// <summary>
    /// tcp_tso_should_defer(): hold back a TSO skb that cannot go out whole, hoping an ACK arrives soon so a
    /// bigger one can be sent — unless a full skb fits, the allowed part is at least 1/tso_win_divisor of the
    /// window, the last send was over a jiffy ago, or the next ACK is due later than half an RTT or 1 ms.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_tso_should_defer()</remarks>
    private bool TsoShouldDefer(TcpSock sk, SkBuff skb, int maxSegs, ref bool cwndLimited, ref bool rwndLimited)
    {
        if (sk.CaState >= TcpCaState.Recovery) return false;
        if ((Now - sk.LastSendTime).Nanoseconds >= 1_000_000) return false; // (s32)(tcp_jiffies32 - lsndtime) > 0
        uint inFlight = sk.InFlight;
        uint sendWin = WndEnd(sk) - skb.Cb.Seq;
        uint congWin = (sk.SndCwnd - inFlight) * (uint)sk.MssCache;
        uint limit = Math.Min(sendWin, congWin);
        if (limit >= (uint)(maxSegs * sk.MssCache)) return false;
        if (skb != sk.WriteQueue.PeekTail() && limit >= skb.Len) return false;
        int divisor = Sysctls.TcpTsoWinDivisor;
        if (divisor > 0)
        {
            uint chunk = Math.Min(sk.SndWnd, sk.SndCwnd * (uint)sk.MssCache) / (uint)divisor;
            if (limit >= chunk) return false;
        }
        else if (limit > 3 * (uint)sk.MssCache) return false;
        var head = sk.WriteQueue.Peek();
        if (head is null || head == sk.SendHead) return false;
        // The next ACK is expected an srtt after the oldest unacknowledged skb left; when that is further away than
        // half an srtt, or than 1 ms on a long path, deferring would stall the ACK clock: send now (6.18's rule, which
        // replaced "half an srtt" alone — that one kept flows with a large RTT at a small cwnd).
        long srttNs = (sk.Rtt.ScaledSrttUs >> 3) * 1000;
        long howFarIsTheAck = (head.Cb.SentAt - Now).Nanoseconds + srttNs;
        if (howFarIsTheAck > Math.Min(srttNs >> 1, 1_000_000)) return false;
        // Deferring: say what held the skb back, unless it can never get more data (FIN, end of record).
        if (congWin < sendWin)
        {
            if (congWin <= skb.Len)
            {
                cwndLimited = true;
                return true;
            }
        }
        else if (sendWin <= skb.Len)
        {
            rwndLimited = true;
            return true;
        }
        return (skb.Cb.TcpFlags & TcpFlags.Fin) == 0 && (skb.Cb.Flags & EorFlag) == 0;
    }

    /// <summary>tso_fragment() / tcp_fragment(): cut <paramref name="skb"/> after <paramref name="len"/> bytes; the rest becomes the next skb (PSH and FIN go with it).</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tso_fragment(), tcp_fragment()</remarks>
    private void Fragment(TcpSock sk, SkBuff skb, int len)
    {
        if ((skb.Cb.Flags & OneSegmentFlag) != 0) SplitProbe(sk, skb);
        int rest = skb.Len - len;
        // A new tail keeps room to grow to the size goal: later writes append to it, as to any unsent tail.
        int capacity = skb == sk.WriteQueue.PeekTail() ? Math.Max(rest, SizeGoal(sk)) : rest;
        var buff = _pool.Alloc(MaxTcpHeader + capacity);
        buff.Reserve(MaxTcpHeader);
        skb.CopyBits(len, buff.Put(rest));
        skb.Trim(len);
        buff.Truesize = Truesize.ForAllocSkb(MaxTcpHeader) + rest;
        skb.Truesize -= rest;
        sk.WmemQueued += buff.Truesize - rest;
        buff.Cb.Seq = skb.Cb.Seq + (uint)len;
        buff.Cb.EndSeq = skb.Cb.EndSeq;
        skb.Cb.EndSeq = buff.Cb.Seq;
        buff.Cb.TcpFlags = skb.Cb.TcpFlags;
        skb.Cb.TcpFlags = (byte)(skb.Cb.TcpFlags & ~(TcpFlags.Fin | TcpFlags.Psh));
        buff.Cb.Sacked = skb.Cb.Sacked;
        buff.Cb.SentAt = skb.Cb.SentAt;
        buff.Cb.Flags = skb.Cb.Flags; // the end of record goes with the second part (tcp_skb_fragment_eor)
        skb.Cb.Flags &= ~EorFlag;
        buff.ZerocopyCloneFrom(skb); // skb_split() → skb_zerocopy_clone()
        buff.ZerocopyPages = skb.ZerocopyPages; // which page each byte is in is not kept: an upper bound for the tail
        FragmentTstamp(skb, buff);
        sk.WriteQueue.InsertAfter(skb, buff);
    }

    /// <summary>
    /// tcp_fragment() of an MTU probe (a lost one, resent in MSS pieces): the pieces count in MSS segments, and
    /// what is in flight or lost grows by the difference (tcp_adjust_pcount).
    /// </summary>
    private static void SplitProbe(TcpSock sk, SkBuff skb)
    {
        skb.Cb.Flags &= ~OneSegmentFlag;
        if (skb.Cb.EndSeq > sk.SndNxt) return;
        uint extra = (uint)(Pcount(skb, sk.MssCache) - 1);
        sk.PacketsOut += extra;
        if ((skb.Cb.Sacked & TcpSacked.Lost) != 0) sk.LostOut += extra;
        if ((skb.Cb.Sacked & TcpSacked.Retrans) != 0) sk.RetransOut += extra;
    }

    /// <summary>tcp_fragment_tstamp(): the timestamp request moves to the second part when the timestamped byte went with it.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_fragment_tstamp()</remarks>
    private static void FragmentTstamp(SkBuff skb, SkBuff buff)
    {
        if (skb.TxFlags == SkbTxFlags.None || new TcpSeq(skb.TsKey) < buff.Cb.Seq) return;
        buff.TxFlags = skb.TxFlags;
        buff.TsKey = skb.TsKey;
        skb.TxFlags = SkbTxFlags.None;
        skb.TsKey = 0;
    }

    /// <summary>
    /// tcp_event_new_data_sent(): snd_nxt moves on, the segments count as in flight, the RTO is armed; and a writer
    /// waiting for space is looked at now (tcp_check_space), while cwnd may still have room to grow the send buffer.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_event_new_data_sent()</remarks>
    private void EventNewDataSent(TcpSock sk, SkBuff skb, int mss)
    {
        uint priorPackets = sk.PacketsOut;
        sk.SendHead = SkBuffQueue.NextOf(skb);
        sk.SndNxt = skb.Cb.EndSeq;
        sk.PacketsOut += (uint)Pcount(skb, mss);
        if (priorPackets == 0 || sk.PendingTimer == TcpXmitTimer.LossProbe || !sk.RetransmitTimer.IsArmed) RearmRto(sk);
        CheckSpace(sk);
    }

    /// <summary>tcp_cwnd_validate(): remember how much of cwnd was used, for tcp_is_cwnd_limited().</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_cwnd_validate()</remarks>
    private static void CwndValidate(TcpSock sk, bool cwndLimited)
    {
        if (sk.SndUna >= sk.CwndUsageSeq || cwndLimited || (!sk.IsCwndLimited && sk.PacketsOut > sk.MaxPacketsOut))
        {
            sk.IsCwndLimited = cwndLimited;
            sk.MaxPacketsOut = sk.PacketsOut;
            sk.CwndUsageSeq = sk.SndNxt;
        }
    }

    /// <summary>The TCP timestamp clock: milliseconds of host time (tcp_time_stamp_ms with a zero offset).</summary>
    private uint TsNow => (uint)(Now.Nanoseconds / 1_000_000);

    /// <summary>
    /// tcp_transmit_skb(): clone the queued skb (a copy if an earlier clone is still in the host), push the TCP
    /// header with ACK = rcv_nxt, the window and the options, and hand it to IPv4. Counts an ACK sent.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c __tcp_transmit_skb(), tcp_options_write(), tcp_event_ack_sent()</remarks>
    private int TransmitSkb(TcpSock sk, SkBuff skb, bool clone)
    {
        // The departure time (EDT): now, or later while fq paces the flow (UpdateSkbAfterSend moves it on).
        var priorWstamp = sk.Wstamp;
        sk.Wstamp = Instant.Max(sk.Wstamp, Now);
        SkBuff pkt;
        if (!clone) pkt = skb;
        else if (skb.IsCloned)
        {
            pkt = _pool.Alloc(MaxTcpHeader + skb.Len);
            pkt.Reserve(MaxTcpHeader);
            skb.CopyBits(0, pkt.Put(skb.Len));
            pkt.ZerocopyCloneFrom(skb); // pskb_copy() keeps the pages, and with them the notification
        }
        else pkt = _pool.Clone(skb);
        if (clone) skb.Cb.SentAt = sk.Wstamp; // skb_mstamp_ns is the departure time
        byte flags = skb.Cb.TcpFlags;
        bool syn = (flags & TcpFlags.Syn) != 0;
        if (!syn) flags = EcnSend(sk, skb, pkt.Len, flags); // before the header is written and the TOS taken
        // tcp_sendmsg copied the stream into 32 KiB pages in order: this data starts at its offset there.
        pkt.Cb.TxPageOffset = syn ? 0 : (int)((skb.Cb.Seq - (sk.Iss + 1u)) & 32767u);
        // "Force a PSH flag on all (GSO) packets to expedite GRO flush at receiver": a multi-segment skb goes
        // with PSH (software GSO then keeps it on the last segment only).
        int mss = (skb.Cb.Flags & OneSegmentFlag) != 0 ? skb.Len : CurrentMss(sk);
        if (!syn && skb.Len > mss) flags |= TcpFlags.Psh;
        Span<byte> opts = stackalloc byte[40];
        var w = new TcpOptionWriter(opts);
        if (syn) WriteSynOptions(sk, ref w, (flags & TcpFlags.Ack) != 0);
        else WriteEstablishedOptions(sk, ref w);
        int optLen = w.Length;
        int hl = TcpSegment.MinHeaderLength + optLen;
        ushort window = syn ? (ushort)Math.Min(sk.RcvWnd, 65535u) : SelectWindow(sk);
        int payload = pkt.Len;
        var seg = pkt.Push(hl);
        pkt.TransportHeader = pkt.DataOffset;
        opts[..optLen].CopyTo(seg[TcpSegment.MinHeaderLength..]);
        new TcpHeaderRepr
        {
            SourcePort = sk.LocalPort, DestinationPort = sk.RemotePort, Seq = skb.Cb.Seq,
            Ack = (flags & TcpFlags.Ack) != 0 ? sk.RcvNxt : default, Flags = flags, Window = window,
        }.EmitPartial(pkt.Data, optLen, sk.LocalAddress, sk.RemoteAddress);
        // tcp_v4_send_check(): always CHECKSUM_PARTIAL; a device without checksum offload has it finished in
        // software at transmit (skb_checksum_help), GSO finishes each segment's.
        pkt.IpSummed = ChecksumState.Partial;
        pkt.CsumStart = pkt.TransportHeader;
        pkt.CsumOffset = TcpSegment.ChecksumOffset;
        if (payload > mss && !syn) // a SYN with data (Fast Open) is one segment whatever the MSS guess
        {
            pkt.GsoSize = mss;
            pkt.GsoType = GsoType.TcpV4;
        }
        // ooo_okay: with nothing of this socket below TCP the flow may move to another TX queue without reordering.
        pkt.OooOkay = sk.WmemAlloc < Truesize.OfOneByte;
        pkt.Hash = sk.TxHash; // skb_set_hash_from_sk()
        pkt.DeliveryTime = sk.Wstamp; // skb_set_delivery_time()
        if (clone) sk.SetOwnerW(pkt); // skb_set_owner_w: what the host still holds counts for TSQ and autocorking
        int segs = payload > mss && !syn ? (payload + mss - 1) / mss : 1;
        Mib.OutSegs += segs;
        CountSent(sk, segs, payload);
        if ((flags & TcpFlags.Ack) != 0) EventAckSent(sk, segs);
        if (payload > 0) EventDataSent(sk);
        if ((flags & TcpFlags.Rst) != 0) Mib.OutRsts++;
        // ip_queue_xmit(): DF on every segment unless IP_MTU_DISCOVER says DONT (ip_dont_fragment()); the socket's
        // priority picks the qdisc band (skb->priority = sk->sk_priority, net/ipv4/ip_output.c __ip_queue_xmit()).
        pkt.Priority = sk.Priority;
        var df = sk.PmtuDisc is PmtuDisc.Dont or PmtuDisc.Omit ? PmtuDisc.Dont : PmtuDisc.Do;
        int rc = _output.Send(pkt, new IpSendParams(sk.LocalAddress, sk.RemoteAddress, IpProtocol.Tcp, sk.EffectiveTtl, sk.Tos,
            df, sk.InetId));
        sk.InetId += (ushort)segs;
        // net_xmit_eval(): congestion notification counts as sent; a drop in the qdisc means the segment was not
        // sent at all — the caller leaves it queued (new data) or unmarked (retransmission).
        if (rc > 0) EnterCwr(sk); // tcp_transmit_skb(): the qdisc dropped or signalled congestion (NET_XMIT_DROP / _CN)
        int err = rc == NetXmit.Congestion ? 0 : NetXmit.ToErrno(rc);
        if (err == 0 && clone) UpdateSkbAfterSend(sk, skb, priorWstamp);
        return err;
    }

    /// <summary>
    /// tcp_update_skb_after_send(): under fq (SK_PACING_FQ) the next departure is this skb's length later at the pacing
    /// rate, less what an earlier wait already covered (up to half of it), once the first 10 segments are out
    /// ("original sch_fq does not pace the first 10 MSS"). Without pacing the departure time stays now.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_update_skb_after_send()</remarks>
    private static void UpdateSkbAfterSend(TcpSock sk, SkBuff skb, Instant priorWstamp)
    {
        if (sk.PacingStatus == SkPacingStatus.None) return;
        ulong rate = sk.PacingRate;
        if (rate == ulong.MaxValue || rate == 0 || sk.DataSegsOut < 10) return;
        long lenNs = (long)((ulong)skb.Len * 1_000_000_000UL / rate);
        long credit = (sk.Wstamp - priorWstamp).Nanoseconds;
        lenNs -= Math.Min(lenNs / 2, credit);
        sk.Wstamp += Duration.FromNanoseconds(lenNs);
    }

    /// <summary>SYN / SYN-ACK options in Linux's layout: MSS, SACK-permitted with the timestamp, window scale.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_syn_options(), tcp_synack_options()</remarks>
    private void WriteSynOptions(TcpSock sk, ref TcpOptionWriter w, bool synAck)
    {
        w.Mss((ushort)sk.AdvMss);
        bool ts = synAck ? sk.TimestampOk : Sysctls.TcpTimestamps != 0;
        bool sack = synAck ? sk.SackOk : Sysctls.TcpSack != 0;
        bool ws = synAck ? sk.WscaleOk : Sysctls.TcpWindowScaling != 0;
        if (ts) w.Timestamp(TsNow, synAck ? sk.TsRecent : 0, sack);
        else if (sack) w.SackPermitted();
        if (ws) w.WindowScale(sk.RcvWscale);
        if (!synAck) WriteFastOpenSynOption(sk, ref w, 40);
    }

    /// <summary>tcp_established_options(): the timestamp, then a pending D-SACK block and SACK blocks for out-of-order data held.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_established_options(), tcp_options_write()</remarks>
    private void WriteEstablishedOptions(TcpSock sk, ref TcpOptionWriter w)
    {
        if (sk.TimestampOk) w.Timestamp(TsNow, sk.TsRecent, sackPermitted: false);
        if (!sk.SackOk || (sk.OutOfOrder.IsEmpty && !sk.DsackPending)) return;
        Span<uint> edges = stackalloc uint[8];
        int n = 0;
        int maxBlocks = sk.TimestampOk ? 3 : 4;
        if (sk.DsackPending)
        {
            // RFC 2883: a D-SACK block goes first, and only once — tcp_options_write() clears rx_opt.dsack.
            edges[n++] = sk.DsackStart.Value;
            edges[n++] = sk.DsackEnd.Value;
            sk.DsackPending = false;
        }
        // The most recent block first (RFC 2018), then the others; the queue is kept in sequence order.
        for (var s = sk.OutOfOrder.PeekTail(); s is not null && n < maxBlocks * 2; s = SkBuffQueue.PrevOf(s))
        {
            TcpSeq start = s.Cb.Seq, end = s.Cb.EndSeq;
            while (SkBuffQueue.PrevOf(s) is { } p && p.Cb.EndSeq == start)
            {
                s = p;
                start = p.Cb.Seq;
            }
            edges[n++] = start.Value;
            edges[n++] = end.Value;
        }
        w.SackBlocks(edges[..n]);
    }

    /// <summary>tcp_event_ack_sent(): the ACK went out — no delayed ACK pending, one fewer quick ACK.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_event_ack_sent()</remarks>
    private void EventAckSent(TcpSock sk, int segs)
    {
        if (sk.Delack.QuickAcks > 0)
        {
            if (segs >= sk.Delack.QuickAcks)
            {
                sk.Delack.QuickAcks = 0;
                sk.Delack.Ato = AtoMin;
            }
            else sk.Delack.QuickAcks -= segs;
        }
        sk.Delack.Pending = sk.Delack.Now = sk.Delack.Pushed = sk.Delack.Pushed2 = false; // inet_csk_clear_xmit_timer(ICSK_TIME_DACK)
        _clock.Disarm(sk.Delack.Timer);
    }

    /// <summary>tcp_event_data_sent(): a reply within the ACK timeout of the last data received means ping-pong traffic.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_event_data_sent()</remarks>
    private void EventDataSent(TcpSock sk)
    {
        if (sk.InFlight == 0) sk.CongestionOps.CwndEvent(sk, TcpCaEvent.TxStart, Jiffies);
        if (JiffiesClock.Elapsed(sk.Delack.LastReceived, Now) < sk.Delack.Ato) sk.Delack.PingPong = true; // in jiffies
        sk.LastSendTime = Now;
    }

    /// <summary>A header-only segment from the socket (pure ACK, RST, FIN when the queue is empty).</summary>
    private int SendControl(TcpSock sk, byte flags, TcpSeq seq)
    {
        var skb = _pool.Alloc(MaxTcpHeader);
        skb.Reserve(MaxTcpHeader);
        skb.Cb.Seq = skb.Cb.EndSeq = seq;
        skb.Cb.TcpFlags = flags;
        return TransmitSkb(sk, skb, clone: false);
    }

    /// <summary>tcp_send_ack(): a pure ACK at snd_nxt.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c __tcp_send_ack()</remarks>
    internal void SendAck(TcpSock sk)
    {
        if (sk.State == TcpState.Close) return;
        SendControl(sk, TcpFlags.Ack, sk.SndNxt);
    }

    /// <summary>tcp_send_active_reset(): RST|ACK at snd_nxt.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_send_active_reset()</remarks>
    internal void SendActiveReset(TcpSock sk) => SendControl(sk, TcpFlags.Rst | TcpFlags.Ack, sk.SndNxt);

    /// <summary>
    /// The SYN of an active open (tcp_connect) or the SYN-ACK of a passive one (tcp_make_synack): queued like data,
    /// so the retransmission timer resends it.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_connect(), tcp_make_synack(); net/ipv4/tcp_ipv4.c tcp_v4_send_synack()</remarks>
    private void SendSyn(TcpSock sk, bool synAck = false)
    {
        var skb = NewControlSkb(sk.Iss, synAck ? (byte)(TcpFlags.Syn | TcpFlags.Ack) : TcpFlags.Syn);
        skb.Cb.EndSeq = sk.Iss + 1;
        Entail(sk, skb);
        sk.WriteSeq = sk.Iss + 1;
        sk.SynSentAt = Now;
        if (!synAck) sk.RetransStamp = Now; // tcp_connect(): a SYN's timeouts count from its first transmission
        if (!synAck) EcnSendSyn(sk, skb); // tcp_connect()
        if (!synAck && sk.FastOpenClientReq is { } fo) SendSynData(sk, skb, fo);
        else TransmitSkb(sk, skb, clone: true);
        // The SYN, and the data that went with it, are in flight; data that could not go waits unsent.
        sk.SendHead = SkBuffQueue.NextOf(skb) is { } rest && !sk.SynData ? rest : null;
        sk.SndNxt = sk.SynData ? sk.WriteSeq : sk.Iss + 1;
        sk.PacketsOut = sk.SynData ? 2u : 1u;
        RearmRto(sk);
    }

    /// <summary>A header-only skb for the write queue (SYN, FIN), charged like Linux's (tcp_stream_alloc_skb with no data).</summary>
    private SkBuff NewControlSkb(TcpSeq seq, byte flags)
    {
        var skb = _pool.Alloc(MaxTcpHeader);
        skb.Reserve(MaxTcpHeader);
        skb.Truesize = Truesize.ForAllocSkb(MaxTcpHeader);
        skb.Cb.Seq = skb.Cb.EndSeq = seq;
        skb.Cb.TcpFlags = flags;
        return skb;
    }

    /// <summary>tcp_send_fin(): FIN on the last unsent skb, or a new FIN skb; then push.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_send_fin()</remarks>
    private void SendFin(TcpSock sk)
    {
        var tail = sk.WriteQueue.PeekTail();
        if (tail is not null && sk.SendHead is not null && (tail.Cb.TcpFlags & (TcpFlags.Syn | TcpFlags.Fin)) == 0)
        {
            tail.Cb.TcpFlags |= TcpFlags.Fin;
            tail.Cb.EndSeq++;
        }
        else
        {
            var skb = NewControlSkb(sk.WriteSeq, TcpFlags.Fin | TcpFlags.Ack);
            skb.Cb.EndSeq = sk.WriteSeq + 1;
            Entail(sk, skb);
        }
        sk.WriteSeq++;
        PushPendingFrames(sk, SendMss(sk, out _), NagleMode.Off);
    }

    /// <summary>
    /// tcp_v4_send_reset(): the answer to a segment no socket wants — RST with seq = its ACK, or RST|ACK
    /// acknowledging it when it carried none. Never in reply to a RST.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_ipv4.c tcp_v4_send_reset()</remarks>
    private void SendResetFor(Ipv4Address local, Ipv4Address remote, TcpSegment seg)
    {
        if ((seg.Flags & TcpFlags.Rst) != 0) return;
        TcpSeq seq = default, ack = default;
        byte flags = TcpFlags.Rst;
        if ((seg.Flags & TcpFlags.Ack) != 0) seq = seg.Ack;
        else
        {
            flags |= TcpFlags.Ack;
            ack = seg.Seq + (uint)seg.Payload.Length + ((seg.Flags & TcpFlags.Syn) != 0 ? 1u : 0) + ((seg.Flags & TcpFlags.Fin) != 0 ? 1u : 0);
        }
        var skb = _pool.Alloc(MaxTcpHeader);
        skb.Reserve(MaxTcpHeader);
        var h = skb.Push(TcpSegment.MinHeaderLength); // the header goes into the headroom, as every TCP header does
        new TcpHeaderRepr { SourcePort = seg.DestinationPort, DestinationPort = seg.SourcePort, Seq = seq, Ack = ack, Flags = flags }
            .Emit(h, 0, local, remote);
        skb.TransportHeader = skb.DataOffset;
        Mib.OutSegs++;
        Mib.OutRsts++;
        _output.Send(skb, new IpSendParams(local, remote, IpProtocol.Tcp, (byte)Sysctls.IpDefaultTtl, 0, PmtuDisc.Do));
    }

    /// <summary>
    /// tcp_slow_start_after_idle_check() / tcp_cwnd_restart(): nothing in flight and nothing sent for longer than
    /// the RTO — the window halves once per RTO of idleness, down to the initial window, and ssthresh keeps
    /// three quarters of what cwnd was. The idle time is counted in jiffies (tcp_jiffies32 − lsndtime): whole ticks,
    /// so an idle time of exactly one RTO restarts or not by where in their ticks the last send and now fall.
    /// </summary>
    /// <remarks>Linux: include/net/tcp.h tcp_slow_start_after_idle_check(), tcp_current_ssthresh(); net/ipv4/tcp_output.c tcp_cwnd_restart()</remarks>
    private void SlowStartAfterIdleCheck(TcpSock sk)
    {
        if (Sysctls.TcpSlowStartAfterIdle == 0 || sk.PacketsOut > 0 || sk.State is not (TcpState.Established or TcpState.CloseWait)) return;
        var delta = JiffiesClock.Elapsed(sk.LastSendTime, Now);
        var rto = sk.Rtt.Rto;
        if (delta <= rto) return;
        uint cwnd = sk.SndCwnd;
        if (sk.CaState is not (TcpCaState.Cwr or TcpCaState.Recovery)) sk.SndSsthresh = Math.Max(sk.SndSsthresh, (cwnd >> 1) + (cwnd >> 2));
        uint restart = Math.Min((uint)InitCwnd, cwnd);
        while ((delta -= rto) > Duration.Zero && cwnd > restart) cwnd >>= 1;
        sk.SndCwnd = Math.Max(cwnd, restart);
    }
}
