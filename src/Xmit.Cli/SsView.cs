using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Xmit.Hosting;
using Xmit.Transport.Tcp;

namespace Xmit.Cli;

/// <summary>
/// One TCP socket as `ss -tmin` prints it: the state line (State, Recv-Q, Send-Q, local and peer address:port) and
/// the continuation line with skmem:(…) and tcp_stats_print()'s fields in its order, each printed only when non-zero
/// as ss does. The tcp_info fields are read from the bytes getsockopt(TCP_INFO) would return (TcpProtocol.GetInfo),
/// so they are what a Linux tool would see.
/// </summary>
/// <remarks>
/// skmem's f (sk_forward_alloc) and o (optmem) are 0: Xmit has no forward allocation and no socket options memory;
/// d (sk_drops) is not counted, so it is left out, as ss leaves it out for a kernel that does not report it.
/// Linux: iproute2 misc/ss.c tcp_show_info(), tcp_stats_print(), print_skmeminfo(), sprint_bw();
/// net/ipv4/tcp_diag.c tcp_diag_get_info() (Recv-Q rcv_nxt − copied_seq, Send-Q write_seq − snd_una)
/// </remarks>
public static class SsView
{
    public const string Header = "State      Recv-Q  Send-Q        Local Address:Port         Peer Address:Port";

    public static IReadOnlyList<string> Lines(Host host, TcpSock sk)
    {
        var inv = CultureInfo.InvariantCulture;
        var info = new byte[TcpProtocol.TcpInfoLength];
        host.Tcp.GetInfo(sk, info);
        // A listener's queues are its accept queue and backlog limit, which tcp_get_info puts in tcpi_unacked and tcpi_sacked.
        var i = new Info(info);
        long recvQ = sk.State == TcpState.Listen ? i.U32(24) : Math.Max(0, (int)(sk.RcvNxt - sk.CopiedSeq));
        long sendQ = sk.State == TcpState.Listen ? i.U32(28) : (int)(sk.WriteSeq - sk.SndUna);
        string local = $"{sk.LocalAddress}:{sk.LocalPort}", peer = sk.State == TcpState.Listen ? "0.0.0.0:*" : $"{sk.RemoteAddress}:{sk.RemotePort}";
        string state = string.Create(inv, $"{StateName(sk.State),-10} {recvQ,-7} {sendQ,-7} {local,20} {peer,20}");
        var b = new StringBuilder("\t");
        b.Append(inv, $" skmem:(r{sk.RmemAlloc},rb{sk.RcvBuf},t{sk.WmemAlloc},tb{sk.SndBuf},f0,w{sk.WmemQueued},o0,bl0)");
        Stats(b, i, sk.CongestionOps.Name);
        return [state, b.ToString()];
    }

