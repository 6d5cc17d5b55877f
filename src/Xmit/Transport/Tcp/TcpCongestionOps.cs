namespace Xmit.Transport.Tcp;

/// <summary>Events a congestion control is told about (tcp_ca_event).</summary>
/// <remarks>Linux: include/net/tcp.h enum tcp_ca_event</remarks>
public enum TcpCaEvent : byte
{
    /// <summary>CA_EVENT_TX_START: the first transmission when nothing was in flight.</summary>
    TxStart,
}

/// <summary>
/// A congestion control algorithm, shaped like Linux's struct tcp_congestion_ops. One instance per connection
/// holds its private state (icsk_ca_priv); the connection's cwnd and ssthresh stay in <see cref="TcpSock"/>.
/// </summary>
/// <remarks>Linux: include/net/tcp.h struct tcp_congestion_ops; net/ipv4/tcp_cong.c</remarks>
public interface ITcpCongestionOps
{
    /// <summary>The name net.ipv4.tcp_congestion_control and TCP_CONGESTION use.</summary>
    string Name { get; }

    /// <summary>init(): the connection is established; start the algorithm's state.</summary>
    void Init(TcpSock sk);

    /// <summary>ssthresh(): the slow-start threshold after a loss.</summary>
    uint SsThresh(TcpSock sk);

    /// <summary>cong_avoid(): grow cwnd for <paramref name="acked"/> newly delivered segments.</summary>
    void CongAvoid(TcpSock sk, uint acked, uint nowJiffies);

    /// <summary>set_state(): the congestion state machine moved to <paramref name="newState"/>.</summary>
    void SetState(TcpSock sk, TcpCaState newState);

    /// <summary>cwnd_event(): something happened that the algorithm may want to know.</summary>
    void CwndEvent(TcpSock sk, TcpCaEvent ev, uint nowJiffies);

    /// <summary>pkts_acked(): an ACK delivered data; <paramref name="rttUs"/> is its RTT sample (negative: none).</summary>
    void PktsAcked(TcpSock sk, uint acked, long rttUs);

    /// <summary>undo_cwnd(): the cwnd to restore when a reduction proves spurious.</summary>
    uint UndoCwnd(TcpSock sk);
}

/// <summary>The helpers congestion controls share: slow start, additive increase, the cwnd-limited test, and the registry.</summary>
/// <remarks>Linux: net/ipv4/tcp_cong.c tcp_slow_start(), tcp_cong_avoid_ai(), tcp_reno_undo_cwnd(), tcp_ca_find()</remarks>
public static class TcpCongestion
{
    /// <summary>The algorithms this stack has, by name.</summary>
    public static readonly IReadOnlyList<string> Available = ["cubic", "reno"];

    /// <summary>A fresh instance of the named algorithm for a connection of a host with this clock and these tcp_cubic parameters, or null when there is none of that name (tcp_ca_find).</summary>
    public static ITcpCongestionOps? Create(string name, Time.IScheduler clock, Configuration.CubicParameters cubic) => name switch
    {
        "cubic" => new Cubic(clock, cubic),
        "reno" => new Reno(),
        _ => null,
    };

    /// <summary>tcp_in_slow_start(): cwnd below ssthresh.</summary>
    public static bool InSlowStart(TcpSock sk) => sk.SndCwnd < sk.SndSsthresh;

    /// <summary>tcp_is_cwnd_limited(): cwnd limited the sender — or, in slow start, less than half of cwnd was used.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_is_cwnd_limited()</remarks>
    public static bool IsCwndLimited(TcpSock sk) =>
        sk.IsCwndLimited || (InSlowStart(sk) && sk.SndCwnd < 2 * sk.MaxPacketsOut);

    /// <summary>tcp_slow_start(): cwnd grows by what was acked, up to ssthresh; returns the ACKs left over.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cong.c tcp_slow_start()</remarks>
    public static uint SlowStart(TcpSock sk, uint acked)
    {
        uint cwnd = Math.Min(sk.SndCwnd + acked, sk.SndSsthresh);
        acked -= cwnd - sk.SndCwnd;
        sk.SndCwnd = cwnd;
        return acked;
    }

    /// <summary>tcp_cong_avoid_ai(): one more segment of cwnd for every <paramref name="w"/> segments acked.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cong.c tcp_cong_avoid_ai()</remarks>
    public static void CongAvoidAi(TcpSock sk, uint w, uint acked)
    {
        if (sk.SndCwndCnt >= w)
        {
            sk.SndCwndCnt = 0;
            sk.SndCwnd++;
        }
        sk.SndCwndCnt += acked;
        if (sk.SndCwndCnt >= w)
        {
            uint delta = sk.SndCwndCnt / w;
            sk.SndCwndCnt -= delta * w;
            sk.SndCwnd += delta;
        }
    }

    /// <summary>tcp_reno_undo_cwnd(): back to the cwnd before the reduction.</summary>
    public static uint RenoUndoCwnd(TcpSock sk) => Math.Max(sk.SndCwnd, sk.PriorCwnd);
}

/// <summary>NewReno (RFC 5681): halve on loss, one segment per window in congestion avoidance.</summary>
/// <remarks>Linux: net/ipv4/tcp_cong.c tcp_reno_ssthresh(), tcp_reno_cong_avoid(), tcp_reno_undo_cwnd()</remarks>
public sealed class Reno : ITcpCongestionOps
{
    public string Name => "reno";

    public uint SsThresh(TcpSock sk) => Math.Max(sk.SndCwnd >> 1, 2u);

    public void CongAvoid(TcpSock sk, uint acked, uint nowJiffies)
    {
        if (!TcpCongestion.IsCwndLimited(sk)) return;
        if (TcpCongestion.InSlowStart(sk))
        {
            acked = TcpCongestion.SlowStart(sk, acked);
            if (acked == 0) return;
        }
        TcpCongestion.CongAvoidAi(sk, sk.SndCwnd, acked);
    }

    public void Init(TcpSock sk) { }
    public void SetState(TcpSock sk, TcpCaState newState) { }
    public void CwndEvent(TcpSock sk, TcpCaEvent ev, uint nowJiffies) { }
    public void PktsAcked(TcpSock sk, uint acked, long rttUs) { }
    public uint UndoCwnd(TcpSock sk) => TcpCongestion.RenoUndoCwnd(sk);
}
