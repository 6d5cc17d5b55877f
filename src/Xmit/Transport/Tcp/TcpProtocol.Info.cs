using System.Buffers.Binary;
using Xmit.Buffers;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// getsockopt(TCP_INFO): struct tcp_info in Linux 6.18's byte layout (280 bytes, little-endian, the AccECN fields
/// at the end), and the counters only it reports. Fields Xmit has no state for stay zero as on a kernel that never
/// set them: tcpi_fackets and tcpi_last_ack_sent (zero on Linux too), the AccECN fields,
/// tcpi_delivery_rate and tcpi_delivery_rate_app_limited (no tcp_rate_gen sampling), tcpi_dsack_dups and
/// tcpi_fastopen_client_fail.
/// </summary>
/// <remarks>Linux: include/uapi/linux/tcp.h struct tcp_info; net/ipv4/tcp.c tcp_get_info(), tcp_get_info_chrono_stats()</remarks>
public sealed partial class TcpProtocol
{
    /// <summary>sizeof(struct tcp_info) on Linux 6.18 (what tcp-fill-drain.json's captures report as their length).</summary>
    public const int TcpInfoLength = 280;

    /// <summary>TCPI_OPT_* bits of tcpi_options.</summary>
    private const byte OptTimestamps = 1, OptSack = 2, OptWscale = 4, OptEcn = 8, OptEcnSeen = 16, OptSynData = 32;

    /// <summary>
    /// tcp_get_info(): fills <paramref name="info"/> (at least <see cref="TcpInfoLength"/> bytes) as Linux does —
    /// for a listener only the state, pacing rates, reordering, cwnd and the accept backlog (tcpi_unacked) with its
    /// limit (tcpi_sacked).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_get_info()</remarks>
    public void GetInfo(TcpSock sk, Span<byte> info)
    {
        if (info.Length < TcpInfoLength) ThrowHelper.OutOfRange(nameof(info));
        info = info[..TcpInfoLength];
        info.Clear();
        info[0] = (byte)sk.State;
        U64(info, 104, sk.PacingRate);
        U64(info, 112, sk.MaxPacingRate);
        U32(info, 88, sk.Reordering);
        U32(info, 80, sk.SndCwnd);
        if (sk.State == TcpState.Listen)
        {
            U32(info, 24, (uint)sk.AcceptQueueLength);
            U32(info, 28, (uint)sk.Backlog);
            return;
        }
        info[1] = (byte)sk.CaState;
        info[2] = (byte)Math.Min(sk.Retransmits, 255);
        info[3] = (byte)Math.Min(sk.ProbesOut, 255);
        info[4] = (byte)Math.Min(sk.Backoff, 255);
        byte options = 0;
        if (sk.TimestampOk) options |= OptTimestamps;
        if (sk.SackOk) options |= OptSack;
        if (sk.SynDataAcked) options |= OptSynData;
        if ((sk.Ecn & TcpEcnFlags.Ok) != 0) options |= OptEcn;
        if ((sk.Ecn & TcpEcnFlags.Seen) != 0) options |= OptEcnSeen;
        if (sk.WscaleOk)
        {
            options |= OptWscale;
            info[6] = (byte)((sk.SndWscale & 15) | (sk.RcvWscale << 4)); // tcpi_snd_wscale:4, tcpi_rcv_wscale:4
        }
        info[5] = options;
        U32(info, 8, JiffiesToUsecs(sk.Rtt.Rto)); // icsk_rto is kept in jiffies: a fraction of one counts whole
        U32(info, 12, (uint)(Duration.Min(sk.Delack.Ato, DelackMax).Nanoseconds / 1000));
        U32(info, 16, (uint)sk.MssCache);
        U32(info, 20, (uint)sk.RcvMss);
        U32(info, 24, sk.PacketsOut);
        U32(info, 28, sk.SackedOut);
        U32(info, 32, sk.LostOut);
        U32(info, 36, sk.RetransOut);
        uint now = Jiffies;
        // jiffies_to_msecs(now - lsndtime / lrcvtime / rcv_tstamp): stamps in jiffies, whole ticks (4 ms at HZ=250).
        U32(info, 44, MsecsSince(sk.LastSendTime));
        U32(info, 52, MsecsSince(sk.Delack.LastReceived));
        U32(info, 56, MsecsSince(sk.RcvTstamp));
        U32(info, 60, (uint)sk.PmtuCookie);
        U32(info, 64, sk.RcvSsthresh);
        U32(info, 68, (uint)sk.Rtt.SrttUs);
        U32(info, 72, (uint)sk.Rtt.RttVarUs);
        U32(info, 76, sk.SndSsthresh);
        U32(info, 84, (uint)sk.AdvMss);
        U32(info, 92, (uint)(sk.RcvRttUs8 >> 3));
        U32(info, 96, (uint)sk.RcvqSpace);
        U32(info, 100, sk.TotalRetrans);
        U64(info, 120, sk.BytesAcked);
        U64(info, 128, sk.BytesReceived);
        U32(info, 136, sk.SegsOut);
        U32(info, 140, sk.SegsIn);
        U32(info, 144, (uint)Math.Max(0, sk.NotSentBytes));
        U32(info, 148, sk.Rtt.MinRttUs == long.MaxValue ? uint.MaxValue : (uint)sk.Rtt.MinRttUs); // tcp_min_rtt(): ~0U before a sample
        U32(info, 152, sk.DataSegsIn);
        U32(info, 156, sk.DataSegsOut);
        ChronoStats(sk, info);
        U32(info, 192, (uint)sk.Delivered);
        U32(info, 196, (uint)sk.DeliveredCe);
        U64(info, 200, sk.BytesSent);
        U64(info, 208, sk.BytesRetrans);
        U32(info, 220, (uint)sk.ReordSeen);
        U32(info, 224, sk.RcvOooPack);
        U32(info, 228, sk.SndWnd);
        U32(info, 232, sk.RcvWnd);
        U32(info, 236, (uint)sk.TimeoutRehash); // tcpi_rehash: PLB is not modelled, so the timeouts' rehashes alone
        U16(info, 240, sk.TotalRto);
        U16(info, 242, sk.TotalRtoRecoveries);
        U32(info, 244, sk.TotalRtoTimeMs + (sk.RtoStamp is { } rto ? now - ToJiffies(rto) : 0)); // the running episode too
    }

