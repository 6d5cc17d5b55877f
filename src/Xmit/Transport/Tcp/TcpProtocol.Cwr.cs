namespace Xmit.Transport.Tcp;

/// <summary>
/// Congestion Window Reduced: a local signal of congestion — here the qdisc answering NET_XMIT_CN (or dropping,
/// NET_XMIT_DROP) for a segment — lowers ssthresh as a loss would, and PRR brings cwnd down to it over the next
/// round trip without retransmitting anything. The state ends once an ACK covers more than high_seq (snd_nxt when
/// it began), with cwnd set to ssthresh. Linux has no SNMP counter for it; tcp_info's tcpi_ca_state shows it.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_input.c tcp_enter_cwr(), tcp_init_cwnd_reduction(), tcp_end_cwnd_reduction(), tcp_fastretrans_alert() (TCP_CA_CWR)</remarks>
public sealed partial class TcpProtocol
{
    /// <summary>tcp_enter_cwr(): from Open or Disorder only; Recovery and Loss already reduce. Congestion is proven: no undo.</summary>
    internal void EnterCwr(TcpSock sk)
    {
        sk.Undo.PriorSsthresh = 0;
        if (sk.CaState >= TcpCaState.Cwr) return;
        sk.Undo.Marker = null;
        // tcp_init_cwnd_reduction()
        sk.HighSeq = sk.SndNxt;
        sk.TlpHighSeq = default;
        sk.SndCwndCnt = 0;
        sk.PriorCwnd = sk.SndCwnd;
        sk.PrrDelivered = 0;
        sk.PrrOut = 0;
        sk.SndSsthresh = sk.CongestionOps.SsThresh(sk);
        EcnQueueCwr(sk);
        SetCaState(sk, TcpCaState.Cwr);
        CwrEntered++;
    }

    /// <summary>How many times a socket of this host entered CWR (no Linux counter exists; for tests and reports).</summary>
    public long CwrEntered { get; private set; }

    /// <summary>
    /// An ACK in CWR: past high_seq (strictly — the CWR bit must have reached the receiver) the reduction ends with
    /// cwnd = ssthresh and the ACK grows cwnd as in Open (returns false); otherwise PRR sets cwnd for what was
    /// delivered (returns true: nothing else to do with this ACK's cwnd).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_fastretrans_alert(), tcp_end_cwnd_reduction(), tcp_cong_control()</remarks>
    private bool CwrAck(TcpSock sk, uint newlyAckedSacked, bool unaAdvanced, bool newlyLost = false)
    {
        if (sk.SndUna > sk.HighSeq)
        {
            if (sk.SndSsthresh < InfiniteSsthresh) sk.SndCwnd = sk.SndSsthresh;
            SetCaState(sk, TcpCaState.Open);
            return false;
        }
        CwndReduction(sk, newlyAckedSacked, unaAdvanced, newlyLost);
        return true;
    }
}
