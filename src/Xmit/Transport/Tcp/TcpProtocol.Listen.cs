using Xmit.Buffers;
using Xmit.Network.Ipv4;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// The passive open as Linux does it: a SYN makes a small <see cref="RequestSock"/> in the listener's SYN queue (or,
/// when the queue is full, a SYN cookie and no state at all), the SYN-ACK is resent from the request's own timer,
/// and the full child socket is built only when the final ACK validates and the accept queue has room.
/// </summary>
public sealed partial class TcpProtocol
{
    /// <summary>What tcp_check_req() or cookie_v4_check() made of a segment.</summary>
    private enum ReqVerdict : byte
    {
        /// <summary>Consumed or dropped (NULL).</summary>
        Drop,
        /// <summary>Not for a request: the listener handles it (the listener socket returned).</summary>
        AsListener,
        /// <summary>The handshake completed: the child processes the segment.</summary>
        Child,
    }

    /// <summary>
    /// tcp_v4_rcv() on a listener's port: a request socket of the 4-tuple first (TCP_NEW_SYN_RECV in the ehash),
    /// then, for a segment without SYN, the SYN-cookie check, then the listener's own state machine. Takes the skb.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_ipv4.c tcp_v4_rcv(), tcp_v4_do_rcv(), tcp_v4_cookie_check()</remarks>
    private void ListenerReceive(TcpSock listener, SkBuff skb, TcpSegment seg, Ipv4Address source, Ipv4Address destination)
    {
        var tuple = new TcpFourTuple(destination, seg.DestinationPort, source, seg.SourcePort);
        TcpSock? child = null;
        var verdict = listener.SynQueue.TryGetValue(tuple, out var req) ? CheckReq(listener, req, seg, out child) : ReqVerdict.AsListener;
        if (verdict == ReqVerdict.AsListener && (seg.Flags & TcpFlags.Syn) == 0 && Sysctls.TcpSyncookies != 0)
            verdict = CookieCheck(listener, seg, tuple, out child);
        switch (verdict)
        {
            case ReqVerdict.Child:
                ChildProcess(listener, child!, skb, seg);
                return;
            case ReqVerdict.AsListener:
                ListenStateProcess(listener, seg, source, destination, skb.Cb.IpDsfield);
                break;
        }
        skb.Free(SkbDropReason.Consumed);
    }

    /// <summary>tcp_child_process(): the new child runs the segment through SYN-RECV; the listener's readers wake once it is established.</summary>
    /// <remarks>Linux: net/ipv4/tcp_minisocks.c tcp_child_process()</remarks>
    private void ChildProcess(TcpSock listener, TcpSock child, SkBuff skb, TcpSegment seg)
    {
        var state = child.State;
        StateProcess(child, skb, seg);
        if (state == TcpState.SynRecv && child.State != state) listener.RaiseDataReady();
    }

    /// <summary>tcp_rcv_state_process() in LISTEN: an ACK is answered with a RST, a RST or a SYN+FIN is dropped, a SYN asks for a connection.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_state_process() TCP_LISTEN</remarks>
    private void ListenStateProcess(TcpSock listener, TcpSegment seg, Ipv4Address source, Ipv4Address destination, byte ipDsfield)
    {
        byte f = seg.Flags;
        if ((f & TcpFlags.Ack) != 0)
        {
            SendResetFor(destination, source, seg);
            return;
        }
        if ((f & TcpFlags.Rst) != 0 || (f & TcpFlags.Syn) == 0 || (f & TcpFlags.Fin) != 0) return;
        ConnRequest(listener, seg, source, destination, ipDsfield);
    }

    /// <summary>
    /// inet_csk_reqsk_queue_is_full(): more requests than the backlog. On 6.18 the test is qlen &gt; sk_max_ack_backlog
    /// (older kernels had &gt;=): a listener with backlog 128 holds 129 requests before it sends cookies
    /// (linux-truth/tcp-listen-overflow.json, syn_flood: syn_queue 129, 871 cookies for 1000 SYNs).
    /// </summary>
    /// <remarks>Linux: include/net/inet_connection_sock.h inet_csk_reqsk_queue_is_full()</remarks>
    private static bool ReqskQueueIsFull(TcpSock listener) => listener.SynQueue.Count > listener.Backlog;

