using System.Buffers.Binary;

namespace Xmit.Packetdrill;

/// <summary>
/// The struct tcp_info fields a script's <c>%{ assert tcpi_… }%</c> may read, at their Linux 6.18 offsets, taken from
/// the bytes getsockopt(TCP_INFO) returns (TcpProtocol.GetInfo). Only the fields Xmit has state for are listed, so
/// a script asserting one that is not modelled (tcpi_delivery_rate, the AccECN fields…) is reported unsupported rather
/// than compared with a zero.
/// </summary>
/// <remarks>Linux: include/uapi/linux/tcp.h struct tcp_info</remarks>
internal static class TcpInfoFields
{
    private static readonly Dictionary<string, (int Offset, int Size)> Fields = new()
    {
        ["tcpi_state"] = (0, 1), ["tcpi_ca_state"] = (1, 1), ["tcpi_retransmits"] = (2, 1), ["tcpi_probes"] = (3, 1),
        ["tcpi_backoff"] = (4, 1), ["tcpi_options"] = (5, 1),
        ["tcpi_rto"] = (8, 4), ["tcpi_ato"] = (12, 4), ["tcpi_snd_mss"] = (16, 4), ["tcpi_rcv_mss"] = (20, 4),
        ["tcpi_unacked"] = (24, 4), ["tcpi_sacked"] = (28, 4), ["tcpi_lost"] = (32, 4), ["tcpi_retrans"] = (36, 4),
        ["tcpi_last_data_sent"] = (44, 4), ["tcpi_last_data_recv"] = (52, 4), ["tcpi_last_ack_recv"] = (56, 4),
        ["tcpi_pmtu"] = (60, 4), ["tcpi_rcv_ssthresh"] = (64, 4), ["tcpi_rtt"] = (68, 4), ["tcpi_rttvar"] = (72, 4),
        ["tcpi_snd_ssthresh"] = (76, 4), ["tcpi_snd_cwnd"] = (80, 4), ["tcpi_advmss"] = (84, 4), ["tcpi_reordering"] = (88, 4),
        ["tcpi_rcv_rtt"] = (92, 4), ["tcpi_rcv_space"] = (96, 4), ["tcpi_total_retrans"] = (100, 4),
        ["tcpi_pacing_rate"] = (104, 8), ["tcpi_max_pacing_rate"] = (112, 8), ["tcpi_bytes_acked"] = (120, 8),
        ["tcpi_bytes_received"] = (128, 8), ["tcpi_segs_out"] = (136, 4), ["tcpi_segs_in"] = (140, 4),
        ["tcpi_notsent_bytes"] = (144, 4), ["tcpi_min_rtt"] = (148, 4), ["tcpi_data_segs_in"] = (152, 4),
        ["tcpi_data_segs_out"] = (156, 4), ["tcpi_busy_time"] = (168, 8), ["tcpi_rwnd_limited"] = (176, 8),
        ["tcpi_sndbuf_limited"] = (184, 8), ["tcpi_delivered"] = (192, 4), ["tcpi_delivered_ce"] = (196, 4), ["tcpi_bytes_sent"] = (200, 8),
        ["tcpi_bytes_retrans"] = (208, 8), ["tcpi_reord_seen"] = (220, 4), ["tcpi_rcv_ooopack"] = (224, 4),
        ["tcpi_snd_wnd"] = (228, 4), ["tcpi_rcv_wnd"] = (232, 4), ["tcpi_rehash"] = (236, 4), ["tcpi_total_rto"] = (240, 2),
        ["tcpi_total_rto_recoveries"] = (242, 2), ["tcpi_total_rto_time"] = (244, 4),
    };

    /// <summary>The field's value in <paramref name="info"/>, or null when the name is not a modelled field.</summary>
    public static long? Read(ReadOnlySpan<byte> info, string name)
    {
        switch (name)
        {
            case "tcpi_snd_wscale": return info[6] & 15;
            case "tcpi_rcv_wscale": return info[6] >> 4;
        }
        if (!Fields.TryGetValue(name, out var f)) return null;
        return f.Size switch
        {
            1 => info[f.Offset],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(info[f.Offset..]),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(info[f.Offset..]),
            _ => (long)BinaryPrimitives.ReadUInt64LittleEndian(info[f.Offset..]),
        };
    }
}
