using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// icsk_mtup and tp->mtu_probe: packetization-layer path MTU discovery's binary search (RFC 4821) — the MTUs known
/// to work (search_low) and not known to (search_high), the probe in flight if any (its MTU and sequence range),
/// and when probing last (re)started.
/// </summary>
/// <remarks>Linux: include/net/inet_connection_sock.h struct inet_connection_sock icsk_mtup; include/linux/tcp.h mtu_probe</remarks>
internal sealed class MtuProbeState
{
    public bool Enabled;
    public int SearchHigh, SearchLow;
    /// <summary>The MTU of the probe in flight; 0 when none is.</summary>
    public int ProbeSize;
    public Time.Instant ProbeTimestamp;
    public TcpSeq ProbeSeqStart, ProbeSeqEnd;
}