    /// <summary>sk_acceptq_is_full(): more children wait than the backlog (so backlog + 1 fit).</summary>
    /// <remarks>Linux: include/net/sock.h sk_acceptq_is_full()</remarks>
    private static bool AcceptqIsFull(TcpSock listener) => listener.AcceptQueue.Count > listener.Backlog;

    /// <summary>tcp_listendrop(): a segment for a listener was dropped.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_listendrop()</remarks>
    private void ListenDrop() => Mib.ListenDrops++;

    /// <summary>
    /// tcp_conn_request(): a SYN for a listener. A full SYN queue means a SYN cookie (tcp_syncookies 1, or always with
    /// 2) or a drop (0); a full accept queue drops the SYN (ListenOverflows); without cookies the last quarter of
    /// tcp_max_syn_backlog is refused too. Otherwise a request socket joins the SYN queue with its timer, and the
    /// SYN-ACK goes out.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_conn_request(), tcp_openreq_init(); net/ipv4/tcp_ipv4.c tcp_v4_conn_request()</remarks>
    private void ConnRequest(TcpSock listener, TcpSegment seg, Ipv4Address source, Ipv4Address destination, byte ipDsfield)
    {
        int syncookies = Sysctls.TcpSyncookies;
        bool wantCookie = false;
        if (syncookies == 2 || ReqskQueueIsFull(listener))
        {
            wantCookie = SynFloodAction();
            if (!wantCookie)
            {
                ListenDrop();
                return;
            }
        }
        if (AcceptqIsFull(listener))
        {
            Mib.ListenOverflows++;
            ListenDrop();
            return;
        }
        var opt = TcpOptions.Parse(seg.Options, syn: true);
        var tuple = new TcpFourTuple(destination, seg.DestinationPort, source, seg.SourcePort);
        var req = new RequestSock(listener, tuple)
        {
            RcvIsn = seg.Seq,
            Mss = opt.Mss != 0 ? opt.Mss : MssDefault,
            TstampOk = opt.HasTimestamp && Sysctls.TcpTimestamps != 0,
            TxHash = NewTxHash(), // tcp_conn_request(): net_tx_rndhash()
        };
        if (listener.UserMss > 0 && listener.UserMss < req.Mss) req.Mss = listener.UserMss;
        // A cookie can carry SACK and the window scale only in the timestamp (tcp_clear_options without one).
        if (!wantCookie || req.TstampOk)
        {
            req.WscaleOk = opt.WindowScale >= 0 && Sysctls.TcpWindowScaling != 0;
            req.SndWscale = req.WscaleOk ? (byte)opt.WindowScale : (byte)0;
            req.SackOk = opt.SackPermitted && Sysctls.TcpSack != 0;
        }
        if (req.TstampOk) req.TsRecent = opt.TsVal;
        // tcp_ecn_create_request(); a cookie carries ECN only in the timestamp, like SACK and the window scale.
        req.EcnOk = EcnCreateRequest(seg, ipDsfield) && (!wantCookie || req.TstampOk);
        var route = _output.Routes.Lookup(source);
        if (route is null)
        {
            ListenDrop();
            return;
        }
        if (!wantCookie)
        {
            int maxSynBacklog = Sysctls.TcpMaxSynBacklog;
            // Without cookies the last quarter of the queue is kept for peers proven alive (none are: no tcp_metrics).
            if (syncookies == 0 && maxSynBacklog - listener.SynQueue.Count < maxSynBacklog >> 2)
            {
                ListenDrop();
                return;
            }
            req.SntIsn = new TcpSeq(_random.NextUInt32());
        }
        else
        {
            // cookie_init_sequence(): the MSS rounds down to the table; the listener remembers when it last overflowed.
            int mss = req.Mss;
            req.SntIsn = _cookies.InitSequence(tuple, req.RcvIsn, ref mss, Now);
            req.Mss = mss;
            listener.LastSynqOverflow = Now; // tcp_synq_overflow()
            Mib.SyncookiesSent++;
        }
        OpenreqInitRwin(listener, req, route.EffectiveMtu, wantCookie ? req.Mss : 0);
        var foc = FastOpenCookie.None;
        if (!wantCookie)
        {
            req.SntSynack = Now; // the SYN-ACK goes out now, whoever sends it
            if (TryFastOpen(listener, req, seg, opt, route.EffectiveMtu, out foc) is { } child)
            {
                // The child answers with a SYN-ACK that acknowledges the data, and waits for accept() already.
                SendSynAck(child, req, cookie: false, foc);
                listener.RaiseDataReady();
                return;
            }
            HashRequest(listener, req);
        }
        SendSynAck(listener, req, cookie: wantCookie, foc);
    }

