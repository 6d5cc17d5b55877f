using Xmit.Buffers;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>A Fast Open option to send: -1 none, 0 a cookie request, else a cookie of that many bytes (tcp_fastopen_cookie).</summary>
internal readonly record struct FastOpenCookie(int Length, bool Exp, byte[]? Value)
{
    public static readonly FastOpenCookie None = new(-1, false, null);
}

/// <summary>
/// TCP Fast Open (RFC 7413), server side: a SYN with a valid cookie (or, when cookies are not required, any SYN
/// with data) makes the child socket at once, its data already in the receive queue and the child in the
/// accept queue; the SYN-ACK acknowledges the data and the child resends it from its own retransmission timer
/// until the handshake completes. A SYN that asks for a cookie gets one in the SYN-ACK.
/// </summary>
public sealed partial class TcpProtocol
{
    private FastOpenKeys? _randomFastOpenKeys;

    /// <summary>
    /// tcp_fastopen_get_ctx(): the listener's keys, else net.ipv4.tcp_fastopen_key, else the key drawn from the
    /// host's seeded randomness on first use (tcp_fastopen_init_key_once).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_fastopen.c tcp_fastopen_get_ctx(), tcp_fastopen_init_key_once()</remarks>
    internal FastOpenKeys FastOpenKeysFor(TcpSock sk)
    {
        if (sk.FastOpenKeys is { } own) return own;
        if (Sysctls.TcpFastopenKey is { } host) return host;
        if (_randomFastOpenKeys is null)
        {
            Span<byte> key = stackalloc byte[FastOpenKeys.KeyLength];
            for (int i = 0; i < key.Length; i += 4) System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(key[i..], _random.NextUInt32());
            _randomFastOpenKeys = FastOpenKeys.FromBytes(key)!;
        }
        return _randomFastOpenKeys;
    }

    /// <summary>fastopen_queue_tune(): the TFO queue's length, capped by somaxconn.</summary>
    /// <remarks>Linux: include/net/inet_connection_sock.h fastopen_queue_tune()</remarks>
    internal static void FastOpenQueueTune(TcpSock listener, int backlog) => listener.FastOpenMaxQlen = Math.Min(backlog, 4096);

    /// <summary>TCP_FASTOPEN: only on a closed or listening socket, a non-negative queue length.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c do_tcp_setsockopt() TCP_FASTOPEN</remarks>
    public int SetFastOpen(TcpSock sk, int qlen)
    {
        if (qlen < 0 || sk.State is not (TcpState.Close or TcpState.Listen)) return -(int)Errno.EINVAL;
        FastOpenQueueTune(sk, qlen);
        return 0;
    }

    /// <summary>TCP_FASTOPEN_NO_COOKIE: 0 or 1 on a closed or listening socket.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c do_tcp_setsockopt() TCP_FASTOPEN_NO_COOKIE</remarks>
    public int SetFastOpenNoCookie(TcpSock sk, int value)
    {
        if (value is < 0 or > 1 || sk.State is not (TcpState.Close or TcpState.Listen)) return -(int)Errno.EINVAL;
        sk.FastOpenNoCookie = value != 0;
        return 0;
    }

    /// <summary>TCP_FASTOPEN_KEY: 16 bytes (a primary key) or 32 (primary and backup) for this socket's cookies.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c do_tcp_setsockopt() TCP_FASTOPEN_KEY; net/ipv4/tcp_fastopen.c tcp_fastopen_reset_cipher()</remarks>
    public int SetFastOpenKey(TcpSock sk, ReadOnlySpan<byte> key)
    {
        if (FastOpenKeys.FromBytes(key) is not { } keys) return -(int)Errno.EINVAL;
        sk.FastOpenKeys = keys;
        return 0;
    }

    /// <summary>The TFO queue length TCP_FASTOPEN reads back.</summary>
    public static int FastOpenQueueLength(TcpSock sk) => sk.FastOpenMaxQlen;

    /// <summary>inet_listen()'s part: with 0x400 and 0x2 in tcp_fastopen, a listener without TCP_FASTOPEN gets a TFO queue of its backlog.</summary>
    /// <remarks>Linux: net/ipv4/af_inet.c __inet_listen_sk()</remarks>
    private void FastOpenListen(TcpSock sk, int backlog)
    {
        int flags = Sysctls.TcpFastopen;
        if ((flags & FastOpenFlags.ServerWithoutSockopt) != 0 && (flags & FastOpenFlags.ServerEnable) != 0 && sk.FastOpenMaxQlen == 0)
            FastOpenQueueTune(sk, backlog);
    }

