using Xmit.Buffers;
using Xmit.Configuration;
using Xmit.Diagnostics;
using Xmit.Network.Ipv4;
using Xmit.Sockets;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// TCP over IPv4: sockets and their lookup, the connection calls (bind, listen, accept, connect, shutdown,
/// close), and — in the partial files — the send path (tcp_sendmsg → tcp_write_xmit → tcp_transmit_skb),
/// the receive path (tcp_v4_rcv → tcp_rcv_state_process / tcp_ack / tcp_data_queue) and the timers.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp.c, net/ipv4/tcp_ipv4.c, net/ipv4/inet_connection_sock.c</remarks>
public sealed partial class TcpProtocol : IIpProtocol
{
    /// <summary>TCP_INFINITE_SSTHRESH.</summary>
    public const uint InfiniteSsthresh = 0x7fffffff;
    /// <summary>TCP_TIMEOUT_INIT: the RTO before any RTT sample (1 s).</summary>
    public static readonly Duration InitialRto = Duration.FromSeconds(1);
    /// <summary>TCP_RTO_MIN (200 ms) and TCP_RTO_MAX (120 s).</summary>
    public static readonly Duration RtoMin = Duration.FromMilliseconds(200), RtoMax = Duration.FromSeconds(120);
    /// <summary>TCP_DELACK_MIN / TCP_ATO_MIN (40 ms) and TCP_DELACK_MAX (200 ms).</summary>
    public static readonly Duration AtoMin = Duration.FromMilliseconds(40), DelackMax = Duration.FromMilliseconds(200);
    /// <summary>TCP_TIMEWAIT_LEN (60 s).</summary>
    public static readonly Duration TimeWaitLength = Duration.FromSeconds(60);
    /// <summary>
    /// MAX_TCP_HEADER: headroom reserved in every TCP skb for TCP, IP and link headers, L1_CACHE_ALIGN(128 +
    /// MAX_HEADER) = 256 on this kernel: with the shared info the head fits the 576-byte small-head cache, so an
    /// skb is charged 832 bytes before its data (measured: linux-truth/tcp-fill-drain.json per_skb_charge).
    /// </summary>
    public const int MaxTcpHeader = 256;
    /// <summary>TCP_MAX_QUICKACKS.</summary>
    public const int MaxQuickAcks = 16;
    /// <summary>TCP_MSS_DEFAULT / TCP_MIN_MSS.</summary>
    public const int MssDefault = 536, MinMss = 88;

    private readonly SkBuffPool _pool;
    private readonly SnmpMib _mib;
    private readonly Ipv4Output _output;
    private readonly IScheduler _clock;
    private readonly DeterministicRandom _random;
    private readonly DeterministicRandom _txHashes;

    /// <summary>net_tx_rndhash() for a new connection's sk_txhash (or a request socket's, which its child inherits).</summary>
    internal uint NewTxHash() => Sock.NewTxHash(_txHashes);
    private readonly SynCookies _cookies;
    /// <summary>Every socket that exists (until it is destroyed): what host shutdown frees.</summary>
    private readonly List<TcpSock> _sockets = [];
    /// <summary>The established hash (ehash): connected sockets by 4-tuple, from SYN-SENT or their creation as a child until CLOSE.</summary>
    private readonly Dictionary<TcpFourTuple, TcpSock> _established = [];
    /// <summary>The listening hash (lhash): listeners by port.</summary>
    private readonly Dictionary<ushort, List<TcpSock>> _listeners = [];
    /// <summary>The bind hash (bhash): every socket holding a port, until it is destroyed.</summary>
    private readonly Dictionary<ushort, List<TcpSock>> _bound = [];

    public TcpProtocol(SkBuffPool pool, SnmpMib mib, Ipv4Output output, IScheduler clock, DeterministicRandom random, Sysctls sysctls)
    {
        _pool = pool;
        _mib = mib;
        _output = output;
        _clock = clock;
        _random = random;
        _cookies = new SynCookies(random.Fork(0x5c)); // syncookie_secret: a stream of its own, so the ISNs drawn do not move
        _txHashes = random.Fork(0x7a); // sk_txhash values: a stream of their own too
        Sysctls = sysctls;
    }