    /// <summary>tcp_syn_flood_action(): the SYN queue is full — a cookie if tcp_syncookies allows it (TCPReqQFullDoCookies), else a drop (TCPReqQFullDrop).</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_syn_flood_action()</remarks>
    private bool SynFloodAction()
    {
        if (Sysctls.TcpSyncookies != 0)
        {
            Mib.ReqQFullDoCookies++;
            return true;
        }
        Mib.ReqQFullDrop++;
        return false;
    }

    /// <summary>
    /// tcp_openreq_init_rwin(): the SYN-ACK's MSS option and window — the listener's buffer in segments of advmss
    /// less the timestamp option (of the cookie's MSS, rebuilding a cookie connection), its scale and the clamp.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_minisocks.c tcp_openreq_init_rwin(); net/ipv4/syncookies.c cookie_v4_check()</remarks>
    private void OpenreqInitRwin(TcpSock listener, RequestSock req, int mtu, int cookieMss)
    {
        req.AdvMss = mtu - Ipv4Packet.MinHeaderLength - TcpSegment.MinHeaderLength;
        if (listener.UserMss > 0 && listener.UserMss < req.AdvMss) req.AdvMss = listener.UserMss;
        int mss = cookieMss > 0 ? cookieMss : req.AdvMss - (req.TstampOk ? TimestampOptionLength : 0);
        (req.RcvWnd, req.RcvWscale, req.WindowClamp) =
            InitialWindow(FullSpace(listener), mss, req.WscaleOk, listener.WindowClamp, listener.RcvBufLocked, FullSpace(listener));
        if (!req.WscaleOk) req.RcvWscale = 0;
    }

    /// <summary>inet_csk_reqsk_queue_hash_add(): the request joins the SYN queue (young) with its timer at the first timeout.</summary>
    /// <remarks>Linux: net/ipv4/inet_connection_sock.c inet_csk_reqsk_queue_hash_add(), reqsk_queue_hash_req(); include/net/request_sock.h reqsk_queue_added()</remarks>
    private void HashRequest(TcpSock listener, RequestSock req)
    {
        req.Timeout = InitialRto; // tcp_timeout_init(): TCP_TIMEOUT_INIT
        req.Timer = new Time.Timer(_clock, () => ReqskTimerHandler(req), "tcp-synack");
        listener.SynQueue.Add(req.Tuple, req);
        listener.SynQueueYoung++;
        ResetTimer(req.Timer, req.Timeout);
    }

    /// <summary>
    /// inet_csk_reqsk_queue_drop(): the request leaves the SYN queue and its timer stops; false if it was not there.
    /// </summary>
    /// <remarks>Linux: net/ipv4/inet_connection_sock.c inet_csk_reqsk_queue_drop(), reqsk_queue_unlink(); include/net/request_sock.h reqsk_queue_removed()</remarks>
    private bool ReqskQueueDrop(TcpSock listener, RequestSock req)
    {
        if (!listener.SynQueue.Remove(req.Tuple)) return false;
        if (req.NumTimeout == 0) listener.SynQueueYoung--;
        if (req.Timer is { } t) _clock.Disarm(t);
        return true;
    }

    /// <summary>Every request of a listener that stops listening or is destroyed.</summary>
    private void DropRequests(TcpSock listener)
    {
        foreach (var req in listener.SynQueue.Values.ToArray()) ReqskQueueDrop(listener, req);
    }

