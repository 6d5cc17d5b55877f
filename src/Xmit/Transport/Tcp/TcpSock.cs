using Xmit.Buffers;
using Xmit.Network.Ipv4;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>TCP connection states, numbered as Linux's (TCP_ESTABLISHED = 1 …).</summary>
/// <remarks>Linux: include/net/tcp_states.h</remarks>
public enum TcpState : byte
{
    Established = 1, SynSent, SynRecv, FinWait1, FinWait2, TimeWait, Close, CloseWait, LastAck, Listen, Closing,
}

/// <summary>
/// A TCP socket's kernel side: the sequence space (snd_una / snd_nxt / write_seq, rcv_nxt / copied_seq),
/// windows and scaling, negotiated options and congestion state; the RTT estimator, delayed-ACK state,
/// RACK state and congestion control as components of their own; the write queue (sent-but-unacked skbs
/// followed by unsent ones, from <see cref="SendHead"/>) and the receive queues. Field names follow struct
/// tcp_sock so the code reads next to the kernel's.
/// </summary>
/// <remarks>Linux: include/linux/tcp.h struct tcp_sock; include/net/inet_connection_sock.h</remarks>
public sealed partial class TcpSock : InetSock
{
    internal TcpSock(TcpProtocol proto, IScheduler clock, int sndBuf, int rcvBuf) : base(sndBuf, rcvBuf)
    {
        Protocol = proto;
        Cookie = proto.NextCookie();
        RetransmitTimer = new Timer(clock, () => proto.OnRetransmitTimer(this), "tcp-retransmit");
        Delack = new DelayedAck(new Timer(clock, () => proto.OnDelackTimer(this), "tcp-delack"));
        TsqTasklet = new Timer(clock, () => proto.TsqHandler(this), "tcp-tsq");
        PacingTimer = new Timer(clock, () => proto.TsqHandler(this), "tcp-pace"); // tcp_pace_kick()
        TimeWaitTimer = new Timer(clock, () => proto.OnTimeWaitTimer(this), "tcp-timewait");
    }

    internal TcpProtocol Protocol { get; }

    /// <summary>sock_cookie: the host's socket number (1, 2, … in creation order), what the tracepoints print for the socket.</summary>
    /// <remarks>Linux: net/core/sock_diag.c sock_gen_cookie() (there assigned on first use, from a per-namespace counter)</remarks>
    public ulong Cookie { get; }
    /// <summary>sk_state; every change is traced (inet_sock_set_state), as tcp_set_state() does.</summary>
    public TcpState State
    {
        get;
        internal set
        {
            var old = field;
            field = value;
            if (old != value) Protocol.Trace?.InetSockSetState(this, old, value);
        }
    } = TcpState.Close;

    // ---- send sequence space ----
    public TcpSeq Iss { get; internal set; }
    public TcpSeq SndUna { get; internal set; }
    public TcpSeq SndNxt { get; internal set; }
    /// <summary>write_seq: the sequence number after the last byte the application wrote.</summary>
    public TcpSeq WriteSeq { get; internal set; }
    /// <summary>pushed_seq: the last sequence number marked PSH.</summary>
    internal TcpSeq PushedSeq;
    /// <summary>snd_sml: end of the last small (sub-MSS) segment sent, for Minshall's Nagle.</summary>
    internal TcpSeq SndSml;
    public uint SndWnd { get; internal set; }
    internal TcpSeq SndWl1;
    public uint MaxWindow { get; internal set; }

