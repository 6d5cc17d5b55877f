using System.Text.Json;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// scripts/linux-tcp-fill-drain.sh replayed step by step on a simulated veth pair and compared with what Linux 6.18
/// did (linux-truth/tcp-fill-drain.json): non-blocking writes into a receiver that does not read until the first
/// EAGAIN — every write's bytes accepted, wmem_queued, SIOCOUTQ/SIOCOUTQNSD, snd_wnd, cwnd and sndbuf —, then writes
/// every 2 ms until the zero window stalls the sender (the send buffer growing with cwnd on the way), then a reader
/// taking 4096 bytes every 20 ms until EPOLLOUT. The script's loop spends about 15 µs per write (its samples' times);
/// on veth each write's segments and the receiver's ACKs are processed before the next write.
/// </summary>
public class TcpFillTimelineTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly JsonElement Truth = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "tcp-fill-drain.json"))).RootElement;

    private static readonly Duration WritePace = Duration.FromMicroseconds(15);

    private sealed record Sample(long Total, long WmemQueued, uint Unacked, uint SndWnd, int Outq, int OutqNsd, uint Cwnd, int SndBuf);

    private static Sample Take(TcpSock a, long total) =>
        new(total, a.WmemQueued, a.PacketsOut, a.SndWnd, a.UnackedBytes, a.NotSentBytes, a.SndCwnd, a.SndBuf);

    private static Sample Linux(JsonElement w) => new(w.GetProperty("total").GetInt64(), w.GetProperty("wmem_queued").GetInt64(),
        w.GetProperty("unacked").GetUInt32(), w.GetProperty("snd_wnd").GetUInt32(), w.GetProperty("outq").GetInt32(),
        w.GetProperty("outqnsd").GetInt32(), w.GetProperty("snd_cwnd").GetUInt32(), w.GetProperty("sndbuf").GetInt32());

    [Fact]
    public void Writes_of_1000_bytes_reach_eagain_at_linuxs_byte_with_linuxs_memory_and_windows_after_every_write()
    {
        var linux = Truth.GetProperty("variants")[0];
        Assert.Equal(1000, linux.GetProperty("chunk").GetInt32());
        using var net = new TwoHosts(veth: true);
        net.WarmUp();
        var rec = FrameRecorder.On(net.DevA);
        AlignTicksWithCapture(net, linux.GetProperty("capture"));
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5001);
        var a = tcp.ClientSock;
        var b = tcp.ServerSock;
        var chunk = new byte[1000];

        // Fill: write until the first EAGAIN.
        var ours = new List<Sample>();
        long total = 0;
        for (int n; (n = tcp.A.Write(tcp.Client, chunk)) > 0;)
        {
            total += n;
            net.RunFor(WritePace); // on Linux the ACKs are in by the time send() returns and the script samples
            ours.Add(Take(a, total));
        }
        var theirs = linux.GetProperty("writes_until_first_eagain").EnumerateArray().Select(Linux).ToList();
        output.WriteLine($"first EAGAIN after {total} bytes in {ours.Count} writes (Linux {theirs[^1].Total} in {theirs.Count})");
        Assert.Equal(theirs.Count, ours.Count);
        for (int i = 0; i < theirs.Count; i++) Assert.True(theirs[i] == ours[i], $"write {i + 1}: Linux {theirs[i]}, Xmit {ours[i]}");

        // Top-up every 2 ms until stalled against the zero window (nothing accepted for 300 ms).
        var topups = new List<(long Accepted, long Total, int SndBuf, uint SndWnd, uint Cwnd)>();
        var sndbufs = new List<int> { a.SndBuf };
        var lastAccepted = net.Sim.Now;
        while (!(a.SndWnd == 0 && a.NotSentBytes > 0 && net.Sim.Now - lastAccepted > Duration.FromMilliseconds(300)))
        {
            net.RunFor(Duration.FromMilliseconds(2));
            long accepted = 0;
            for (int n; (n = tcp.A.Write(tcp.Client, chunk)) > 0;) accepted += n;
            total += accepted;
            if (accepted > 0)
            {
                topups.Add((accepted, total, a.SndBuf, a.SndWnd, a.SndCwnd));
                lastAccepted = net.Sim.Now;
            }
            if (sndbufs[^1] != a.SndBuf) sndbufs.Add(a.SndBuf);
            Assert.True(net.Sim.Now < lastAccepted + Duration.FromSeconds(5), "never stalled");
        }
        var linuxTopups = linux.GetProperty("topup_writes_after_first_eagain").EnumerateArray().Select(t => (t.GetProperty("accepted").GetInt64(),
            t.GetProperty("total").GetInt64(), t.GetProperty("sndbuf").GetInt32(), t.GetProperty("snd_wnd").GetUInt32(), t.GetProperty("snd_cwnd").GetUInt32())).ToList();
        for (int i = 0; i < Math.Max(topups.Count, linuxTopups.Count); i++)
            output.WriteLine($"top-up {i + 1}: Xmit {(i < topups.Count ? topups[i].ToString() : "-")}, Linux {(i < linuxTopups.Count ? linuxTopups[i].ToString() : "-")}");
        // Every ACK round is Linux's to the byte: bytes taken, total, sndbuf, window and cwnd (at 87 ms tcp_grow_skb
        // joins what B's window allows into Linux's 30408 + 7480 bytes; the loss probes' D-SACKs count as delivered).
        Assert.Equal(linuxTopups, topups.Select(t => (t.Accepted, t.Total, t.SndBuf, t.SndWnd, t.Cwnd)).ToList());
        // B's windows through the fill are Linux's, step by step: its receive queue splits where Linux's does, at the
        // segment that crosses into the sender's next 32 KiB page (MAX_SKB_FRAGS), and so does the free space.
        var linuxWindows = Dedup(linux.GetProperty("capture").GetProperty("B_windows_during_fill").EnumerateArray().Select(w => w.GetProperty("win").GetInt64()));
        var ourWindows = Dedup(rec.Frames.Where(f => !f.Outgoing).Select(f =>
        {
            Xmit.Wire.Ipv4Packet.TryCreate(f.Bytes.AsSpan(14), out var ip);
            Xmit.Wire.TcpSegment.TryCreate(f.Bytes.AsSpan(14 + ip.HeaderLength), out var seg);
            return (seg.Flags & Xmit.Wire.TcpFlags.Syn) != 0 ? -1 : (long)seg.Window << b.SndWscale;
        }).Where(w => w >= 0));
        Assert.Equal(linuxWindows, ourWindows);
        // Every timer event of the fill on Linux's tick: each packet no arrival triggered (B's delayed ACKs, A's loss
        // probes, B's answer to the first zero-window probe) leaves when Linux's did, within its timer softirq's latency.
        var linuxTimed = TimerDriven(linux.GetProperty("capture").GetProperty("B_windows_during_fill").EnumerateArray()
            .Select(p => (Duration.FromSeconds(p.GetProperty("t").GetDouble()), false))
            .Concat(linux.GetProperty("capture").GetProperty("A_data_segments_during_fill").EnumerateArray()
                .Select(p => (Duration.FromSeconds(p.GetProperty("t").GetDouble()), true))));
        var t0 = rec.Frames[0].Time;
        var ourTimed = TimerDriven(rec.Frames.Where(f => f.Time - t0 <= linuxTimed[^1].At + Duration.FromMilliseconds(1)).Select(f =>
        {
            Xmit.Wire.Ipv4Packet.TryCreate(f.Bytes.AsSpan(14), out var ip);
            Xmit.Wire.TcpSegment.TryCreate(f.Bytes.AsSpan(14 + ip.HeaderLength), out var seg);
            bool data = ip.TotalLength - ip.HeaderLength - seg.HeaderLength > 0;
            return (At: f.Time - t0, FromA: f.Outgoing, Keep: (f.Outgoing ? data : (seg.Flags & Xmit.Wire.TcpFlags.Syn) == 0));
        }).Where(x => x.Keep).Select(x => (x.At, x.FromA)));
        output.WriteLine($"timer events (ms after the SYN): Xmit {string.Join(", ", ourTimed.Select(e => $"{(e.FromA ? "A" : "B")} {e.At.Nanoseconds / 1e6:F3}"))}");
        output.WriteLine($"                         Linux {string.Join(", ", linuxTimed.Select(e => $"{(e.FromA ? "A" : "B")} {e.At.Nanoseconds / 1e6:F3}"))}");
        Assert.Equal(linuxTimed.Select(e => e.FromA), ourTimed.Select(e => e.FromA));
        for (int i = 0; i < linuxTimed.Count; i++)
            Assert.InRange((linuxTimed[i].At - ourTimed[i].At).Nanoseconds, 0, 50_000);
        var linuxSndbufs = linux.GetProperty("sndbuf_growth_sequence").EnumerateArray().Select(x => x.GetInt32()).ToList();
        output.WriteLine($"sndbuf {string.Join(" → ", sndbufs)} (Linux {string.Join(" → ", linuxSndbufs)}); accepted at the stall {total} (Linux {linux.GetProperty("bytes_accepted_total_at_stall")})");
        Assert.Equal(linuxSndbufs, sndbufs);
        Assert.Equal(linux.GetProperty("bytes_accepted_total_at_stall").GetInt64(), total);

        // The sender at the stall: the fill's retransmissions were tail loss probes of data the receiver held; its
        // D-SACKs told the sender so, and cwnd was never cut (Linux: ssthresh still infinite, ca_state Open).
        var stalledA = linux.GetProperty("at_stall").GetProperty("A");
        var infoA = stalledA.GetProperty("tcp_info");
        Assert.Equal(infoA.GetProperty("snd_ssthresh").GetUInt32(), a.SndSsthresh);
        Assert.Equal(stalledA.GetProperty("total_retrans").GetUInt32(), a.TotalRetrans);
        Assert.Equal(TcpCaState.Open, a.CaState);
        Assert.Equal(a.TotalRetrans, (uint)net.B.Tcp.Mib.DsackOldSent);
        // cwnd as Linux's: slow start counts the two loss probes' D-SACKed segments as delivered (tcp_dsack_seen).
        Assert.Equal(stalledA.GetProperty("snd_cwnd").GetUInt32(), a.SndCwnd);
        // The RTO in whole jiffies, as icsk_rto is: 200 ms + srtt + rttvar rounded up to 4 ms.
        Assert.Equal(infoA.GetProperty("rto").GetInt64() * 1000, a.Rtt.Rto.Nanoseconds);
        output.WriteLine($"stall: cwnd {a.SndCwnd} ssthresh {a.SndSsthresh} total_retrans {a.TotalRetrans} (Linux {stalledA.GetProperty("snd_cwnd")}, {infoA.GetProperty("snd_ssthresh")}, {stalledA.GetProperty("total_retrans")})");

        // The receiver at the stall: its buffer full to the byte as Linux's (coalesced skbs, one head each).
        var stalledB = linux.GetProperty("at_stall").GetProperty("B");
        Assert.Equal(stalledB.GetProperty("rcvbuf").GetInt32(), b.RcvBuf);
        Assert.Equal(stalledB.GetProperty("rmem_alloc").GetInt64(), b.RmemAlloc);
        Assert.Equal(stalledB.GetProperty("inq").GetInt32(), b.ReadableBytes);
        Assert.Equal(0u, b.RcvWnd);

        // Drain: 4096 bytes every 20.3 ms (the script's pace); EPOLLOUT once wmem_queued is down to two thirds of sndbuf.
        int ep = tcp.A.EpollCreate();
        Assert.Equal(0, tcp.A.EpollCtl(ep, Ev.EPOLL_CTL_ADD, tcp.Client, new EpollEvent(Ev.EPOLLOUT, 0)));
        var events = new EpollEvent[1];
        Assert.Equal(0, tcp.A.EpollWait(ep, events, 0));
        net.RunFor(Duration.FromSeconds(4));
        var buf = new byte[4096];
        // The zero-window probes of the stall (220 ms, then 440, 880, 1760 ms on level 1 of the wheel: 8-tick granules in
        // absolute jiffies) at Linux's times after the first zero window.
        var probeFrames = rec.Frames.Select(f =>
        {
            Xmit.Wire.Ipv4Packet.TryCreate(f.Bytes.AsSpan(14), out var ip);
            Xmit.Wire.TcpSegment.TryCreate(f.Bytes.AsSpan(14 + ip.HeaderLength), out var seg);
            return (f.Time, f.Outgoing, Ip: f.Bytes[12] == 8 && f.Bytes[13] == 0, Len: ip.TotalLength - ip.HeaderLength - seg.HeaderLength, seg.Window, seg.Flags);
        }).Where(f => f.Ip).ToList();
        var zeroWindow = probeFrames.First(f => !f.Outgoing && f.Window == 0 && (f.Flags & Xmit.Wire.TcpFlags.Syn) == 0).Time;
        // The drain starts when Linux's did: 4.340 s after the first zero window, as its tcp_info before the drain says
        // (last_data_sent 4340 ms, the fill's last data having gone at the zero window; jiffies, so ±4 ms).
        net.RunFor(zeroWindow + Duration.FromMilliseconds(4340) - net.Sim.Now);
        var drainStart = net.Sim.Now;
        var ourProbes = probeFrames.Where(f => f.Outgoing && f.Time > zeroWindow && f.Time < drainStart && f.Len == 0).Select(f => (f.Time - zeroWindow).Nanoseconds / 1e9).ToList();
        var linuxProbes = linux.GetProperty("capture").GetProperty("zero_window_probe_times_after_first_zero_window_s").EnumerateArray().Select(x => x.GetDouble()).ToList();
        output.WriteLine($"zero-window probes after the first zero window: Xmit {string.Join(", ", ourProbes.Select(t => t.ToString("F6")))} s; Linux {string.Join(", ", linuxProbes.Select(t => t.ToString("F6")))} s");
        Assert.Equal(linuxProbes.Count, ourProbes.Count);
        for (int i = 0; i < linuxProbes.Count; i++) Assert.InRange(ourProbes[i] - linuxProbes[i], -0.00005, 0.00005);

        // Each read at the time the script's read came (its loop sleeps 20 ms and spends ~0.3 ms more: the steps are
        // 20.3 ms apart). The drift matters: after step 6's burst the sender idles until step 17's window update,
        // 223 ms on Linux — over the RTO of 55 jiffies (220 ms) by more than a tick, so tcp_cwnd_restart() halves cwnd
        // back to 10 —, where exact 20 ms steps would make it 55 jiffies, not over the RTO.
        var steps = linux.GetProperty("drain_steps");
        Instant ReadTime(int i) => drainStart + Duration.FromNanoseconds((long)Math.Round(steps[Math.Min(i, steps.GetArrayLength() - 1)].GetProperty("t_read").GetDouble() * 1e9))
            + Duration.FromMilliseconds(20) * Math.Max(0, i - (steps.GetArrayLength() - 1));
        int step = 0;
        long read = 0;
        while (tcp.A.EpollWait(ep, events, 0) == 0)
        {
            Assert.True(++step < 600, "no EPOLLOUT");
            int r = tcp.B.Read(tcp.Server, buf);
            if (r > 0) read += r;
            net.RunFor(ReadTime(step) - net.Sim.Now);
        }
        Assert.True(3 * a.WmemQueued <= 2L * a.SndBuf, $"EPOLLOUT with wmem_queued {a.WmemQueued} of sndbuf {a.SndBuf}");
        int linuxStep = linux.GetProperty("first_epollout").GetProperty("step").GetInt32();
        output.WriteLine($"EPOLLOUT after drain step {step}, {read} bytes read (Linux step {linuxStep}, {linux.GetProperty("first_epollout").GetProperty("B_total_read")})");
        // Linux's step, with Linux's bytes read: the receiver delays its ACKs once its buffer is half full (quick-ACK
        // mode ends in __tcp_select_window), the sender's idle restart counts jiffies (step 17 halves cwnd to 10, as
        // on Linux), and each step's memory is Linux's. The restart depends on where the drain falls in its ticks: the
        // idle is 223.2 ms, 55 or 56 jiffies against an RTO of 55; over the ±4 ms that tcp_info leaves on the drain's
        // start, 7 of 9 one-millisecond offsets give step 47, the other two 46 (no restart).
        Assert.Equal(linuxStep, step);
        Assert.Equal(linux.GetProperty("first_epollout").GetProperty("B_total_read").GetInt64(), read);

        tcp.A.Close(ep);
        tcp.Close();
    }

    /// <summary>
    /// Puts both hosts' jiffies where the capture's kernel had them relative to the SYN (sent now). The tick phase:
    /// every packet of the fill that no arrival triggered (more than 1 ms after the one before: delayed ACKs and loss
    /// probes) left 3.244-3.283 ms past a multiple of 4 ms after the SYN, the tick plus the timer softirq's latency;
    /// the earliest is taken as the tick. The absolute jiffies matter on the wheel's level 1 (8-tick granules): the
    /// zero-window probes after the stall, at 0.456, 0.896 and 1.792 s intervals, fire 4, 4 and 8 ticks after their
    /// expiries, which puts the tick 3.244 ms after the SYN at jiffies ≡ 5 (mod 8).
    /// </summary>
    private static void AlignTicksWithCapture(TwoHosts net, JsonElement capture)
    {
        var times = capture.GetProperty("B_windows_during_fill").EnumerateArray()
            .Concat(capture.GetProperty("A_data_segments_during_fill").EnumerateArray())
            .Select(p => Duration.FromSeconds(p.GetProperty("t").GetDouble()).Nanoseconds).Order().ToList();
        long tick = net.A.Jiffies.Tick.Nanoseconds;
        long offset = Enumerable.Range(1, times.Count - 1).Where(i => times[i] - times[i - 1] > 1_000_000).Min(i => times[i] % tick);
        Assert.InRange(offset, 3_200_000, 3_300_000);
        long firstTick = net.Sim.Now.Nanoseconds + offset;
        foreach (var host in new[] { net.A, net.B })
        {
            host.Jiffies.Phase = Duration.FromNanoseconds(firstTick % tick);
            host.Jiffies.InitialJiffies = 0;
            long n = host.Jiffies.At(new Instant(firstTick));
            host.Jiffies.InitialJiffies = ((5 - n) % 8 + 8) % 8;
            Assert.Equal(5, host.Jiffies.At(new Instant(firstTick)) % 8);
        }
    }

    /// <summary>The packets (time after the SYN, sent by A) that came more than 1 ms after the one before: timers sent them.</summary>
    private static List<(Duration At, bool FromA)> TimerDriven(IEnumerable<(Duration At, bool FromA)> packets)
    {
        var all = packets.OrderBy(p => p.At.Nanoseconds).ToList();
        return Enumerable.Range(1, all.Count - 1).Where(i => all[i].At - all[i - 1].At > Duration.FromMilliseconds(1)).Select(i => all[i]).ToList();
    }

    private static List<long> Dedup(IEnumerable<long> xs)
    {
        var r = new List<long>();
        foreach (var x in xs) if (r.Count == 0 || r[^1] != x) r.Add(x);
        return r;
    }

    /// <summary>
    /// Up to the first EAGAIN the sender stays in slow start, as Linux's does (ssthresh still infinite, cwnd 32 there):
    /// the ACKs come in trains on veth, but no HyStart round sees a train past delay_min/2 or an RTT rise. Xmit left
    /// slow start at cwnd 22 here while pkts_acked saw snd_una one ACK behind (HyStart's rounds ended an ACK late).
    /// </summary>
    [Fact]
    public void Writes_of_16384_bytes_fill_the_send_buffer_without_leaving_slow_start_as_linux()
    {
        var linux = Truth.GetProperty("variants")[1];
        Assert.Equal(16384, linux.GetProperty("chunk").GetInt32());
        using var net = new TwoHosts(veth: true);
        var (tcp, _, _) = FillWith16384ByteWrites(net);
        var atEagain = linux.GetProperty("at_first_eagain").GetProperty("A");
        Assert.Equal(atEagain.GetProperty("tcp_info").GetProperty("snd_ssthresh").GetUInt32(), tcp.ClientSock.SndSsthresh);
        Assert.InRange(tcp.ClientSock.SndCwnd, atEagain.GetProperty("snd_cwnd").GetUInt32() - 1, atEagain.GetProperty("snd_cwnd").GetUInt32() + 1);
        Assert.Equal(atEagain.GetProperty("sndbuf").GetInt32(), tcp.ClientSock.SndBuf);
        tcp.Close();
    }

    /// <summary>The bytes send() takes before the first EAGAIN, against Linux's.</summary>
    [Fact]
    public void Writes_of_16384_bytes_reach_eagain_within_one_percent_of_linuxs_byte()
    {
        var linux = Truth.GetProperty("variants")[1];
        Assert.Equal(16384, linux.GetProperty("chunk").GetInt32());
        using var net = new TwoHosts(veth: true);
        var (tcp, writes, total) = FillWith16384ByteWrites(net);
        Assert.Equal(linux.GetProperty("writes_before_first_eagain").GetInt32(), writes);
        long theirs = linux.GetProperty("bytes_accepted_before_first_eagain").GetInt64();
        Assert.InRange(total, theirs * 0.99, theirs * 1.01 + 1448);
        Assert.Equal(linux.GetProperty("at_first_eagain").GetProperty("A").GetProperty("sndbuf").GetInt32(), tcp.ClientSock.SndBuf);
        tcp.Close();
    }

    private static (TcpConnection Tcp, int Writes, long Total) FillWith16384ByteWrites(TwoHosts net)
    {
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5003);
        var chunk = new byte[16384];
        long total = 0;
        int writes = 0;
        for (int n; (n = tcp.A.Write(tcp.Client, chunk)) > 0; writes++)
        {
            total += n;
            net.RunFor(WritePace);
        }
        return (tcp, writes, total);
    }
}