    /// <summary>
    /// reqsk_timer_handler(): resend the SYN-ACK and wait twice as long, up to tcp_synack_retries expiries, then drop
    /// the request. When the queue is over half full of requests that already timed out, old ones get fewer retries
    /// (half of the room is kept for young ones). A request whose ACK was dropped for a full accept queue (acked)
    /// stays even if the resend fails.
    /// </summary>
    /// <remarks>Linux: net/ipv4/inet_connection_sock.c reqsk_timer_handler(), syn_ack_recalc(), tcp_reqsk_timeout(); net/ipv4/tcp_timer.c tcp_syn_ack_timeout()</remarks>
    private void ReqskTimerHandler(RequestSock req)
    {
        var listener = req.Listener;
        if (listener.State != TcpState.Listen)
        {
            ReqskQueueDrop(listener, req);
            return;
        }
        int maxRetries = Sysctls.TcpSynackRetries;
        int qlen = listener.SynQueue.Count;
        if (qlen << 1 > Math.Max(8, listener.Backlog))
        {
            int young = listener.SynQueueYoung << 1;
            while (maxRetries > 2)
            {
                if (qlen < young) break;
                maxRetries--;
                young <<= 1;
            }
        }
        bool expire = req.NumTimeout >= maxRetries;
        Mib.Timeouts++; // tcp_syn_ack_timeout()
        if (!expire && (RtxSynAck(listener, req) || req.Acked))
        {
            if (req.NumTimeout++ == 0) listener.SynQueueYoung--;
            ResetTimer(req.Timer!, ReqskTimeout(req));
            return;
        }
        ReqskQueueDrop(listener, req);
    }

    /// <summary>tcp_reqsk_timeout(): the first timeout doubled per expiry, at most TCP_RTO_MAX.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_reqsk_timeout()</remarks>
    private static Duration ReqskTimeout(RequestSock req)
    {
        long ns = req.Timeout.Nanoseconds << Math.Min(req.NumTimeout, 20);
        return Duration.Min(new Duration(ns), RtoMax);
    }

    /// <summary>tcp_rtx_synack(): resend the SYN-ACK (RetransSegs, TCPSynRetrans); true when it left.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_rtx_synack()</remarks>
    private bool RtxSynAck(TcpSock listener, RequestSock req)
    {
        if (SendSynAck(listener, req, cookie: false) != 0) return false;
        Mib.RetransSegs++;
        Mib.SynRetrans++;
        req.NumRetrans++;
        return true;
    }