    // ---- receive sequence space ----
    public TcpSeq RcvNxt { get; internal set; }
    /// <summary>copied_seq: the next byte the application will read.</summary>
    public TcpSeq CopiedSeq { get; internal set; }
    /// <summary>rcv_wup: rcv_nxt when the window was last announced.</summary>
    internal TcpSeq RcvWup;
    public uint RcvWnd { get; internal set; }
    /// <summary>rcv_ssthresh: the window may grow up to this, which grows as data shows the buffer holds it (tcp_grow_window).</summary>
    public uint RcvSsthresh { get; internal set; }
    /// <summary>window_clamp: the largest window ever announced (0 before the SYN: no clamp).</summary>
    public uint WindowClamp { get; internal set; }
    /// <summary>scaling_ratio: payload per 256 bytes of receive buffer, as the last full segment showed.</summary>
    internal byte ScalingRatio = TcpProtocol.DefaultScalingRatio;
    /// <summary>rx_opt.rcv_tsecr: the timestamp echo of the segment being processed.</summary>
    internal uint RcvTsEcr;
    /// <summary>rcv_rtt_est: the receiver's RTT estimate (µs × 8), and the state of its measurement.</summary>
    internal long RcvRttUs8;
    internal uint RcvRttLastTsEcr;
    internal TcpSeq RcvRttSeq;
    internal Instant RcvRttTime;
    /// <summary>rcvq_space: bytes the application read in the last receiver RTT, from where and since when.</summary>
    internal int RcvqSpace;
    internal TcpSeq RcvqSpaceSeq;
    internal Instant RcvqSpaceTime;

    // ---- options ----
    public int MssCache { get; internal set; } = 536;

    /// <summary>icsk_pmtu_cookie: the path MTU <see cref="MssCache"/> was computed for (0 until the first tcp_sync_mss).</summary>
    internal int PmtuCookie;
    /// <summary>advmss: the MSS we announce (route MTU − 40).</summary>
    public int AdvMss { get; internal set; } = 1460;
    /// <summary>rx_opt.mss_clamp: the peer's MSS (or TCP_MAXSEG).</summary>
    internal int MssClamp = 65535;
    /// <summary>TCP_MAXSEG (user_mss).</summary>
    public int UserMss { get; internal set; }
    public bool TimestampOk { get; internal set; }
    public bool SackOk { get; internal set; }
    /// <summary>ecn_flags: classic ECN's state (RFC 3168) — agreed in the handshake, and the CWR/ECE echo loop.</summary>
    public TcpEcnFlags Ecn { get; internal set; }
    public bool WscaleOk { get; internal set; }
    public byte SndWscale { get; internal set; }
    public byte RcvWscale { get; internal set; }
    internal uint TsRecent;
    /// <summary>The receive MSS estimate (icsk_ack.rcv_mss).</summary>
    internal int RcvMss = 536;

    // ---- congestion control ----
    public uint SndCwnd { get; internal set; } = 10;
    public uint SndSsthresh { get; internal set; } = TcpProtocol.InfiniteSsthresh;
    internal uint SndCwndCnt;
    /// <summary>Segments sent and not yet acked (TSO skbs count as their segments).</summary>
    public uint PacketsOut { get; internal set; }
    public uint RetransOut { get; internal set; }
    /// <summary>Segments marked lost (after an RTO or a fast retransmit), and duplicate ACKs counted as SACKed (Reno).</summary>
    public uint LostOut { get; internal set; }
    public uint SackedOut { get; internal set; }
    /// <summary>max_packets_out / is_cwnd_limited, for deciding whether cwnd may grow (tcp_is_cwnd_limited).</summary>
    internal uint MaxPacketsOut;
    internal bool IsCwndLimited;
    internal TcpSeq CwndUsageSeq;
    /// <summary>Duplicate ACKs in a row (the NewReno-style dupthresh count).</summary>
    internal int DupAcks;
    /// <summary>icsk_ca_state: Open, or Recovery / Loss until snd_una passes <see cref="HighSeq"/>.</summary>
    public TcpCaState CaState { get; internal set; }
    internal TcpSeq HighSeq;
    internal uint PriorCwnd;
    /// <summary>The congestion control and its per-connection state (CUBIC, Linux's default, unless the sysctl says otherwise).</summary>
    public ITcpCongestionOps CongestionOps { get; internal set; } = new Cubic();
    /// <summary>sk_pacing_rate in bytes per second (for TSO autosizing).</summary>
    public ulong PacingRate { get; internal set; } = ulong.MaxValue;