    public Sysctls Sysctls { get; }
    public byte Protocol => IpProtocol.Tcp;
    public IReadOnlyList<TcpSock> Sockets => _sockets;
    public TcpMib Mib { get; } = new();

    /// <summary>TCP's tracepoints (inet_sock_set_state, tcp_probe, tcp_retransmit_skb, sock_exceed_buf_limit); null: none.</summary>
    public ITcpTracepoints? Trace { get; set; }

    private ulong _sockCookies;

    internal ulong NextCookie() => ++_sockCookies;
    /// <summary>Sockets in the established hash: every connection that is neither listening nor closed.</summary>
    public int EstablishedCount => _established.Count;
    private Instant Now => _clock.Now;

    /// <summary>socket(AF_INET, SOCK_STREAM, 0): buffers from tcp_wmem[1] / tcp_rmem[1].</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_init_sock()</remarks>
    public TcpSock Create()
    {
        var sk = new TcpSock(this, _clock, Sysctls.TcpWmem.Default, Sysctls.TcpRmem.Default)
        {
            DefaultTtl = (byte)Sysctls.IpDefaultTtl,
            CongestionOps = NewCongestionOps(Sysctls.TcpCongestionControl),
        };
        _sockets.Add(sk);
        return sk;
    }

    private ITcpCongestionOps NewCongestionOps(string name) =>
        TcpCongestion.Create(name, _clock, Sysctls.Cubic) ?? new Cubic(_clock, Sysctls.Cubic);

    /// <summary>bind(): a port in use by another socket is EADDRINUSE unless both set SO_REUSEADDR and neither listens.</summary>
    /// <remarks>Linux: net/ipv4/af_inet.c __inet_bind(); net/ipv4/inet_connection_sock.c inet_csk_get_port()</remarks>
    public int Bind(TcpSock sk, Ipv4Address address, ushort port)
    {
        if (sk.State != TcpState.Close || sk.LocalPort != 0) return -(int)Errno.EINVAL;
        // inet_addr_valid_or_nonlocal(): IP_FREEBIND or ip_nonlocal_bind lets a socket bind an address not (yet) local.
        if (!address.IsUnspecified && !_output.Addresses.IsLocal(address) && !sk.FreeBind && Sysctls.IpNonlocalBind == 0)
            return -(int)Errno.EADDRNOTAVAIL;
        if (port == 0)
        {
            port = PickEphemeral();
            if (port == 0) return -(int)Errno.EADDRINUSE;
        }
        else if (_bound.TryGetValue(port, out var holders))
        {
            foreach (var s in holders)
                if (s != sk && (s.LocalAddress.IsUnspecified || address.IsUnspecified || s.LocalAddress == address)
                    && !(s.ReuseAddr && sk.ReuseAddr && s.State != TcpState.Listen))
                    return -(int)Errno.EADDRINUSE;
        }
        sk.LocalAddress = address;
        HashPort(sk, port);
        return 0;
    }

    /// <summary>inet_bind_hash(): the socket takes <paramref name="port"/> in the bind hash (a child inherits its listener's).</summary>
    /// <remarks>Linux: net/ipv4/inet_hashtables.c inet_bind_hash(), __inet_inherit_port()</remarks>
    private void HashPort(TcpSock sk, ushort port)
    {
        sk.LocalPort = port;
        if (!_bound.TryGetValue(port, out var holders)) _bound[port] = holders = [];
        holders.Add(sk);
    }

    /// <summary>inet_put_port(): the port is free again when its last socket is destroyed.</summary>
    /// <remarks>Linux: net/ipv4/inet_hashtables.c inet_put_port()</remarks>
    private void PutPort(TcpSock sk)
    {
        if (sk.LocalPort == 0 || !_bound.TryGetValue(sk.LocalPort, out var holders)) return;
        holders.Remove(sk);
        if (holders.Count == 0) _bound.Remove(sk.LocalPort);
    }

