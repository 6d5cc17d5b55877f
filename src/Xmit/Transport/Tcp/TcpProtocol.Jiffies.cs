using Xmit.Time;

namespace Xmit.Transport.Tcp;

/// <summary>
/// TCP's timer_list timers — retransmission, loss probe, reordering, zero-window probe, delayed ACK, TIME-WAIT and the
/// request socks' SYN-ACK timers — counted in the host's jiffies and fired by its timer wheel (the pacing timer and
/// the TSQ tasklet are hrtimers and stay exact).
/// </summary>
public sealed partial class TcpProtocol
{
    /// <summary>The host's jiffies (CONFIG_HZ=250 unless set otherwise; HZ 0 makes every timer exact).</summary>
    public JiffiesClock JiffiesClock { get; init; } = new();

    /// <summary>
    /// sk_reset_timer(sk, timer, jiffies + timeout): the timeout in whole jiffies from the current tick, fired by the
    /// wheel on the tick of its bucket — one tick after the expiry when under 63 ticks away, later on coarser levels.
    /// </summary>
    /// <remarks>Linux: net/core/sock.c sk_reset_timer(); include/net/inet_connection_sock.h inet_csk_reset_xmit_timer(); kernel/time/timer.c mod_timer()</remarks>
    private void ResetTimer(Timer timer, Duration timeout) => _clock.Arm(timer, JiffiesClock.Expiry(Now, timeout));

    /// <summary>
    /// The delayed-ACK timer to nominal expiry <paramref name="deadline"/> (icsk_ack.timeout, in jiffies), which later
    /// ACK decisions compare with; the wheel fires it on its bucket's tick.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_send_delayed_ack(); include/net/inet_connection_sock.h inet_csk_reset_xmit_timer() ICSK_TIME_DACK</remarks>
    private void ResetDelackTimer(TcpSock sk, Instant deadline)
    {
        sk.Delack.Timeout = deadline;
        _clock.Arm(sk.Delack.Timer, JiffiesClock.FireTime(Now, deadline));
    }
}