    /// <summary>
    /// tcp_check_req(): a segment for a half-open connection. A retransmitted SYN gets the SYN-ACK again; a wrong ACK
    /// goes to the listener (a RST); a segment outside the window gets an ACK; RST or SYN in the window reset the
    /// request (EmbryonicRsts); a good ACK builds the child — or, when the accept queue is full, is dropped and the
    /// request marked acked so its timer keeps resending (tcp_abort_on_overflow 0).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_minisocks.c tcp_check_req(); net/ipv4/tcp_input.c tcp_paws_reject(), tcp_oow_rate_limited()</remarks>
    private ReqVerdict CheckReq(TcpSock listener, RequestSock req, TcpSegment seg, out TcpSock? child)
    {
        child = null;
        byte flg = (byte)(seg.Flags & (TcpFlags.Rst | TcpFlags.Syn | TcpFlags.Ack));
        var opt = TcpOptions.Parse(seg.Options, syn: false);
        // PAWS against the request's ts_recent: its stamp is taken as 2^num_timeout seconds ago, so an old RST passes.
        bool pawsReject = opt.HasTimestamp && req.TsRecent != 0 && (int)(req.TsRecent - opt.TsVal) > 0
            && !((seg.Flags & TcpFlags.Rst) != 0 && (1L << Math.Min(req.NumTimeout, 30)) > 60);
        var seq = seg.Seq;
        int len = seg.Payload.Length;
        var endSeq = seq + (uint)len + ((seg.Flags & TcpFlags.Syn) != 0 ? 1u : 0) + ((seg.Flags & TcpFlags.Fin) != 0 ? 1u : 0);

        if (seq == req.RcvIsn && flg == TcpFlags.Syn && !pawsReject)
        {
            // A retransmitted SYN: resend the SYN-ACK and restart the timer from now (like a fast retransmit).
            if (!OowRateLimited(ref req.LastOowAck, ref Mib.AckSkippedSynRecv) && RtxSynAck(listener, req) && req.Timer!.IsArmed)
                ResetTimer(req.Timer, Duration.Min(req.Timeout * (1L << Math.Min(req.NumTimeout, 20)), RtoMax));
            return ReqVerdict.Drop;
        }
        if ((flg & TcpFlags.Ack) != 0 && seg.Ack != req.SntIsn + 1) return ReqVerdict.AsListener;
        var windowEnd = req.RcvNxt + Math.Min(req.RcvWnd, 65535u); // tcp_synack_window(): the SYN-ACK's window is not scaled
        if (pawsReject || !InWindow(seq, endSeq, req.RcvNxt, windowEnd))
        {
            bool data = seq != endSeq && (seg.Flags & TcpFlags.Syn) == 0;
            if ((flg & TcpFlags.Rst) == 0 && (data || !OowRateLimited(ref req.LastOowAck, ref Mib.AckSkippedSynRecv))) ReqSendAck(listener, req);
            if (pawsReject) Mib.PawsEstabRejected++;
            return ReqVerdict.Drop;
        }
        if (opt.HasTimestamp && seq <= req.RcvNxt) req.TsRecent = opt.TsVal;
        if (seq == req.RcvIsn) flg &= unchecked((byte)~TcpFlags.Syn); // the SYN is outside the window that starts after it
        if ((flg & (TcpFlags.Rst | TcpFlags.Syn)) != 0)
        {
            Mib.AttemptFails++;
            EmbryonicReset(listener, req, seg, flg);
            return ReqVerdict.Drop;
        }
        if ((flg & TcpFlags.Ack) == 0) return ReqVerdict.Drop;
        child = SynRecvSock(listener, req, seg);
        if (child is null)
        {
            if (Sysctls.TcpAbortOnOverflow == 0)
            {
                req.Acked = true;
                return ReqVerdict.Drop;
            }
            EmbryonicReset(listener, req, seg, flg);
            return ReqVerdict.Drop;
        }
        // inet_csk_complete_hashdance(): the request leaves the SYN queue, the child joins the accept queue.
        ReqskQueueDrop(listener, req);
        ReqskQueueAdd(listener, child);
        return ReqVerdict.Child;
    }

    /// <summary>tcp_check_req()'s embryonic_reset: a RST to the sender (unless it sent one) and the request dropped.</summary>
    private void EmbryonicReset(TcpSock listener, RequestSock req, TcpSegment seg, byte flg)
    {
        if ((flg & TcpFlags.Rst) == 0) SendResetFor(req.Tuple.Local, req.Tuple.Remote, seg);
        ReqskQueueDrop(listener, req);
        Mib.EmbryonicRsts++;
    }

    /// <summary>tcp_in_window(): the segment starts at the window's left edge or overlaps the window.</summary>
    /// <remarks>Linux: net/ipv4/tcp_minisocks.c tcp_in_window()</remarks>
    private static bool InWindow(TcpSeq seq, TcpSeq endSeq, TcpSeq start, TcpSeq end) =>
        seq == start || (endSeq > start && seq < end) || (seq == end && seq == endSeq);

    /// <summary>inet_csk_reqsk_queue_add(): the child waits for accept().</summary>
    /// <remarks>Linux: net/ipv4/inet_connection_sock.c inet_csk_reqsk_queue_add(); include/net/sock.h sk_acceptq_added()</remarks>
    private static void ReqskQueueAdd(TcpSock listener, TcpSock child) => listener.AcceptQueue.Enqueue(child);