    /// <summary>inet_ehash_nolisten(): a connection joins the established hash; false if its 4-tuple is taken.</summary>
    /// <remarks>Linux: net/ipv4/inet_hashtables.c inet_ehash_insert(), inet_ehash_nolisten()</remarks>
    private bool HashEstablished(TcpSock sk) =>
        _established.TryAdd(new TcpFourTuple(sk.LocalAddress, sk.LocalPort, sk.RemoteAddress, sk.RemotePort), sk);

    /// <summary>inet_unhash(): out of the established or listening hash (on the way to CLOSE).</summary>
    /// <remarks>Linux: net/ipv4/inet_hashtables.c inet_unhash()</remarks>
    private void Unhash(TcpSock sk)
    {
        var key = new TcpFourTuple(sk.LocalAddress, sk.LocalPort, sk.RemoteAddress, sk.RemotePort);
        if (_established.TryGetValue(key, out var s) && s == sk) _established.Remove(key);
        if (_listeners.TryGetValue(sk.LocalPort, out var list) && list.Remove(sk) && list.Count == 0) _listeners.Remove(sk.LocalPort);
    }

    private ushort PickEphemeral() => EphemeralPort.Pick(_random, Sysctls.LocalPortRange, PortUsed);

    private bool PortUsed(ushort port) => _bound.ContainsKey(port);

    /// <summary>listen(): an unbound socket gets an ephemeral port; the backlog is capped by somaxconn (4096).</summary>
    /// <remarks>Linux: net/ipv4/af_inet.c inet_listen(); inet_csk_listen_start()</remarks>
    public int Listen(TcpSock sk, int backlog)
    {
        if (sk.State is not (TcpState.Close or TcpState.Listen)) return -(int)Errno.EINVAL;
        if (sk.LocalPort == 0)
        {
            int rc = Bind(sk, Ipv4Address.Any, 0);
            if (rc < 0) return rc;
        }
        sk.Backlog = Math.Min(Math.Max(backlog, 0), 4096);
        if (sk.State != TcpState.Listen)
        {
            FastOpenListen(sk, backlog);
            if (!_listeners.TryGetValue(sk.LocalPort, out var list)) _listeners[sk.LocalPort] = list = [];
            list.Add(sk);
        }
        sk.State = TcpState.Listen;
        return 0;
    }

    /// <summary>accept(): the oldest established child, or EAGAIN (EINVAL on a socket that does not listen).</summary>
    /// <remarks>Linux: net/ipv4/inet_connection_sock.c inet_csk_accept()</remarks>
    public TcpSock? Accept(TcpSock listener, out Errno error)
    {
        error = Errno.OK;
        if (listener.State != TcpState.Listen)
        {
            error = Errno.EINVAL;
            return null;
        }
        if (listener.AcceptQueue.Count == 0)
        {
            error = Errno.EAGAIN;
            return null;
        }
        var child = listener.AcceptQueue.Dequeue();
        child.Parent = null;
        return child;
    }

