using Xmit.Time;

namespace Xmit.Transport.Tcp;

/// <summary>
/// The delayed-ACK state of one connection (icsk_ack): whether an ACK is owed, the quick-ACK budget,
/// ping-pong (interactive) mode, the ACK timeout ato and when data last arrived, and the timer.
/// </summary>
/// <remarks>Linux: include/net/inet_connection_sock.h struct inet_connection_sock icsk_ack; net/ipv4/tcp_timer.c tcp_delack_timer()</remarks>
public sealed class DelayedAck
{
    internal DelayedAck(Timer timer) => Timer = timer;

    /// <summary>ICSK_ACK_SCHED: an ACK is owed to the peer.</summary>
    internal bool Pending;
    /// <summary>ICSK_ACK_NOW: the next ACK decision sends at once (a filled gap in the sequence space).</summary>
    internal bool Now;
    /// <summary>ICSK_ACK_PUSHED / ICSK_ACK_PUSHED2: one (two) segments smaller than rcv_mss arrived since the last ACK.</summary>
    internal bool Pushed, Pushed2;
    /// <summary>icsk_ack.quick: segments still to be ACKed at once.</summary>
    internal int QuickAcks;
    /// <summary>Interactive traffic: ACKs ride on replies, the timer waits longer.</summary>
    internal bool PingPong;
    /// <summary>icsk_ack.ato: the current delayed-ACK timeout (zero before the first data).</summary>
    internal Duration Ato;
    /// <summary>icsk_ack.lrcvtime: when in-order data last arrived.</summary>
    internal Instant LastReceived;
    /// <summary>icsk_ack.timeout: the timer's nominal expiry (jiffies + ato, as an instant), before the wheel's rounding.</summary>
    internal Instant Timeout;
    internal Timer Timer { get; }
}
