using Xmit.Time;

namespace Xmit.Transport.Tcp;

/// <summary>The chronograph states of tcp_sock, in Linux's priority order: a higher one replaces a lower one.</summary>
/// <remarks>Linux: include/linux/tcp.h enum tcp_chrono</remarks>
public enum TcpChrono : byte { Unspec = 0, Busy = 1, RwndLimited = 2, SndbufLimited = 3 }

/// <summary>
/// The tcp_sock counters that exist only to be reported (struct tcp_info, RFC 4898's tcpEStats), and the
/// chronograph of why the sender is not sending (tcp_chrono_*). Nothing in the protocol reads them back.
/// </summary>
/// <remarks>Linux: include/linux/tcp.h struct tcp_sock segs_in, segs_out, bytes_acked, bytes_received, chrono_start, chrono_stat, chrono_type</remarks>
public sealed partial class TcpSock
{
    /// <summary>segs_out / data_segs_out: segments handed to IP (TSO skbs as their segments), all of them / those with payload.</summary>
    public uint SegsOut { get; internal set; }
    public uint DataSegsOut { get; internal set; }
    /// <summary>segs_in / data_segs_in: segments received on this socket (GRO skbs as their segments).</summary>
    public uint SegsIn { get; internal set; }
    public uint DataSegsIn { get; internal set; }
    /// <summary>bytes_sent / bytes_retrans: payload handed to IP, and the part of it that was retransmitted.</summary>
    public ulong BytesSent { get; internal set; }
    public ulong BytesRetrans { get; internal set; }
    /// <summary>bytes_acked: how far snd_una moved (tcp_snd_una_update), the SYN and FIN included.</summary>
    public ulong BytesAcked { get; internal set; }
    /// <summary>bytes_received: how far rcv_nxt moved (tcp_rcv_nxt_update), a FIN included.</summary>
    public ulong BytesReceived { get; internal set; }
    /// <summary>total_retrans: segments retransmitted over the connection's life.</summary>
    public uint TotalRetrans { get; internal set; }

    /// <summary>tp->timeout_rehash: retransmission timeouts that drew a new sk_txhash (tcp_info tcpi_rehash counts them).</summary>
    public uint TimeoutRehash { get; internal set; }
    /// <summary>rcv_tstamp: when an ACK was last received (tcpi_last_ack_recv).</summary>
    internal Instant RcvTstamp;
    /// <summary>rcv_ooopack: segments queued out of order.</summary>
    internal uint RcvOooPack;

    /// <summary>chrono_type: what the sender is doing now; <see cref="ChronoStart"/> in jiffies since then.</summary>
    public TcpChrono ChronoType { get; internal set; }
    internal uint ChronoStart;
    /// <summary>chrono_stat[]: jiffies spent in Busy, RwndLimited, SndbufLimited (index = state − 1).</summary>
    internal readonly uint[] ChronoStat = new uint[3];
}