    /// <summary>
    /// connect(): pick the source address and port, choose the ISN, send the SYN and move to SYN-SENT. The
    /// caller waits for ESTABLISHED (or gets EINPROGRESS when non-blocking).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_ipv4.c tcp_v4_connect(); net/ipv4/tcp_output.c tcp_connect()</remarks>
    public int Connect(TcpSock sk, Ipv4Address address, ushort port)
    {
        switch (sk.State)
        {
            case TcpState.SynSent: return -(int)Errno.EALREADY;
            case TcpState.Listen: return -(int)Errno.EINVAL;
            case not TcpState.Close: return -(int)Errno.EISCONN;
        }
        var route = _output.Routes.Lookup(address);
        if (route is null)
        {
            _mib.Ip.OutNoRoutes++;
            return -(int)Errno.ENETUNREACH;
        }
        if (sk.LocalAddress.IsUnspecified) sk.LocalAddress = _output.SourceFor(route, address);
        if (sk.LocalPort == 0)
        {
            ushort p = PickEphemeral();
            if (p == 0) return -(int)Errno.EADDRNOTAVAIL;
            HashPort(sk, p);
        }
        sk.RemoteAddress = address;
        sk.RemotePort = port;
        if (!HashEstablished(sk)) return -(int)Errno.EADDRNOTAVAIL; // __inet_check_established(): the 4-tuple is in use
        sk.InetId = (ushort)_random.NextUInt32(0x10000);
        sk.Iss = new TcpSeq(_random.NextUInt32());
        sk.TxHash = NewTxHash(); // sk_set_txhash()
        InitConnection(sk, route.EffectiveMtu);
        MtupInit(sk, TcpSegment.MinHeaderLength + (Sysctls.TcpTimestamps != 0 ? TimestampOptionLength : 0)); // tcp_connect_init()
        // tcp_connect_init(): no timestamp has been seen yet, so the window is cut to whole advmss segments.
        SelectInitialWindow(sk, FullSpace(sk), sk.AdvMss, Sysctls.TcpWindowScaling != 0);
        sk.RcvSsthresh = sk.RcvWnd;
        sk.State = TcpState.SynSent;
        // tcp_fastopen_defer_connect(): with a cookie the SYN waits for the first write's data; without one the
        // SYN asks for a cookie.
        bool ownRequest = false;
        if (sk.FastOpenConnect && sk.FastOpenClientReq is null)
        {
            int mss = 0;
            var cookie = new FastOpenCookie(0, false, null);
            if (FastOpenCookieCheck(sk, ref mss, ref cookie))
            {
                sk.DeferConnect = true;
                return 0;
            }
            sk.FastOpenClientReq = new FastOpenRequest { Cookie = cookie };
            ownRequest = true;
        }
        Mib.ActiveOpens++;
        SendSyn(sk);
        if (ownRequest) sk.FastOpenClientReq = null;
        return -(int)Errno.EINPROGRESS;
    }

    /// <summary>The per-connection start values: sequence numbers, MSS from the route, the initial receive window.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_connect_init(), tcp_select_initial_window()</remarks>
    private void InitConnection(TcpSock sk, int mtu)
    {
        // snd_sml stays at the ISN until a short segment goes from tcp_write_xmit: SYN data is not one for Nagle.
        sk.SndUna = sk.SndNxt = sk.WriteSeq = sk.PushedSeq = sk.SndSml = sk.Iss;
        sk.AdvMss = mtu - Ipv4Packet.MinHeaderLength - TcpSegment.MinHeaderLength;
        if (sk.UserMss > 0 && sk.UserMss < sk.AdvMss) sk.AdvMss = sk.UserMss;
        sk.MssCache = Math.Min(sk.AdvMss, MssDefault);
        sk.PmtuCookie = mtu; // tcp_connect_init() → tcp_sync_mss(): the path MTU the connection starts with
        sk.SndCwnd = 10;
        sk.SndSsthresh = InfiniteSsthresh;
        sk.Rtt.Rto = InitialRto;
        sk.Reordering = (uint)Sysctls.TcpReordering;
    }

    /// <summary>
    /// shutdown(): SHUT_WR queues a FIN after the data (FIN-WAIT-1 or LAST-ACK); SHUT_RD only marks the socket.
    /// A closed socket answers ENOTCONN but is marked all the same (pollers see EPOLLHUP); a listener shut for
    /// reading stops listening, and a connect in progress is abandoned (disconnect).
    /// </summary>
    /// <remarks>Linux: net/ipv4/af_inet.c inet_shutdown(); net/ipv4/tcp.c tcp_shutdown(), tcp_disconnect()</remarks>
    public int Shutdown(TcpSock sk, int how)
    {
        int mask = how + 1; // SHUT_RD 0 → RCV_SHUTDOWN 1, SHUT_WR 1 → SEND_SHUTDOWN 2, SHUT_RDWR → both
        int rc = 0;
        switch (sk.State)
        {
            case TcpState.Listen:
                if ((mask & Sock.RcvShutdown) != 0) CloseListener(sk);
                break;
            case TcpState.SynSent:
                Done(sk);
                sk.Shutdown = 0;
                break;
            default:
                if (sk.State == TcpState.Close) rc = -(int)Errno.ENOTCONN;
                sk.Shutdown |= mask;
                if ((mask & Sock.SendShutdown) != 0 && sk.State is TcpState.Established or TcpState.SynRecv or TcpState.CloseWait)
                {
                    CloseState(sk);
                    SendFin(sk);
                }
                break;
        }
        sk.RaiseStateChange();
        return rc;
    }