    /// <inheritdoc/>
    public override ulong SkPacingRate => PacingRate;

    /// <summary>tcp_wstamp_ns: the departure time of the next skb; ahead of now only while fq paces the flow.</summary>
    internal Time.Instant Wstamp;

    // ---- RTT and timers ----
    public RttEstimator Rtt { get; } = new();
    /// <summary>icsk_backoff: how many times the RTO (or the zero-window probe interval) has doubled.</summary>
    public int Backoff { get; internal set; }
    /// <summary>icsk_probes_out: zero-window probes sent without an answer (tcpi_probes).</summary>
    public int ProbesOut { get; internal set; }
    /// <summary>icsk_probes_tstamp: when the first probe timer found the send head unsent (what TCP_USER_TIMEOUT counts from while probing, in jiffies).</summary>
    internal Instant? ProbeStamp;
    internal int Retransmits;
    /// <summary>icsk_mtup: the MTU probing search (tcp_mtu_probing).</summary>
    internal MtuProbeState Mtup { get; } = new();
    /// <summary>total_rto, total_rto_recoveries, total_rto_time (ms): every timeout, every episode of them, and the time spent in ended ones (tcp_info).</summary>
    internal ushort TotalRto, TotalRtoRecoveries;
    internal uint TotalRtoTimeMs;
    /// <summary>rto_stamp: when the running RTO episode began (null: none).</summary>
    internal Instant? RtoStamp;
    /// <summary>
    /// retrans_stamp: when the first retransmission of the loss episode went out (or the SYN was sent) — what
    /// TCP_USER_TIMEOUT counts from and what a timestamp echo is compared with to tell a spurious retransmission
    /// (tcp_packet_delayed); cleared once no retransmission is left (tcp_any_retrans_done), not on every ACK.
    /// </summary>
    internal Instant? RetransStamp;
    /// <summary>icsk_syn_retries (TCP_SYNCNT): SYN retransmissions before giving up; 0 means tcp_syn_retries.</summary>
    public int SynRetries { get; internal set; }
    /// <summary>icsk_user_timeout (TCP_USER_TIMEOUT), in ms: how long data may stay unacknowledged after a retransmission; 0 means the retry counts decide.</summary>
    public int UserTimeoutMs { get; internal set; }
    /// <summary>keepalive_time / keepalive_intvl (seconds) and keepalive_probes; 0 means the sysctl (keepalive probes themselves are not modelled).</summary>
    public int KeepIdle { get; internal set; }
    public int KeepIntvl { get; internal set; }
    public int KeepCnt { get; internal set; }
    /// <summary>recvmsg_inq (TCP_INQ): recvmsg() reports the bytes left to read in a TCP_CM_INQ control message.</summary>
    public bool RecvmsgInq { get; internal set; }
    internal Timer RetransmitTimer { get; }
    /// <summary>icsk_pending: what <see cref="RetransmitTimer"/> is armed for.</summary>
    internal TcpXmitTimer PendingTimer;
    /// <summary>last_oow_ack_time: when an out-of-window segment or a challenge was last answered (null: never).</summary>
    internal Instant? LastOowAck;
    /// <summary>tlp_high_seq (0: no probe outstanding) and whether the probe was a retransmission.</summary>
    internal TcpSeq TlpHighSeq;
    internal bool TlpRetrans;
    /// <summary>
    /// rx_opt.dsack and duplicate_sack[0]: a duplicate segment's range (RFC 2883) waiting to lead the SACK blocks of
    /// the next segment we send, which clears it.
    /// </summary>
    internal bool DsackPending;
    internal TcpSeq DsackStart, DsackEnd;
    /// <summary>dsack_dups: segments the peer reported as duplicates (D-SACK) so far.</summary>
    public uint DsackDups { get; internal set; }
    internal RackState Rack { get; } = new();
    /// <summary>The state that lets a spurious cwnd reduction be undone (undo_marker, undo_retrans, prior_ssthresh, frto).</summary>
    internal UndoState Undo { get; } = new();
    /// <summary>tp->reordering: how far out of order SACKs have shown segments to arrive (starts at tcp_reordering).</summary>
    public uint Reordering { get; internal set; } = 3;
    /// <summary>reord_seen: reordering was detected (RACK then keeps its reordering window).</summary>
    public int ReordSeen { get; internal set; }
    /// <summary>The end of the highest SACKed sequence (tcp_highest_sack_seq), 0 for none.</summary>
    internal TcpSeq HighestSackEnd;
    /// <summary>PRR: segments delivered and sent since recovery began.</summary>
    internal uint PrrDelivered, PrrOut;
    internal Timer TimeWaitTimer { get; }
    /// <summary>lsndtime: when data was last sent (for pingpong and TSO deferral).</summary>
    internal Instant LastSendTime;
    internal Instant SynSentAt;

