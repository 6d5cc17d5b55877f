using System.Buffers.Binary;
using System.Text.Json;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// getsockopt(TCP_INFO) read back with the offsets scripts/lib/linux_socket.py tcpinfo() reads Linux's with, and
/// compared with Linux 6.18's struct tcp_info in linux-truth/tcp-fill-drain.json for the same situations: right
/// after the handshake on a veth pair, and at the zero-window stall after the fill (the chronograph).
/// </summary>
public class TcpInfoTests
{
    private static readonly JsonElement Truth = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "tcp-fill-drain.json"))).RootElement;

    private static readonly string[] U32 = ["rto", "ato", "snd_mss", "rcv_mss", "unacked", "sacked", "lost", "retrans", "fackets",
        "last_data_sent", "last_ack_sent", "last_data_recv", "last_ack_recv", "pmtu", "rcv_ssthresh", "rtt", "rttvar", "snd_ssthresh",
        "snd_cwnd", "advmss", "reordering", "rcv_rtt", "rcv_space", "total_retrans"];

    /// <summary>linux_socket.py tcpinfo(): the same names at the same offsets.</summary>
    internal static Dictionary<string, ulong> Decode(ReadOnlySpan<byte> b)
    {
        var d = new Dictionary<string, ulong>();
        string[] bytes = ["state", "ca_state", "retransmits", "probes", "backoff", "options"];
        for (int i = 0; i < bytes.Length; i++) d[bytes[i]] = b[i];
        d["snd_wscale"] = (ulong)(b[6] & 15);
        d["rcv_wscale"] = (ulong)(b[6] >> 4);
        for (int i = 0; i < U32.Length; i++) d[U32[i]] = BinaryPrimitives.ReadUInt32LittleEndian(b[(8 + 4 * i)..]);
        string[] q1 = ["pacing_rate", "max_pacing_rate", "bytes_acked", "bytes_received"];
        for (int i = 0; i < q1.Length; i++) d[q1[i]] = BinaryPrimitives.ReadUInt64LittleEndian(b[(104 + 8 * i)..]);
        string[] u2 = ["segs_out", "segs_in", "notsent_bytes", "min_rtt", "data_segs_in", "data_segs_out"];
        for (int i = 0; i < u2.Length; i++) d[u2[i]] = BinaryPrimitives.ReadUInt32LittleEndian(b[(136 + 4 * i)..]);
        string[] q2 = ["delivery_rate", "busy_time", "rwnd_limited", "sndbuf_limited"];
        for (int i = 0; i < q2.Length; i++) d[q2[i]] = BinaryPrimitives.ReadUInt64LittleEndian(b[(160 + 8 * i)..]);
        d["delivered"] = BinaryPrimitives.ReadUInt32LittleEndian(b[192..]);
        d["snd_wnd"] = BinaryPrimitives.ReadUInt32LittleEndian(b[228..]);
        d["rcv_wnd"] = BinaryPrimitives.ReadUInt32LittleEndian(b[232..]);
        d["_len"] = (ulong)b.Length;
        return d;
    }

    internal static Dictionary<string, ulong> Info(Syscalls s, int fd)
    {
        var buf = new byte[512];
        Assert.Equal(0, s.GetSockOpt(fd, SockOpt.IPPROTO_TCP, SockOpt.TCP_INFO, buf, out int len));
        return Decode(buf.AsSpan(0, len));
    }

    /// <summary>Timing-dependent on any machine (the RTT of a veth pair, and the pacing rate and minimum RTT derived from it).</summary>
    private static readonly HashSet<string> Timing = ["rtt", "rttvar", "min_rtt", "pacing_rate"];

    /// <summary>
    /// Times Linux keeps in jiffies: the capture's kernel ran HZ = 250 (every time it reports is a multiple of 4 ms:
    /// rto 204000 is 200 ms + 42 µs rounded up to a 4 ms jiffy), and so do Xmit's hosts — these agree exactly now
    /// (they were allowed 4 ms while Xmit's jiffy was 1 ms).
    /// </summary>
    private static readonly Dictionary<string, ulong> JiffyTolerance = new();

    [Fact]
    public void After_the_handshake_both_ends_report_linuxs_tcp_info_except_the_measured_rtt()
    {
        using var net = new TwoHosts(LinkConfig.Veth);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5001);
        var linux = Truth.GetProperty("variants")[0].GetProperty("after_handshake");
        foreach (var (name, s, fd) in new[] { ("A", tcp.A, tcp.Client), ("B", tcp.B, tcp.Server) })
        {
            var ours = Info(s, fd);
            var mismatches = new List<string>();
            foreach (var p in linux.GetProperty(name).GetProperty("tcp_info").EnumerateObject())
            {
                if (Timing.Contains(p.Name)) continue;
                ulong theirs = p.Value.GetUInt64();
                ulong tol = JiffyTolerance.GetValueOrDefault(p.Name);
                if (!ours.TryGetValue(p.Name, out ulong v) || (v > theirs ? v - theirs : theirs - v) > tol) mismatches.Add($"{p.Name}: Linux {theirs}, Xmit {(ours.TryGetValue(p.Name, out v) ? v : "missing")}");
            }
            Assert.True(mismatches.Count == 0, $"{name}: " + string.Join("; ", mismatches));
        }
        tcp.Close();
    }

    [Fact]
    public void Tcp_info_is_truncated_to_the_callers_length_and_an_int_option_reads_as_four_bytes()
    {
        using var net = new TwoHosts(LinkConfig.Veth);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5001);
        var small = new byte[104];
        Assert.Equal(0, tcp.A.GetSockOpt(tcp.Client, SockOpt.IPPROTO_TCP, SockOpt.TCP_INFO, small, out int len));
        Assert.Equal(104, len);
        Assert.Equal(1, small[0]); // TCP_ESTABLISHED
        var full = new byte[1024];
        Assert.Equal(0, tcp.A.GetSockOpt(tcp.Client, SockOpt.IPPROTO_TCP, SockOpt.TCP_INFO, full, out len));
        Assert.Equal(280, len); // sizeof(struct tcp_info) on 6.18, the _len of every capture
        var four = new byte[8];
        Assert.Equal(0, tcp.A.GetSockOpt(tcp.Client, SockOpt.IPPROTO_TCP, SockOpt.TCP_MAXSEG, four, out len));
        Assert.Equal(4, len);
        Assert.Equal(1448, BinaryPrimitives.ReadInt32LittleEndian(four));
        tcp.Close();
    }

    /// <summary>
    /// The fill of TcpFillTimelineTests (writes of 1000 or 16384 bytes until EAGAIN, then top-ups every 2 ms until the
    /// zero window has accepted nothing for 300 ms): busy from the first write, receive-window limited from when the
    /// window closed, never send-buffer limited (there is always unsent data). Linux's clock here is a 4 ms jiffy
    /// (HZ = 250) and its delayed ACK fires at 44 ms where ours fires at 40 (TcpFillTimelineTests): the window closes
    /// after two delayed-ACK rounds, so the busy time before it (busy − rwnd_limited; Linux 88 and 48 ms) may differ by
    /// 2 × 4 ms plus a jiffy of rounding, 12 ms; the rwnd-limited share of busy_time within 0.05.
    /// </summary>
    [Theory]
    [InlineData(0, 1000)]
    [InlineData(1, 16384)]
    public void At_the_zero_window_stall_the_chronograph_splits_busy_time_as_linuxs(int variant, int chunkSize)
    {
        var linux = Truth.GetProperty("variants")[variant];
        Assert.Equal(chunkSize, linux.GetProperty("chunk").GetInt32());
        using var net = new TwoHosts(veth: true);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5001);
        var a = tcp.ClientSock;
        var chunk = new byte[chunkSize];
        while (tcp.A.Write(tcp.Client, chunk) > 0) net.RunFor(Duration.FromMicroseconds(15));
        var lastAccepted = net.Sim.Now;
        while (!(a.SndWnd == 0 && a.NotSentBytes > 0 && net.Sim.Now - lastAccepted > Duration.FromMilliseconds(300)))
        {
            net.RunFor(Duration.FromMilliseconds(2));
            long accepted = 0;
            for (int n; (n = tcp.A.Write(tcp.Client, chunk)) > 0;) accepted += n;
            if (accepted > 0) lastAccepted = net.Sim.Now;
            Assert.True(net.Sim.Now < lastAccepted + Duration.FromSeconds(5), "never stalled");
        }
        var ours = Info(tcp.A, tcp.Client);
        var theirs = linux.GetProperty("at_stall").GetProperty("A").GetProperty("tcp_info");
        double busy = theirs.GetProperty("busy_time").GetUInt64(), rwnd = theirs.GetProperty("rwnd_limited").GetUInt64();
        string both = $"Linux busy {busy} rwnd {rwnd} sndbuf {theirs.GetProperty("sndbuf_limited")}; " +
            $"Xmit busy {ours["busy_time"]} rwnd {ours["rwnd_limited"]} sndbuf {ours["sndbuf_limited"]}";
        double beforeClose = busy - rwnd, oursBeforeClose = (double)ours["busy_time"] - ours["rwnd_limited"];
        Assert.True(Math.Abs(oursBeforeClose - beforeClose) <= 12_000, both);
        Assert.True(ours["rwnd_limited"] >= 300_000 && rwnd >= 300_000, both); // the stall criterion: 300 ms without progress
        Assert.True(Math.Abs((double)ours["rwnd_limited"] / ours["busy_time"] - rwnd / busy) <= 0.05, both);
        Assert.Equal(theirs.GetProperty("sndbuf_limited").GetUInt64(), ours["sndbuf_limited"]);
        tcp.Close();
    }

    /// <summary>
    /// tcp_cwnd_validate()'s send-buffer case: a writer with a locked 16 KiB SO_SNDBUF on a 25 ms path has everything it
    /// could queue in flight and waits for ACKs to free space — not cwnd (10 segments cover the buffer), not the
    /// window: the chronograph counts that wait as sndbuf-limited (each round from the last segment sent to the ACK
    /// that frees a third of the buffer), and nothing as rwnd-limited.
    /// </summary>
    [Fact]
    public void A_writer_held_back_by_its_send_buffer_is_counted_as_sndbuf_limited()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 1_000_000_000, Propagation = Duration.FromMilliseconds(25) });
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5001);
        Assert.Equal(0, tcp.A.SetSockOpt(tcp.Client, SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, 8192)); // doubled: 16384
        var chunk = new byte[4096];
        var buf = new byte[65536];
        for (int ms = 0; ms < 1000; ms++)
        {
            while (tcp.A.Write(tcp.Client, chunk) > 0) { }
            net.RunForMs(1);
            while (tcp.B.Read(tcp.Server, buf) > 0) { }
        }
        var info = Info(tcp.A, tcp.Client);
        string got = $"busy {info["busy_time"]} rwnd {info["rwnd_limited"]} sndbuf {info["sndbuf_limited"]}";
        Assert.True(info["busy_time"] >= 950_000, got); // idle (unspec) only where an ACK emptied both queues before the next 1 ms write
        Assert.Equal(0ul, info["rwnd_limited"]);
        Assert.True(info["sndbuf_limited"] >= 0.7 * info["busy_time"], got); // 784 of 984 ms here
        tcp.Close();
    }
}