    /// <summary>
    /// cookie_v4_check(): an ACK that may answer one of our SYN cookies. Only within two minutes of the last cookie
    /// sent; a cookie that does not check out counts SyncookiesFailed and the listener answers the ACK (RST); a good
    /// one (SyncookiesRecv) rebuilds the request from the cookie's MSS and the options in the timestamp echo, and the
    /// child is made as from any request.
    /// </summary>
    /// <remarks>Linux: net/ipv4/syncookies.c cookie_v4_check(), tcp_get_cookie_sock(); include/net/tcp.h tcp_synq_no_recent_overflow()</remarks>
    private ReqVerdict CookieCheck(TcpSock listener, TcpSegment seg, in TcpFourTuple tuple, out TcpSock? child)
    {
        child = null;
        if ((seg.Flags & TcpFlags.Ack) == 0 || (seg.Flags & TcpFlags.Rst) != 0) return ReqVerdict.AsListener;
        if (listener.LastSynqOverflow is not { } last || Now < last - Duration.FromSeconds(1) || Now > last + SynCookies.Valid)
            return ReqVerdict.AsListener;
        int mss = _cookies.Check(tuple, seg.Ack, seg.Seq, Now);
        if (mss == 0)
        {
            Mib.SyncookiesFailed++;
            return ReqVerdict.AsListener;
        }
        Mib.SyncookiesRecv++;
        var opt = TcpOptions.Parse(seg.Options, syn: false);
        if (!SynCookies.DecodeTimestamp(opt.HasTimestamp, opt.TsEcr, Sysctls.TcpTimestamps, Sysctls.TcpSack, Sysctls.TcpWindowScaling,
                out bool sackOk, out bool wscaleOk, out byte sndWscale))
            return ReqVerdict.AsListener;
        var route = _output.Routes.Lookup(tuple.Remote);
        if (route is null) return ReqVerdict.Drop;
        var req = new RequestSock(listener, tuple)
        {
            RcvIsn = seg.Seq - 1, SntIsn = seg.Ack - 1, Mss = mss, SndWscale = sndWscale, SackOk = sackOk, WscaleOk = wscaleOk,
            TstampOk = opt.HasTimestamp,
            EcnOk = SynCookies.EcnOk(opt.HasTimestamp, opt.TsEcr, Sysctls.TcpEcn),
            TxHash = NewTxHash(), // cookie_v4_check(): net_tx_rndhash()
        };
        if (opt.HasTimestamp) req.TsRecent = opt.TsVal;
        OpenreqInitRwin(listener, req, route.EffectiveMtu, mss);
        child = SynRecvSock(listener, req, seg);
        if (child is null) return ReqVerdict.Drop;
        ReqskQueueAdd(listener, child);
        return ReqVerdict.Child;
    }

    /// <summary>
    /// tcp_v4_syn_recv_sock(): the full socket for a completed handshake, unless the accept queue is full
    /// (ListenOverflows and ListenDrops) or there is no route (ListenDrops).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_ipv4.c tcp_v4_syn_recv_sock()</remarks>
    private TcpSock? SynRecvSock(TcpSock listener, RequestSock req, TcpSegment ack)
    {
        if (AcceptqIsFull(listener))
        {
            Mib.ListenOverflows++;
            ListenDrop();
            return null;
        }
        var route = _output.Routes.Lookup(req.Tuple.Remote);
        if (route is null)
        {
            ListenDrop();
            return null;
        }
        return CreateOpenreqChild(listener, req, ack, route.EffectiveMtu);
    }