    internal DelayedAck Delack { get; }

    /// <summary>TSQ_THROTTLED: tcp_write_xmit stopped for TCP Small Queues (or autocorking) and waits for a TX completion.</summary>
    internal bool TsqThrottled;
    /// <summary>TSQ_QUEUED: a TX completion scheduled the push (the tsq tasklet, run as a zero-delay timer).</summary>
    internal Timer TsqTasklet { get; }
    /// <summary>pacing_timer: TCP's own pacing waits for the departure time of the next skb (SK_PACING_NEEDED).</summary>
    internal Timer PacingTimer { get; }

    /// <inheritdoc/>
    protected override void OnMaxPacingRate(ulong rate) => TcpProtocol.CapPacingRate(this, rate);

    /// <summary>tcp_wfree(): a transmitted clone was freed; a throttled socket gets its push scheduled.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_wfree()</remarks>
    protected override void OnWmemFreed()
    {
        if (!TsqThrottled || TsqTasklet.IsArmed || Dead) return;
        TsqThrottled = false;
        Protocol.ScheduleTsq(this);
    }

    /// <summary>TCP_NODELAY / TCP_CORK (the nonagle bits).</summary>
    public NagleMode NonAgle { get; internal set; }

    // ---- queues ----
    /// <summary>
    /// <see cref="InetSock.WriteQueue"/> holds the retransmit queue and sk_write_queue in one list: sent skbs, then
    /// the unsent ones from here on.
    /// </summary>
    internal SkBuff? SendHead;
    /// <summary>sk_wmem_queued: truesize of every skb on the write queue (what SO_SNDBUF limits for TCP).</summary>
    public long WmemQueued { get; internal set; }
    public SkBuffQueue ReceiveQueue { get; } = new();
    /// <summary>out_of_order_queue, ordered by sequence.</summary>
    internal SkBuffQueue OutOfOrder { get; } = new();
    internal bool FinReceived;

    // ---- listening ----
    /// <summary>The listener a child was created for, until accept() takes it.</summary>
    internal TcpSock? Parent;
    /// <summary>sk_max_ack_backlog: listen()'s backlog, capped by somaxconn.</summary>
    internal int Backlog;
    /// <summary>icsk_accept_queue's accept side: children whose handshake completed (sk_ack_backlog is its length).</summary>
    internal Queue<TcpSock> AcceptQueue { get; } = new();
    /// <summary>
    /// The SYN queue: request sockets by 4-tuple (Linux keeps them in the established hash as TCP_NEW_SYN_RECV;
    /// here each listener holds its own), so a segment finds its half-open connection in constant time.
    /// </summary>
    internal Dictionary<TcpFourTuple, RequestSock> SynQueue { get; } = [];
    /// <summary>icsk_accept_queue.young: requests whose SYN-ACK has not timed out yet.</summary>
    internal int SynQueueYoung;
    /// <summary>rx_opt.ts_recent_stamp of a listener: when it last sent a SYN cookie (tcp_synq_overflow), null: never.</summary>
    internal Instant? LastSynqOverflow;

