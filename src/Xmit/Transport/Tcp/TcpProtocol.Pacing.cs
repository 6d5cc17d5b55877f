using Xmit.Buffers;

namespace Xmit.Transport.Tcp;

/// <summary>
/// TCP's own pacing, for a socket that asked for it (SO_MAX_PACING_RATE: SK_PACING_NEEDED) when no fq qdisc paces it:
/// each skb sent moves the departure time on by its length at the pacing rate (tcp_update_skb_after_send), and
/// tcp_write_xmit and the retransmission loop stop while that time is ahead, with a high-resolution timer set for it
/// whose expiry pushes again as a TX completion would (tcp_pace_kick → tcp_tsq_handler).
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_output.c tcp_pacing_check(), tcp_needs_internal_pacing(), tcp_pace_kick()</remarks>
public sealed partial class TcpProtocol
{
    /// <summary>tcp_pacing_check(): true when the next skb must wait for its departure time (the pacing timer is then armed for it).</summary>
    private bool PacingCheck(TcpSock sk)
    {
        if (sk.PacingStatus != SkPacingStatus.Needed || sk.Wstamp <= Now) return false;
        if (!sk.PacingTimer.IsArmed) _clock.Arm(sk.PacingTimer, sk.Wstamp);
        return true;
    }

    /// <summary>SO_MAX_PACING_RATE on a TCP socket: the pacing rate drops to the cap at once (sk_pacing_rate = min(…)).</summary>
    internal static void CapPacingRate(TcpSock sk, ulong max) => sk.PacingRate = Math.Min(sk.PacingRate, max);
}