    /// <summary>
    /// tcp_create_openreq_child() with the socket-level part of sk_clone_lock(): the child takes the listener's
    /// settings and the request's sequence numbers, options and window, starts in SYN-RECV with the SYN-ACK as sent
    /// and acknowledged by this ACK, and joins the established hash (PassiveOpens).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_minisocks.c tcp_create_openreq_child(); net/ipv4/inet_connection_sock.c inet_csk_clone_lock(); net/core/sock.c sk_clone_lock()</remarks>
    private TcpSock CreateOpenreqChild(TcpSock listener, RequestSock req, TcpSegment ack, int mtu)
    {
        var t = req.Tuple;
        var child = new TcpSock(this, _clock, listener.SndBuf, listener.RcvBuf)
        {
            DefaultTtl = listener.DefaultTtl, Parent = listener, LocalAddress = t.Local,
            RemoteAddress = t.Remote, RemotePort = t.RemotePort, Tos = listener.Tos, Ttl = listener.Ttl, NonAgle = listener.NonAgle,
            SndBufLocked = listener.SndBufLocked, RcvBufLocked = listener.RcvBufLocked,
            UserMss = listener.UserMss, SndTimeo = listener.SndTimeo, RcvTimeo = listener.RcvTimeo,
            // The child runs the listener's algorithm with state of its own (tcp_assign_congestion_control).
            CongestionOps = NewCongestionOps(listener.CongestionOps.Name),
            Priority = listener.Priority, // sk_clone_lock() copies sk_priority
            TxHash = req.TxHash,
            ReuseAddr = listener.ReuseAddr, // and sk_reuse
            ZerocopyEnabled = listener.ZerocopyEnabled, // and sk_flags (SOCK_ZEROCOPY); sk_zckey starts again at 0
        };
        child.TsFlags = listener.TsFlags; // and sk_tsflags, sk_tskey
        child.TsKey = listener.TsKey;
        _sockets.Add(child);
        HashPort(child, t.LocalPort);
        child.Iss = req.SntIsn;
        child.InetId = (ushort)_random.NextUInt32(0x10000); // tcp_v4_syn_recv_sock(): get_random_u16()
        InitConnection(child, mtu);
        // The SYN-ACK is sent; this ACK acknowledges it (tcp_rcv_state_process takes snd_una up to it).
        child.SndNxt = child.WriteSeq = child.PushedSeq = child.SndSml = req.SntIsn + 1;
        child.RcvNxt = child.CopiedSeq = child.RcvWup = req.RcvNxt;
        child.MssClamp = req.Mss;
        child.WscaleOk = req.WscaleOk;
        child.SndWscale = req.WscaleOk ? req.SndWscale : (byte)0;
        child.RcvWscale = req.WscaleOk ? req.RcvWscale : (byte)0;
        child.SackOk = req.SackOk;
        child.TimestampOk = req.TstampOk;
        child.Ecn = req.EcnOk ? TcpEcnFlags.Ok : TcpEcnFlags.None; // tcp_ecn_openreq_child()
        if (child.TimestampOk) child.TsRecent = req.TsRecent;
        child.RcvWnd = child.RcvSsthresh = req.RcvWnd;
        child.WindowClamp = req.WscaleOk ? req.WindowClamp : Math.Min(req.WindowClamp, 65535u);
        child.SndWnd = (uint)ack.Window << child.SndWscale;
        child.SndWl1 = req.RcvIsn;
        child.MaxWindow = child.SndWnd;
        SyncMss(child, mtu); // tcp_v4_syn_recv_sock(), after tcp_create_openreq_child() set max_window
        InitRcvMss(child);
        // The handshake's RTT: from the SYN-ACK's send time if it was sent once, else from the timestamp echo
        // (tcp_synack_rtt_meas); a cookie's SYN-ACK time is not known (snt_synack 0).
        child.SynSentAt = req.SntSynack ?? default;
        child.Retransmits = req.SntSynack is null ? Math.Max(req.NumRetrans, 1) : req.NumRetrans;
        child.State = TcpState.SynRecv;
        // tcp_create_openreq_child() counts the SYN and the SYN-ACK's retransmissions; tcp_child_process() this ACK.
        child.SegsIn = 2;
        if (ack.Payload.Length > 0) child.DataSegsIn = 1;
        child.TotalRetrans = (uint)req.NumRetrans;
        child.RcvTstamp = Now;
        HashEstablished(child);
        Mib.PassiveOpens++;
        return child;
    }