    /// <summary>tcp_fastopen_queue_check(): the listener takes Fast Open children and has room for one more (TCPFastOpenListenOverflow when not).</summary>
    /// <remarks>Linux: net/ipv4/tcp_fastopen.c tcp_fastopen_queue_check()</remarks>
    private bool FastOpenQueueCheck(TcpSock listener)
    {
        if (listener.FastOpenMaxQlen == 0) return false;
        if (listener.FastOpenQlen >= listener.FastOpenMaxQlen)
        {
            Mib.FastOpenListenOverflow++;
            return false;
        }
        return true;
    }

    /// <summary>tcp_fastopen_no_cookie(): the sysctl bit, or TCP_FASTOPEN_NO_COOKIE on the socket (no per-route metric here).</summary>
    /// <remarks>Linux: net/ipv4/tcp_fastopen.c tcp_fastopen_no_cookie()</remarks>
    private bool FastOpenNoCookie(TcpSock sk, int flag) => (Sysctls.TcpFastopen & flag) != 0 || sk.FastOpenNoCookie;

    /// <summary>
    /// tcp_try_fastopen(): the child for a SYN that may open at once, or null; <paramref name="synAckCookie"/> is
    /// the option the SYN-ACK carries — the valid cookie for a request or a wrong cookie (the SYN's data is then
    /// not taken), nothing when the child was made.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_fastopen.c tcp_try_fastopen()</remarks>
    private TcpSock? TryFastOpen(TcpSock listener, RequestSock req, TcpSegment syn, in TcpOptions opt, int mtu, out FastOpenCookie synAckCookie)
    {
        synAckCookie = FastOpenCookie.None;
        bool synData = syn.Payload.Length > 0; // a SYN with FIN never gets here (tcp_rcv_state_process drops it)
        if (opt.FastOpenLength == 0) Mib.FastOpenCookieReqd++;
        if ((Sysctls.TcpFastopen & FastOpenFlags.ServerEnable) == 0 || !(synData || opt.FastOpenLength >= 0) || !FastOpenQueueCheck(listener))
            return null;
        var keys = FastOpenKeysFor(listener);
        var (local, remote) = (req.Tuple.Local, req.Tuple.Remote);
        var valid = new FastOpenCookie(FastOpenKeys.CookieSize, opt.FastOpenExp, keys.Cookie(0, remote, local));
        int match = 0;
        bool open = synData && FastOpenNoCookie(listener, FastOpenFlags.ServerCookieNotRequired);
        if (!open && opt.FastOpenLength > 0)
        {
            match = keys.Check(opt.FastOpenCookie.AsSpan(0, opt.FastOpenLength), remote, local);
            if (match == 0) Mib.FastOpenPassiveFail++;
            open = match > 0;
        }
        if (open)
        {
            var child = FastOpenCreateChild(listener, req, syn, mtu);
            if (child is not null)
            {
                // A cookie of the backup key is answered with the primary's, so the client moves to it.
                if (match == 2)
                {
                    synAckCookie = valid;
                    Mib.FastOpenPassiveAltKey++;
                }
                Mib.FastOpenPassive++;
                return child;
            }
            Mib.FastOpenPassiveFail++;
        }
        if (opt.FastOpenLength >= 0) synAckCookie = valid;
        return null;
    }

    /// <summary>
    /// tcp_fastopen_create_child() and tcp_fastopen_add_skb(): the child as for a completed handshake but still in
    /// SYN-RECV, its send window the SYN's (unscaled), the SYN's data (a copy) in its receive queue and rcv_nxt
    /// past it, the SYN-ACK timer running on the child's retransmission timer, the child in the accept queue.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_fastopen.c tcp_fastopen_create_child(), tcp_fastopen_add_skb(); net/ipv4/tcp_input.c tcp_conn_request()</remarks>
    private TcpSock? FastOpenCreateChild(TcpSock listener, RequestSock req, TcpSegment syn, int mtu)
    {
        if (AcceptqIsFull(listener)) return null; // tcp_v4_syn_recv_sock() refuses, as for any child
        var child = CreateOpenreqChild(listener, req, syn, mtu);
        listener.FastOpenQlen++;
        child.FastOpenReq = req;
        // As in Linux's child, snd_una starts past the SYN-ACK: the window the SYN offered is all for data.
        child.SndUna = req.SntIsn + 1;
        child.SndWnd = syn.Window; // RFC 7323: the window of a SYN is never scaled
        child.MaxWindow = child.SndWnd;
        child.SegsIn = 1;
        child.DataSegsIn = syn.Payload.Length > 0 ? 1u : 0;
        req.Timeout = InitialRto;
        child.PendingTimer = TcpXmitTimer.Retransmit;
        ResetTimer(child.RetransmitTimer, req.Timeout);
        InitTransfer(child);
        int len = syn.Payload.Length;
        if (len > 0)
        {
            var skb = _pool.Alloc(len);
            syn.Payload.CopyTo(skb.Put(len));
            skb.Cb.Seq = req.RcvIsn + 1;
            skb.Cb.EndSeq = req.RcvIsn + 1 + (uint)len;
            child.SetOwnerR(skb);
            child.ReceiveQueue.Enqueue(skb);
            child.SynDataAcked = true;
            child.BytesReceived = (ulong)len;
        }
        // The data is unread (copied_seq stays at the SYN); the window is reckoned from past it.
        child.RcvNxt = child.RcvWup = req.RcvIsn + 1 + (uint)len;
        req.RcvNxtAfterData = child.RcvNxt;
        ReqskQueueAdd(listener, child);
        return child;
    }