    /// <summary>tcp_get_info_chrono_stats(): µs in each state, the running one included; tcpi_busy_time is their sum.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_get_info_chrono_stats()</remarks>
    private void ChronoStats(TcpSock sk, Span<byte> info)
    {
        ulong total = 0;
        Span<ulong> stats = stackalloc ulong[3];
        for (int i = 0; i < 3; i++)
        {
            ulong j = sk.ChronoStat[i];
            if ((int)sk.ChronoType == i + 1) j += Jiffies - sk.ChronoStart;
            stats[i] = j * 1000; // USEC_PER_SEC / HZ with HZ = 1000
            total += stats[i];
        }
        U64(info, 168, total);
        U64(info, 176, stats[1]);
        U64(info, 184, stats[2]);
    }

    /// <summary>jiffies_to_usecs(usecs_to_jiffies(d)): a duration as the kernel holds it, in whole jiffies (HZ = 1000), rounded up.</summary>
    private static uint JiffiesToUsecs(Duration d) => (uint)((d.Nanoseconds + 999_999) / 1_000_000 * 1000);

    private static uint ToJiffies(Instant t) => (uint)(t.Nanoseconds / 1_000_000);

    /// <summary>The milliseconds from a jiffies stamp to now, as jiffies_to_msecs() of their difference gives them.</summary>
    private uint MsecsSince(Instant stamp) => (uint)(JiffiesClock.Elapsed(stamp, Now).Nanoseconds / 1_000_000);

    private static void U32(Span<byte> b, int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b[at..], v);

    private static void U16(Span<byte> b, int at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b[at..], v);

    private static void U64(Span<byte> b, int at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b[at..], v);

    /// <summary>__tcp_transmit_skb(): segs_out for every segment, data_segs_out and bytes_sent for those with payload.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c __tcp_transmit_skb()</remarks>
    private static void CountSent(TcpSock sk, int segs, int payload)
    {
        sk.SegsOut += (uint)segs;
        if (payload == 0) return;
        sk.DataSegsOut += (uint)segs;
        sk.BytesSent += (ulong)payload;
    }

    /// <summary>tcp_segs_in(): a segment reached this socket — its GSO segments, and those with payload as data.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_segs_in()</remarks>
    private static void SegsInCount(TcpSock sk, SkBuff skb, int payload)
    {
        uint segs = skb.GsoSize > 0 && payload > 0 ? (uint)((payload + skb.GsoSize - 1) / skb.GsoSize) : 1;
        sk.SegsIn += segs;
        if (payload > 0) sk.DataSegsIn += segs;
    }

    /// <summary>tcp_snd_una_update(): snd_una moves to <paramref name="ack"/>; bytes_acked counts the distance.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_snd_una_update()</remarks>
    private static void SndUnaUpdate(TcpSock sk, TcpSeq ack)
    {
        // A passive open's SYN-ACK is not counted: Linux's child starts with snd_una past it (tcp_create_openreq_child).
        bool synAck = sk.State == TcpState.SynRecv && sk.SndUna == sk.Iss;
        if (ack > sk.SndUna && !synAck) sk.BytesAcked += ack - sk.SndUna;
        else if (ack > sk.SndUna + 1) sk.BytesAcked += ack - sk.SndUna - 1;
        sk.SndUna = ack;
    }

    /// <summary>tcp_rcv_nxt_update(): rcv_nxt moves to <paramref name="seq"/>; bytes_received counts the distance.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_nxt_update()</remarks>
    private static void RcvNxtUpdate(TcpSock sk, TcpSeq seq)
    {
        if (seq > sk.RcvNxt) sk.BytesReceived += seq - sk.RcvNxt;
        sk.RcvNxt = seq;
    }
}