    /// <summary>tcp_stats_print() over what tcp_show_info() takes from tcp_info.</summary>
    private static void Stats(StringBuilder b, Info i, string cong)
    {
        var inv = CultureInfo.InvariantCulture;
        void Out(FormattableString s) => b.Append(s.ToString(inv));
        byte options = i.U8(5);
        if ((options & 1) != 0) Out($" ts");
        if ((options & 2) != 0) Out($" sack");
        if ((options & 32) != 0) Out($" fastopen");
        Out($" {cong}");
        if ((options & 4) != 0) Out($" wscale:{i.U8(6) & 15},{i.U8(6) >> 4}");
        uint rto = i.U32(8);
        if (rto != 0 && rto != 3_000_000) Out($" rto:{G(rto / 1000.0)}");
        if (i.U8(4) != 0) Out($" backoff:{i.U8(4)}");
        double rtt = i.U32(68) / 1000.0;
        if (rtt != 0) Out($" rtt:{G(rtt)}/{G(i.U32(72) / 1000.0)}");
        if (i.U32(12) != 0) Out($" ato:{G(i.U32(12) / 1000.0)}");
        uint mss = i.U32(16), cwnd = i.U32(80);
        Nz(b, "mss", mss); Nz(b, "pmtu", i.U32(60)); Nz(b, "rcvmss", i.U32(20)); Nz(b, "advmss", i.U32(84)); Nz(b, "cwnd", cwnd);
        if (i.U32(76) is var ssthresh and > 0 and < 0xFFFF) Out($" ssthresh:{ssthresh}");
        Nz(b, "bytes_sent", i.U64(200)); Nz(b, "bytes_retrans", i.U64(208)); Nz(b, "bytes_acked", i.U64(120)); Nz(b, "bytes_received", i.U64(128));
        Nz(b, "segs_out", i.U32(136)); Nz(b, "segs_in", i.U32(140)); Nz(b, "data_segs_out", i.U32(156)); Nz(b, "data_segs_in", i.U32(152));
        if (rtt > 0 && mss > 0 && cwnd > 0) Out($" send {Bw(cwnd * (double)mss * 8_000_000 / i.U32(68))}bps");
        Nz(b, "lastsnd", i.U32(44)); Nz(b, "lastrcv", i.U32(52)); Nz(b, "lastack", i.U32(56));
        ulong pacing = i.U64(104), maxPacing = i.U64(112);
        if (pacing != 0 && pacing != ulong.MaxValue)
        {
            Out($" pacing_rate {Bw(pacing * 8.0)}bps");
            if (maxPacing != 0 && maxPacing != ulong.MaxValue) Out($"/{Bw(maxPacing * 8.0)}bps");
        }
        Nz(b, "delivered", i.U32(192));
        ulong busy = i.U64(168), rwnd = i.U64(176), sndbuf = i.U64(184);
        if (busy != 0)
        {
            Out($" busy:{busy / 1000}ms");
            if (rwnd != 0) Out($" rwnd_limited:{rwnd / 1000}ms({100.0 * rwnd / busy:0.0}%)");
            if (sndbuf != 0) Out($" sndbuf_limited:{sndbuf / 1000}ms({100.0 * sndbuf / busy:0.0}%)");
        }
        Nz(b, "unacked", i.U32(24));
        if (i.U32(36) != 0 || i.U32(100) != 0) Out($" retrans:{i.U32(36)}/{i.U32(100)}");
        Nz(b, "lost", i.U32(32)); Nz(b, "sacked", i.U32(28));
        if (i.U32(88) != 3) Out($" reordering:{i.U32(88)}");
        Nz(b, "reord_seen", i.U32(220));
        if (i.U32(92) != 0) Out($" rcv_rtt:{G(i.U32(92) / 1000.0)}");
        Nz(b, "rcv_space", i.U32(96)); Nz(b, "rcv_ssthresh", i.U32(64)); Nz(b, "notsent", i.U32(144));
        if (i.U32(148) != 0) Out($" minrtt:{G(i.U32(148) / 1000.0)}");
        Nz(b, "rcv_ooopack", i.U32(224)); Nz(b, "snd_wnd", i.U32(228)); Nz(b, "rcv_wnd", i.U32(232));
    }

    private static void Nz(StringBuilder b, string name, ulong v)
    {
        if (v != 0) b.Append(' ').Append(name).Append(':').Append(v.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>printf's %g: six significant digits, no trailing zeros.</summary>
    public static string G(double v) => v.ToString("G6", CultureInfo.InvariantCulture).Replace('E', 'e');

    /// <summary>sprint_bw(): three significant digits and k, M, G or T.</summary>
    public static string Bw(double bw)
    {
        string G3(double v) => v.ToString("G3", CultureInfo.InvariantCulture).Replace('E', 'e');
        return bw >= 1e12 ? G3(bw / 1e12) + "T" : bw >= 1e9 ? G3(bw / 1e9) + "G" : bw >= 1e6 ? G3(bw / 1e6) + "M" : bw >= 1e3 ? G3(bw / 1e3) + "k" : G(bw);
    }

    /// <summary>ss's sstate_name[].</summary>
    private static string StateName(TcpState s) => s switch
    {
        TcpState.Established => "ESTAB", TcpState.SynSent => "SYN-SENT", TcpState.SynRecv => "SYN-RECV", TcpState.FinWait1 => "FIN-WAIT-1",
        TcpState.FinWait2 => "FIN-WAIT-2", TcpState.TimeWait => "TIME-WAIT", TcpState.Close => "UNCONN", TcpState.CloseWait => "CLOSE-WAIT",
        TcpState.LastAck => "LAST-ACK", TcpState.Listen => "LISTEN", TcpState.Closing => "CLOSING", _ => "UNKNOWN",
    };

    private readonly struct Info(byte[] bytes)
    {
        public byte U8(int at) => bytes[at];
        public uint U32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
        public ulong U64(int at) => BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
    }
}