    /// <summary>tcp_close_state(): the state after our FIN is queued.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_close_state()</remarks>
    private static void CloseState(TcpSock sk)
    {
        sk.State = sk.State switch
        {
            TcpState.Established or TcpState.SynRecv => TcpState.FinWait1,
            TcpState.CloseWait => TcpState.LastAck,
            _ => sk.State,
        };
    }

    /// <summary>
    /// close(): a listener drops its pending children; unread data means a RST instead of a FIN (RFC 2525);
    /// otherwise the FIN follows the queued data and the socket lives on, orphaned, until the exchange ends.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c __tcp_close()</remarks>
    public void Close(TcpSock sk)
    {
        sk.Shutdown = Sock.RcvShutdown | Sock.SendShutdown;
        if (sk.State == TcpState.Listen)
        {
            CloseListener(sk);
            sk.PurgeErrorQueue();
            Destroy(sk);
            return;
        }
        int unread = sk.ReadableBytes; // skbs stay queued while partly read: count by sequence, not by length
        sk.ReceiveQueue.Purge(SkbDropReason.Consumed);
        sk.Dead = true;
        sk.PurgeErrorQueue(); // nobody can read it now (Linux frees it with the sock, inet_sock_destruct)
        if (sk.State == TcpState.Close)
        {
            Destroy(sk);
            return;
        }
        if (unread > 0 || (sk.Linger && sk.LingerTime == Duration.Zero))
        {
            Mib.AbortOnClose++;
            if (sk.State != TcpState.SynSent) SendActiveReset(sk);
            Done(sk);
            return;
        }
        if (sk.State == TcpState.SynSent)
        {
            Done(sk);
            return;
        }
        if (sk.State is TcpState.Established or TcpState.SynRecv or TcpState.CloseWait)
        {
            CloseState(sk);
            SendFin(sk);
        }
    }

    /// <summary>
    /// inet_csk_listen_stop(): the half-open requests are dropped, the children nobody accepted are reset (unless
    /// already closed) and freed, and the socket leaves the listening hash.
    /// </summary>
    /// <remarks>Linux: net/ipv4/inet_connection_sock.c inet_csk_listen_stop(), inet_child_forget(); net/ipv4/tcp.c tcp_disconnect()</remarks>
    private void CloseListener(TcpSock sk)
    {
        DropRequests(sk);
        while (sk.AcceptQueue.Count > 0)
        {
            var child = sk.AcceptQueue.Dequeue();
            child.Parent = null;
            child.Dead = true;
            if (child.State is not (TcpState.Close or TcpState.SynSent or TcpState.Listen)) SendActiveReset(child);
            if (child.State == TcpState.Close) Destroy(child);
            else Done(child);
        }
        Unhash(sk);
        sk.State = TcpState.Close;
    }

    /// <summary>tcp_done(): to CLOSE, timers stopped, queues freed; an orphan is destroyed.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_done()</remarks>
    internal void Done(TcpSock sk)
    {
        Unhash(sk); // tcp_set_state(TCP_CLOSE)
        sk.State = TcpState.Close;
        sk.Shutdown = Sock.RcvShutdown | Sock.SendShutdown;
        StopTimers(sk);
        PurgeWriteQueue(sk);
        FastOpenDisableOfoCheck(sk);
        sk.OutOfOrder.Purge(SkbDropReason.Consumed);
        sk.RaiseStateChange();
        sk.RaiseDataReady();
        if (sk.Dead) Destroy(sk);
    }

    private void StopTimers(TcpSock sk)
    {
        _clock.Disarm(sk.RetransmitTimer);
        _clock.Disarm(sk.Delack.Timer);
        _clock.Disarm(sk.TimeWaitTimer);
        _clock.Disarm(sk.TsqTasklet);
        _clock.Disarm(sk.PacingTimer);
        sk.Delack.Pending = false;
    }