    /// <summary>
    /// tcp_v4_send_synack() / tcp_make_synack(): the SYN-ACK of a request, built from it alone (not charged to any
    /// socket): MSS, SACK-permitted, timestamp (a cookie's carries the options) and window scale as in
    /// tcp_synack_options(), the unscaled window, IP ID 0 under DF (ip_build_and_send_pkt). Returns 0 when it left.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_ipv4.c tcp_v4_send_synack(); net/ipv4/tcp_output.c tcp_make_synack(), tcp_synack_options(); net/ipv4/ip_output.c ip_build_and_send_pkt()</remarks>
    private int SendSynAck(TcpSock listener, RequestSock req, bool cookie, FastOpenCookie foc = default)
    {
        Span<byte> opts = stackalloc byte[40];
        var w = new TcpOptionWriter(opts);
        w.Mss((ushort)req.AdvMss);
        if (req.TstampOk)
        {
            uint tsval = cookie ? SynCookies.InitTimestamp(TsNow, req.WscaleOk, req.SndWscale, req.SackOk, req.EcnOk) : TsNow;
            w.Timestamp(tsval, req.TsRecent, req.SackOk);
        }
        else if (req.SackOk) w.SackPermitted();
        if (req.WscaleOk) w.WindowScale(req.RcvWscale);
        // tcp_synack_options(): the Fast Open cookie last, if it still fits.
        if (foc.Length > 0 && opts.Length - w.Length >= TcpOptionWriter.FastOpenSpace(foc.Length, foc.Exp))
            w.FastOpen(foc.Value.AsSpan(0, foc.Length), foc.Exp);
        if (!cookie) req.SntSynack ??= Now;
        // tcp_ecn_make_synack(): ECE alone agrees to ECN; the SYN-ACK itself goes Not-ECT (the listener's TOS).
        byte flags = (byte)(TcpFlags.Syn | TcpFlags.Ack | (req.EcnOk ? TcpFlags.Ece : 0));
        return SendRequestSegment(listener, req, flags, req.SntIsn, (ushort)Math.Min(req.RcvWnd, 65535u), opts[..w.Length]);
    }

    /// <summary>
    /// tcp_v4_reqsk_send_ack(): the ACK a half-open connection answers an out-of-window segment with: seq snt_isn+1,
    /// the window the SYN-ACK offered (scaled as it announced), the timestamp.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_ipv4.c tcp_v4_reqsk_send_ack(), tcp_v4_send_ack()</remarks>
    private void ReqSendAck(TcpSock listener, RequestSock req)
    {
        Span<byte> opts = stackalloc byte[12];
        var w = new TcpOptionWriter(opts);
        if (req.TstampOk) w.Timestamp(TsNow, req.TsRecent, sackPermitted: false);
        ushort window = (ushort)Math.Min(req.RcvWnd >> req.RcvWscale, 65535u);
        SendRequestSegment(listener, req, TcpFlags.Ack, req.SntIsn + 1, window, opts[..w.Length]);
    }

    /// <summary>A header-only segment of a request socket, ACKing rcv_nxt, sent with the listener's TTL, TOS and priority.</summary>
    private int SendRequestSegment(TcpSock listener, RequestSock req, byte flags, TcpSeq seq, ushort window, ReadOnlySpan<byte> options)
    {
        var t = req.Tuple;
        int hl = TcpSegment.MinHeaderLength + options.Length;
        var skb = _pool.Alloc(MaxTcpHeader);
        skb.Reserve(MaxTcpHeader);
        var h = skb.Push(hl);
        skb.TransportHeader = skb.DataOffset;
        options.CopyTo(h[TcpSegment.MinHeaderLength..]);
        new TcpHeaderRepr
        {
            SourcePort = t.LocalPort, DestinationPort = t.RemotePort, Seq = seq, Ack = req.RcvNxt, Flags = flags, Window = window,
        }.Emit(h, options.Length, t.Local, t.Remote);
        skb.Priority = listener.Priority;
        skb.Hash = req.TxHash; // tcp_make_synack(): skb_set_hash(tcp_rsk(req)->txhash)
        Mib.OutSegs++;
        bool df = listener.PmtuDisc is not (PmtuDisc.Dont or PmtuDisc.Omit);
        // Under DF the IP ID is 0; without it, a random one for these option-laden SYN-ACKs.
        ushort? ident = df ? null : (ushort)_random.NextUInt32(0x10000);
        int rc = _output.Send(skb, new IpSendParams(t.Local, t.Remote, IpProtocol.Tcp, listener.EffectiveTtl, listener.Tos,
            df ? PmtuDisc.Do : PmtuDisc.Dont, ident));
        return rc == NetXmit.Congestion ? 0 : NetXmit.ToErrno(rc);
    }
}