    /// <summary>fastopen_rsk: the request a passive Fast Open child was made from, until its handshake completes (its SYN-ACK state).</summary>
    internal RequestSock? FastOpenReq;
    /// <summary>icsk_accept_queue.fastopenq max_qlen and qlen: the Fast Open children a listener may have in SYN-RECV, and has.</summary>
    internal int FastOpenMaxQlen, FastOpenQlen;
    /// <summary>The listener's own cookie keys (TCP_FASTOPEN_KEY), else the host's.</summary>
    internal FastOpenKeys? FastOpenKeys;
    /// <summary>fastopen_no_cookie (TCP_FASTOPEN_NO_COOKIE) and fastopen_connect (TCP_FASTOPEN_CONNECT).</summary>
    internal bool FastOpenNoCookie, FastOpenConnect;
    /// <summary>syn_data_acked: the SYN's data was accepted (TCPI_OPT_SYN_DATA).</summary>
    internal bool SynDataAcked;
    /// <summary>DEFER_CONNECT: connect() with TCP_FASTOPEN_CONNECT and a cached cookie sent nothing; the first write sends the SYN with data.</summary>
    internal bool DeferConnect;
    /// <summary>sk_write_pending: writers waiting for the handshake (their data will carry the ACK of the SYN-ACK).</summary>
    internal int WritePending;
    /// <summary>fastopen_req: a Fast Open connect in progress (sendto with MSG_FASTOPEN).</summary>
    internal FastOpenRequest? FastOpenClientReq;
    /// <summary>syn_fastopen / syn_fastopen_exp: the SYN carried a Fast Open option (the experimental form); syn_data: and data.</summary>
    internal bool SynFastOpen, SynFastOpenExp, SynData;
    /// <summary>syn_fastopen_ch: Fast Open was allowed again after a blackhole timeout; data received then clears the detections.</summary>
    internal bool SynFastOpenCheck;

    /// <summary>Fast Open children of this listener still in SYN-RECV (the TFO queue's qlen).</summary>
    public int FastOpenQueueUsed => FastOpenQlen;

    /// <summary>A connection waits in the accept queue.</summary>
    public bool HasPendingConnection => AcceptQueue.Count > 0;
    /// <summary>sk_ack_backlog: children waiting for accept() (ss -l's Recv-Q).</summary>
    public int AcceptQueueLength => AcceptQueue.Count;
    /// <summary>inet_csk_reqsk_queue_len(): half-open connections waiting for their final ACK.</summary>
    public int SynQueueLength => SynQueue.Count;
    /// <summary>The half-open connections (ss state syn-recv).</summary>
    public IEnumerable<RequestSock> Requests => SynQueue.Values;

    public bool ReuseAddr { get; internal set; }

    /// <inheritdoc/>
    public override bool IsStream => true;
    /// <summary>SO_LINGER: on with a zero time, close() aborts with a RST.</summary>
    public bool Linger { get; internal set; }
    public Duration LingerTime { get; internal set; }

    /// <summary>Raised when data, a FIN, a connection or an error arrived (sk_data_ready / state change).</summary>
    public event Action<TcpSock>? DataReady;
    /// <summary>Raised on a state change (sk_state_change: connect finished, reset, close).</summary>
    public event Action<TcpSock>? StateChange;
    /// <summary>Raised when write memory was freed and the socket is writable again (sk_stream_write_space).</summary>
    public event Action<TcpSock>? StreamWriteSpace;

    internal void RaiseDataReady() { if (!Dead) DataReady?.Invoke(this); }
    internal void RaiseStateChange() { if (!Dead) StateChange?.Invoke(this); }
    internal void RaiseWriteSpace() { if (!Dead) StreamWriteSpace?.Invoke(this); }

