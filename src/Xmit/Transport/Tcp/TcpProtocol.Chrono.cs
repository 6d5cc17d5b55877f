namespace Xmit.Transport.Tcp;

/// <summary>
/// The sender's chronograph: how long it had data to send (busy), and for how much of that it was held by the
/// peer's receive window or by its own send buffer. One state runs at a time; a higher one (sndbuf over rwnd over
/// busy) replaces a lower one, and stopping the running one falls back to busy while data is queued. Kept in
/// jiffies as Linux does, so tcp_info reports whole milliseconds.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_output.c tcp_chrono_set(), tcp_chrono_start(), tcp_chrono_stop()</remarks>
public sealed partial class TcpProtocol
{
    /// <summary>tcp_chrono_set(): the time in the old state is banked, the new one starts now.</summary>
    private void ChronoSet(TcpSock sk, TcpChrono type)
    {
        uint now = Jiffies;
        if (sk.ChronoType > TcpChrono.Unspec) sk.ChronoStat[(int)sk.ChronoType - 1] += now - sk.ChronoStart;
        sk.ChronoStart = now;
        sk.ChronoType = type;
    }

    /// <summary>tcp_chrono_start(): only a more interesting state than the running one takes over.</summary>
    private void ChronoStart(TcpSock sk, TcpChrono type)
    {
        if (type > sk.ChronoType) ChronoSet(sk, type);
    }

    /// <summary>tcp_chrono_stop(): nothing queued at all ends the chronograph; the running state ending goes back to busy.</summary>
    private void ChronoStop(TcpSock sk, TcpChrono type)
    {
        if (sk.WriteQueue.IsEmpty) ChronoSet(sk, TcpChrono.Unspec); // tcp_rtx_and_write_queues_empty()
        else if (type == sk.ChronoType) ChronoSet(sk, TcpChrono.Busy);
    }

    /// <summary>
    /// tcp_cwnd_validate()'s starvation case: cwnd was not the limit, everything written is sent and the writer
    /// is waiting for buffer space — the send buffer is what holds the connection back.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_cwnd_validate()</remarks>
    private void ChronoCheckSndbufLimited(TcpSock sk)
    {
        if (!TcpCongestion.IsCwndLimited(sk) && sk.SendHead is null && sk.NoSpace && sk.State is TcpState.Established or TcpState.CloseWait)
            ChronoStart(sk, TcpChrono.SndbufLimited);
    }
}
