namespace Xmit.Transport.Tcp;

/// <summary>
/// Which job the one transmit timer is armed for (icsk_pending): Linux multiplexes the RTO, the tail loss
/// probe, RACK's reordering timeout and the zero-window / resource probe on one timer.
/// </summary>
/// <remarks>Linux: include/net/inet_connection_sock.h ICSK_TIME_RETRANS, ICSK_TIME_PROBE0, ICSK_TIME_LOSS_PROBE, ICSK_TIME_REO_TIMEOUT</remarks>
public enum TcpXmitTimer : byte
{
    None,
    Retransmit,
    /// <summary>Nothing in flight but data queued: probe the window, or retry what local congestion dropped.</summary>
    Probe0,
    LossProbe,
    ReorderTimeout,
}

/// <summary>The nonagle bits: TCP_NODELAY, TCP_CORK, and a one-shot "send now" for the current push.</summary>
/// <remarks>Linux: include/net/tcp.h TCP_NAGLE_OFF, TCP_NAGLE_CORK, TCP_NAGLE_PUSH</remarks>
[Flags]
public enum NagleMode : byte
{
    /// <summary>Nagle's algorithm on (the default).</summary>
    On = 0,
    Off = 1,
    Cork = 2,
    Push = 4,
}
