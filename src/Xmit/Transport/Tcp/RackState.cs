using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// RACK (RFC 8985): the most recently sent skb known to be delivered — when it was sent, where it ended — and
/// the RTT it implied; segments sent before it are lost once that RTT plus the reordering window has passed.
/// </summary>
/// <remarks>Linux: include/linux/tcp.h struct tcp_rack; net/ipv4/tcp_recovery.c</remarks>
public sealed class RackState
{
    /// <summary>rack.mstamp: send time of the latest delivered skb (<see cref="Instant.Zero"/>: none yet).</summary>
    internal Instant SentAt;
    /// <summary>rack.end_seq.</summary>
    internal TcpSeq EndSeq;
    /// <summary>rack.rtt_us.</summary>
    internal long RttUs;

    internal bool HasSample => SentAt != Instant.Zero;
}