    private void Destroy(TcpSock sk)
    {
        if (sk.State == TcpState.Listen) DropRequests(sk);
        Unhash(sk);
        PutPort(sk);
        StopTimers(sk);
        PurgeWriteQueue(sk);
        sk.ReceiveQueue.Purge(SkbDropReason.Consumed);
        FastOpenDisableOfoCheck(sk);
        sk.OutOfOrder.Purge(SkbDropReason.Consumed);
        sk.PageFrag.Release();
        _sockets.Remove(sk);
    }

    private static void PurgeWriteQueue(TcpSock sk)
    {
        while (sk.WriteQueue.Dequeue() is { } skb)
        {
            sk.WmemQueued -= skb.Truesize;
            skb.Free(SkbDropReason.Consumed);
        }
        sk.SendHead = null;
        sk.PacketsOut = 0;
        sk.RetransOut = 0;
    }

    /// <summary>Frees every socket (host shutdown).</summary>
    public void CloseAll()
    {
        foreach (var sk in _sockets.ToArray()) Destroy(sk);
    }

    /// <summary>The socket a segment belongs to: an exact 4-tuple match first, then a listener on the port.</summary>
    /// <remarks>Linux: net/ipv4/inet_hashtables.c __inet_lookup_established(), __inet_lookup_listener()</remarks>
    private TcpSock? Lookup(Ipv4Address local, ushort localPort, Ipv4Address remote, ushort remotePort)
    {
        if (_established.TryGetValue(new TcpFourTuple(local, localPort, remote, remotePort), out var sk)) return sk;
        if (!_listeners.TryGetValue(localPort, out var listeners)) return null;
        // compute_score(): a listener bound to the address wins over one bound to any address.
        TcpSock? wildcard = null;
        foreach (var s in listeners)
        {
            if (s.LocalAddress == local) return s;
            if (s.LocalAddress.IsUnspecified) wildcard ??= s;
        }
        return wildcard;
    }

}

/// <summary>The TCP counters of /proc/net/snmp and the TcpExt ones used here.</summary>
public sealed class TcpMib
{
    public long ActiveOpens, PassiveOpens, AttemptFails, EstabResets, InSegs, OutSegs, RetransSegs, InErrs, OutRsts;
    /// <summary>TcpExtOutOfWindowIcmps: ICMP errors quoting a sequence number the connection has not sent.</summary>
    public long OutOfWindowIcmps;
    public long ListenOverflows, ListenDrops, AbortOnClose, AbortOnData, AbortOnTimeout, DelayedAcks, Timeouts, FastRetrans, LossProbes;
    public long AutoCorking, HystartTrainDetect, HystartDelayDetect, AckSkippedSeq, AckSkippedChallenge, ChallengeAck, SynChallenge;
    public long WantZeroWindowAdv, ToZeroWindowAdv, FromZeroWindowAdv, ZeroWindowDrop, RcvQDrop, OfoQueue, OfoDrop, PruneCalled, OfoPruned, RcvPruned, WinProbe;
    /// <summary>TcpExtBeyondWindow: segments dropped because they started, or (with data queued) ended, past the window.</summary>
    public long BeyondWindow;
    /// <summary>
    /// D-SACK: DelayedACKLost (a duplicate arrived — our ACK was lost or late), TCPDSACKOldSent / TCPDSACKOfoSent
    /// (a D-SACK reported data below rcv_nxt / out of order), TCPDSACKRecv / TCPDSACKOfoRecv / TCPDSACKRecvSegs /
    /// TCPDSACKIgnoredDubious (the peer's D-SACKs), TCPLossProbeRecovery (a probe's ACK showed a real loss).
    /// </summary>
    public long DelayedAckLost, DsackOldSent, DsackOfoSent, DsackRecv, DsackOfoRecv, DsackRecvSegs, DsackIgnoredDubious, LossProbeRecovery;
    /// <summary>
    /// Undo (tcp_try_undo_*): TCPFullUndo (a fast recovery ended and proved spurious), TCPPartialUndo (a partial ACK
    /// in recovery did), TCPDSACKUndo (every retransmission was D-SACKed), TCPLossUndo (an RTO recovery proved
    /// spurious), TCPSpuriousRTOs (F-RTO found the RTO spurious); TCPSackRecoveryFail / TCPRenoRecoveryFail /
    /// TCPLossFailures / TCPSackFailures / TCPRenoFailures: an RTO came in Recovery / Loss / Disorder; TCPSackReorder /
    /// TCPTSReorder: reordering was seen by SACK / by a timestamp echo.
    /// </summary>
    public long FullUndo, PartialUndo, DsackUndo, LossUndo, SpuriousRtos, SackRecoveryFail, RenoRecoveryFail, LossFailures, SackFailures, RenoFailures, SackReorder, TsReorder;
    /// <summary>TcpExtTCPRcvCollapsed: skbs freed after their data was copied into a compact one.</summary>
    public long RcvCollapsed;
    /// <summary>TcpExtTCPTimeoutRehash: retransmission timeouts after which the flow took a new sk_txhash.</summary>
    public long TimeoutRehash;
    /// <summary>TcpExtTCPMD5Unexpected: segments signed with an MD5 option where no key was expected, dropped.</summary>
    public long Md5Unexpected;
    /// <summary>The listener's counters: SYN cookies, a full SYN queue, embryonic resets, SYN-ACK retransmissions.</summary>
    public long SyncookiesSent, SyncookiesRecv, SyncookiesFailed, EmbryonicRsts, ReqQFullDoCookies, ReqQFullDrop, SynRetrans, AckSkippedSynRecv, PawsEstabRejected, PawsActiveRejected, AckSkippedTimeWait;
    /// <summary>Fast Open, server side: children made from a SYN, failed cookies, full TFO queues, cookie requests, cookies of the backup key.</summary>
    public long FastOpenPassive, FastOpenPassiveFail, FastOpenListenOverflow, FastOpenCookieReqd, FastOpenPassiveAltKey;
    /// <summary>Fast Open, client side: SYN data acknowledged, SYN data not acknowledged (resent).</summary>
    public long FastOpenActive, FastOpenActiveFail, FastOpenBlackhole;
    /// <summary>TCPMTUPSuccess, TCPMTUPFail: MTU probes acknowledged and lost.</summary>
    public long MtupSuccess, MtupFail;