    /// <summary>
    /// tcp_fastopen_synack_timer(): the child's SYN-ACK was not acknowledged — resend it (whatever the device
    /// says: an accepted child should not give up easily), up to tcp_synack_retries + 1 times, then the
    /// connection fails (ETIMEDOUT); the first expiry lowers cwnd as tcp_enter_loss does.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_fastopen_synack_timer(), tcp_retransmit_timer()</remarks>
    private void FastOpenSynAckTimer(TcpSock sk, RequestSock req)
    {
        Mib.Timeouts++; // tcp_syn_ack_timeout()
        if (req.NumTimeout >= Sysctls.TcpSynackRetries + 1)
        {
            sk.Error = sk.Error != Errno.OK ? sk.Error : Errno.ETIMEDOUT;
            Mib.AbortOnTimeout++; // tcp_write_err()
            Done(sk);
            return;
        }
        if (sk.Retransmits == 1) EnterLoss(sk);
        RtxSynAck(sk, req);
        req.NumTimeout++;
        UpdateRtoStats(sk);
        sk.PendingTimer = TcpXmitTimer.Retransmit;
        ResetTimer(sk.RetransmitTimer, ReqskTimeout(req));
    }

    /// <summary>
    /// tcp_check_req() for a Fast Open child (fastopen true): a retransmitted SYN gets the SYN-ACK again (rate
    /// limited) and is dropped; true when the segment goes on through the child's state machine.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_minisocks.c tcp_check_req(); net/ipv4/tcp_input.c tcp_rcv_state_process()</remarks>
    private bool FastOpenCheckReq(TcpSock sk, RequestSock req, TcpSegment seg)
    {
        byte flg = (byte)(seg.Flags & (TcpFlags.Rst | TcpFlags.Syn | TcpFlags.Ack));
        if (seg.Seq != req.RcvIsn || flg != TcpFlags.Syn) return true;
        if (!OowRateLimited(ref req.LastOowAck, ref Mib.AckSkippedSynRecv)) RtxSynAck(sk, req);
        return false;
    }

    /// <summary>
    /// tcp_rcv_state_process() SYN-RECV for a Fast Open child: the ACK must not be older than snd_una (which
    /// starts past the SYN-ACK) nor past snd_nxt (data may have gone out already). Data the ACK covers is
    /// acknowledged as in any state; the request is released (reqsk_fastopen_remove) and the retransmission
    /// timer is re-armed for data in flight.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_state_process(), tcp_rcv_synrecv_state_fastopen(), tcp_synack_rtt_meas(); net/ipv4/tcp_fastopen.c reqsk_fastopen_remove()</remarks>
    private bool FastOpenSynRecvAck(TcpSock sk, TcpSegment seg, in TcpOptions opt)
    {
        if (seg.Ack < sk.SndUna || seg.Ack > sk.SndNxt) return false;
        if (sk.PacketsOut == 0) AckSyn(sk, opt);
        else
        {
            // The handshake's RTT from the echo of the SYN-ACK's timestamp, then the data's ACK.
            if (sk.TimestampOk && opt.TsEcr != 0) sk.Rtt.Sample((long)(TsNow - opt.TsEcr) * 1000, sk.SndUna, sk.SndNxt);
            if (!Ack(sk, seg, opt)) return false;
        }
        FastOpenRemove(sk);
        UpdateRtoTime(sk);
        sk.Retransmits = 0;
        sk.RetransStamp = null;
        RearmRto(sk);
        return true;
    }

    /// <summary>reqsk_fastopen_remove(): the child no longer needs its request; the listener's TFO queue shrinks.</summary>
    /// <remarks>Linux: net/ipv4/tcp_fastopen.c reqsk_fastopen_remove()</remarks>
    internal void FastOpenRemove(TcpSock sk)
    {
        if (sk.FastOpenReq is not { } req) return;
        sk.FastOpenReq = null;
        if (req.Listener.FastOpenQlen > 0) req.Listener.FastOpenQlen--;
    }
}
