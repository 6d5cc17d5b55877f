using Xmit.Transport.Tcp;

namespace Xmit.Applications;

/// <summary>
/// A few fields of struct tcp_info, taken at one instant (what <c>ss -ti</c> shows): the state, the congestion
/// state and window, the RTT estimator, the segments in flight, the windows.
/// </summary>
/// <param name="State">tcpi_state.</param>
/// <param name="CongestionState">tcpi_ca_state: Open, Disorder, CWR, Recovery, Loss.</param>
/// <param name="SendMss">tcpi_snd_mss: the current MSS.</param>
/// <param name="AdvertisedMss">tcpi_advmss.</param>
/// <param name="CongestionWindow">tcpi_snd_cwnd, in segments.</param>
/// <param name="SlowStartThreshold">tcpi_snd_ssthresh, in segments.</param>
/// <param name="SmoothedRtt">tcpi_rtt.</param>
/// <param name="RttVariance">tcpi_rttvar.</param>
/// <param name="RetransmissionTimeout">tcpi_rto.</param>
/// <param name="Unacked">tcpi_unacked: segments sent and not yet acknowledged.</param>
/// <param name="Retransmitting">tcpi_retrans: retransmitted segments still out.</param>
/// <param name="Lost">tcpi_lost: segments marked lost.</param>
/// <param name="Delivered">tcpi_delivered: segments delivered, retransmissions included.</param>
/// <param name="SendWindow">tcpi_snd_wnd: the peer's window, in bytes.</param>
/// <param name="ReceiveWindow">tcpi_rcv_wnd: the window last announced, in bytes.</param>
public readonly record struct TcpInfo(
    TcpState State, TcpCaState CongestionState, int SendMss, int AdvertisedMss, uint CongestionWindow, uint SlowStartThreshold,
    TimeSpan SmoothedRtt, TimeSpan RttVariance, TimeSpan RetransmissionTimeout, uint Unacked, uint Retransmitting, uint Lost,
    long Delivered, uint SendWindow, uint ReceiveWindow)
{
    /// <remarks>Linux: net/ipv4/tcp.c tcp_get_info()</remarks>
    internal static TcpInfo From(TcpSock sk) => new(
        sk.State, sk.CaState, sk.MssCache, sk.AdvMss, sk.SndCwnd, sk.SndSsthresh,
        TimeSpan.FromMicroseconds(sk.SmoothedRttUs), TimeSpan.FromMicroseconds(sk.RttVarUs),
        TimeSpan.FromTicks(sk.Rtt.Rto.Nanoseconds / 100), sk.PacketsOut, sk.RetransOut, sk.LostOut,
        sk.Delivered, sk.SndWnd, sk.RcvWnd);
}