    /// <summary>The RFC 4022 counters /proc/net/snmp prints under "Tcp:"; the others are netstat's "TcpExt:".</summary>
    private static readonly HashSet<string> SnmpNames =
        ["ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets", "InSegs", "OutSegs", "RetransSegs", "InErrs", "OutRsts"];

    /// <summary>"Tcp" or "TcpExt": the group a counter of <see cref="All"/> belongs to.</summary>
    public static string GroupOf(string name) => SnmpNames.Contains(name) ? "Tcp" : "TcpExt";

    public IEnumerable<(string, long)> All()
    {
        yield return ("ActiveOpens", ActiveOpens);
        yield return ("PassiveOpens", PassiveOpens);
        yield return ("AttemptFails", AttemptFails);
        yield return ("EstabResets", EstabResets);
        yield return ("InSegs", InSegs);
        yield return ("OutSegs", OutSegs);
        yield return ("RetransSegs", RetransSegs);
        yield return ("InErrs", InErrs);
        yield return ("OutRsts", OutRsts);
        yield return ("ListenOverflows", ListenOverflows);
        yield return ("ListenDrops", ListenDrops);
        yield return ("SyncookiesSent", SyncookiesSent);
        yield return ("SyncookiesRecv", SyncookiesRecv);
        yield return ("SyncookiesFailed", SyncookiesFailed);
        yield return ("EmbryonicRsts", EmbryonicRsts);
        yield return ("PAWSActive", PawsActiveRejected);
        yield return ("PAWSEstab", PawsEstabRejected);
        yield return ("TCPReqQFullDoCookies", ReqQFullDoCookies);
        yield return ("TCPReqQFullDrop", ReqQFullDrop);
        yield return ("TCPSynRetrans", SynRetrans);
        yield return ("TCPACKSkippedSynRecv", AckSkippedSynRecv);
        yield return ("TCPFastOpenActive", FastOpenActive);
        yield return ("TCPFastOpenActiveFail", FastOpenActiveFail);
        yield return ("TCPFastOpenBlackhole", FastOpenBlackhole);
        yield return ("TCPMTUPFail", MtupFail);
        yield return ("TCPMTUPSuccess", MtupSuccess);
        yield return ("TCPFastOpenPassive", FastOpenPassive);
        yield return ("TCPFastOpenPassiveFail", FastOpenPassiveFail);
        yield return ("TCPFastOpenListenOverflow", FastOpenListenOverflow);
        yield return ("TCPFastOpenCookieReqd", FastOpenCookieReqd);
        yield return ("TCPFastOpenPassiveAltKey", FastOpenPassiveAltKey);
        yield return ("TCPMD5Unexpected", Md5Unexpected);
        yield return ("TCPAbortOnClose", AbortOnClose);
        yield return ("TCPAbortOnData", AbortOnData);
        yield return ("TCPAbortOnTimeout", AbortOnTimeout);
        yield return ("OutOfWindowIcmps", OutOfWindowIcmps);
        yield return ("DelayedACKs", DelayedAcks);
        yield return ("TCPTimeouts", Timeouts);
        yield return ("TCPFastRetrans", FastRetrans);
        yield return ("TCPLossProbes", LossProbes);
        yield return ("TCPLossProbeRecovery", LossProbeRecovery);
        yield return ("DelayedACKLost", DelayedAckLost);
        yield return ("TCPDSACKOldSent", DsackOldSent);
        yield return ("TCPDSACKOfoSent", DsackOfoSent);
        yield return ("TCPDSACKRecv", DsackRecv);
        yield return ("TCPDSACKOfoRecv", DsackOfoRecv);
        yield return ("TCPDSACKRecvSegs", DsackRecvSegs);
        yield return ("TCPDSACKIgnoredDubious", DsackIgnoredDubious);
        yield return ("TCPFullUndo", FullUndo);
        yield return ("TCPPartialUndo", PartialUndo);
        yield return ("TCPDSACKUndo", DsackUndo);
        yield return ("TCPLossUndo", LossUndo);
        yield return ("TCPSpuriousRTOs", SpuriousRtos);
        yield return ("TCPSackRecoveryFail", SackRecoveryFail);
        yield return ("TCPRenoRecoveryFail", RenoRecoveryFail);
        yield return ("TCPLossFailures", LossFailures);
        yield return ("TCPSackFailures", SackFailures);
        yield return ("TCPRenoFailures", RenoFailures);
        yield return ("TCPSACKReorder", SackReorder);
        yield return ("TCPTSReorder", TsReorder);
        yield return ("TCPAutoCorking", AutoCorking);
        yield return ("TCPACKSkippedSeq", AckSkippedSeq);
        yield return ("TCPACKSkippedTimeWait", AckSkippedTimeWait);
        yield return ("BeyondWindow", BeyondWindow);
        yield return ("TCPRcvCollapsed", RcvCollapsed);
        yield return ("TCPACKSkippedChallenge", AckSkippedChallenge);
        yield return ("TCPChallengeACK", ChallengeAck);
        yield return ("TCPSYNChallenge", SynChallenge);
        yield return ("TCPHystartTrainDetect", HystartTrainDetect);
        yield return ("TCPHystartDelayDetect", HystartDelayDetect);
        yield return ("TCPWantZeroWindowAdv", WantZeroWindowAdv);
        yield return ("TCPToZeroWindowAdv", ToZeroWindowAdv);
        yield return ("TCPFromZeroWindowAdv", FromZeroWindowAdv);
        yield return ("TCPZeroWindowDrop", ZeroWindowDrop);
        yield return ("TCPRcvQDrop", RcvQDrop);
        yield return ("TCPOFOQueue", OfoQueue);
        yield return ("TCPOFODrop", OfoDrop);
        yield return ("PruneCalled", PruneCalled);
        yield return ("OfoPruned", OfoPruned);
        yield return ("RcvPruned", RcvPruned);
        yield return ("TCPWinProbe", WinProbe);
        yield return ("TCPTimeoutRehash", TimeoutRehash);
    }
}