    /// <summary>Bytes the application can read now (SIOCINQ: rcv_nxt − copied_seq, less a FIN).</summary>
    public int ReadableBytes => ReceiveQueue.IsEmpty ? 0 : (int)(RcvNxt - CopiedSeq) - (FinReceived ? 1 : 0);

    /// <summary>SIOCOUTQ: bytes written and not yet acknowledged (write_seq − snd_una).</summary>
    public int UnackedBytes => State is TcpState.Listen or TcpState.Close or TcpState.SynSent ? 0 : (int)(WriteSeq - SndUna);

    /// <summary>SIOCOUTQNSD: bytes written and not yet sent (write_seq − snd_nxt).</summary>
    public int NotSentBytes => (int)(WriteSeq - SndNxt);

    /// <summary>TCP_NOTSENT_LOWAT (0: net.ipv4.tcp_notsent_lowat applies).</summary>
    public uint NotsentLowat { get; internal set; }

    /// <summary>tcp_stream_memory_free(): fewer unsent bytes than the low-water mark (doubled when deciding a wake-up).</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_stream_memory_free(); include/net/tcp.h tcp_notsent_lowat()</remarks>
    private bool NotsentBelowLowat(int wake) =>
        ((ulong)(uint)NotSentBytes << wake) < (NotsentLowat != 0 ? NotsentLowat : Protocol.Sysctls.TcpNotsentLowat);

    /// <summary>sk_stream_memory_free(): wmem_queued below sndbuf, and the unsent bytes below TCP_NOTSENT_LOWAT.</summary>
    /// <remarks>Linux: include/net/sock.h __sk_stream_memory_free()</remarks>
    public bool StreamMemoryFree => WmemQueued < SndBuf && NotsentBelowLowat(0);

    /// <summary>__sk_stream_is_writeable(sk, 1): free space at least a third of what is queued (sk_stream_min_wspace) and memory free for a wake-up.</summary>
    /// <remarks>Linux: include/net/sock.h __sk_stream_is_writeable(), sk_stream_wspace(), sk_stream_min_wspace()</remarks>
    public bool StreamWriteable => SndBuf - WmemQueued >= WmemQueued / 2 && WmemQueued < SndBuf && NotsentBelowLowat(1);

    /// <summary>tcp_packets_in_flight(): packets out, less those SACKed or lost, plus retransmissions.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_packets_in_flight()</remarks>
    internal uint InFlight => PacketsOut - Math.Min(PacketsOut, SackedOut + LostOut) + RetransOut;

    /// <summary>tcp_packets_in_flight(), for reports: packets out less those SACKed or marked lost, plus retransmitted ones.</summary>
    public uint PacketsInFlight => InFlight;

    /// <summary>tp->delivered: segments the peer has acknowledged (or reported by duplicate ACK).</summary>
    public long Delivered { get; internal set; }
    /// <summary>delivered_ce: of those, the ones an ECE ACK acknowledged (tcp_count_delivered with ece_ack).</summary>
    public long DeliveredCe { get; internal set; }

    /// <summary>When in-order data last arrived (tcpi_last_data_recv).</summary>
    public Instant LastDataReceived => Delack.LastReceived;

    /// <summary>srtt in microseconds (tcpi_rtt), 0 before a sample.</summary>
    public long SmoothedRttUs => Rtt.SrttUs;

    /// <summary>rttvar in microseconds (tcpi_rttvar).</summary>
    public long RttVarUs => Rtt.RttVarUs;

    public override string ToString() => $"tcp {LocalAddress}:{LocalPort} > {RemoteAddress}:{RemotePort} {State}";
}

/// <summary>icsk_ca_state: the congestion-avoidance state machine's states that are modelled.</summary>
public enum TcpCaState : byte { Open = 0, Disorder = 1, Cwr = 2, Recovery = 3, Loss = 4 }
