using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>A connection's addresses and ports as the receiving end sees them: the key of the socket hash tables.</summary>
/// <remarks>Linux: include/net/inet_hashtables.h INET_MATCH (the ehash key)</remarks>
public readonly record struct TcpFourTuple(Ipv4Address Local, ushort LocalPort, Ipv4Address Remote, ushort RemotePort);

/// <summary>
/// A half-open passive connection: what a listener remembers of a SYN it answered — addresses, ports, both initial
/// sequence numbers, the options the SYN offered and the window the SYN-ACK announced — and the SYN-ACK's
/// retransmission state. It is a few dozen bytes instead of a full <see cref="TcpSock"/>: the child socket is
/// built from it only when the final ACK validates (tcp_check_req), so a SYN flood costs the listener at most its
/// backlog of these.
/// </summary>
/// <remarks>Linux: include/net/request_sock.h struct request_sock; include/net/inet_sock.h struct inet_request_sock; include/linux/tcp.h struct tcp_request_sock</remarks>
public sealed class RequestSock
{
    internal RequestSock(TcpSock listener, in TcpFourTuple tuple)
    {
        Listener = listener;
        Tuple = tuple;
    }

    /// <summary>rsk_listener.</summary>
    public TcpSock Listener { get; }
    /// <summary>ir_loc_addr / ir_num / ir_rmt_addr / ir_rmt_port.</summary>
    public TcpFourTuple Tuple { get; }
    /// <summary>snt_isn: the sequence number of our SYN-ACK.</summary>
    public TcpSeq SntIsn { get; internal set; }
    /// <summary>rcv_isn: the sequence number of the peer's SYN (rcv_nxt is one more).</summary>
    public TcpSeq RcvIsn { get; internal set; }
    public TcpSeq RcvNxt => RcvNxtAfterData ?? RcvIsn + 1;
    /// <summary>A Fast Open request's rcv_nxt: past the data its SYN carried (the SYN-ACK acknowledges it).</summary>
    internal TcpSeq? RcvNxtAfterData;
    /// <summary>req->mss: the peer's MSS (its option, or 536), clamped by TCP_MAXSEG.</summary>
    public int Mss { get; internal set; }
    /// <summary>The MSS our SYN-ACK announces (the route's advmss, clamped by TCP_MAXSEG).</summary>
    internal int AdvMss;

    /// <summary>tcp_rsk(req)->txhash: the flow label of the SYN-ACK, and the child's sk_txhash.</summary>
    internal uint TxHash;
    /// <summary>rsk_rcv_wnd, rsk_window_clamp, rcv_wscale: the window the SYN-ACK offered (tcp_openreq_init_rwin).</summary>
    internal uint RcvWnd, WindowClamp;
    internal byte RcvWscale;
    /// <summary>The options both ends agreed on: snd_wscale, wscale_ok, sack_ok, tstamp_ok.</summary>
    public byte SndWscale { get; internal set; }
    public bool WscaleOk { get; internal set; }
    public bool SackOk { get; internal set; }
    public bool TstampOk { get; internal set; }
    /// <summary>inet_rsk(req)->ecn_ok: the SYN asked for ECN and this host agreed (tcp_ecn_create_request).</summary>
    public bool EcnOk { get; internal set; }
    /// <summary>ts_recent: the peer's last timestamp value, echoed in the SYN-ACK.</summary>
    internal uint TsRecent;
    /// <summary>num_retrans: SYN-ACKs resent; num_timeout: timer expiries (the exponent of the backoff).</summary>
    public int NumRetrans { get; internal set; }
    public int NumTimeout { get; internal set; }
    /// <summary>inet_rsk(req)->acked: the final ACK came but the accept queue was full (tcp_abort_on_overflow 0).</summary>
    public bool Acked { get; internal set; }
    /// <summary>snt_synack: when the first SYN-ACK went out (the handshake's RTT sample when it was not resent); null for a cookie.</summary>
    internal Instant? SntSynack;
    /// <summary>req->timeout: the first retransmission timeout (tcp_timeout_init, TCP_TIMEOUT_INIT).</summary>
    internal Duration Timeout;
    /// <summary>last_oow_ack_time: the last answer to an out-of-window segment or a retransmitted SYN.</summary>
    internal Instant? LastOowAck;
    /// <summary>rsk_timer: the SYN-ACK retransmission and expiry (reqsk_timer_handler).</summary>
    internal Time.Timer? Timer;

    public override string ToString() => $"request {Tuple.Local}:{Tuple.LocalPort} < {Tuple.Remote}:{Tuple.RemotePort} retrans {NumRetrans}";
}
