using System.Text.Json;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Link.Qdiscs;
using Xmit.Tests.Support;
using Xmit.Time;
using Xunit.Abstractions;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// Bulk TCP (cubic) from A to B over a veth whose root qdisc is `tbf rate R burst 15140 limit 4000000`, R 10 and
/// 100 Mbit/s, the sender veth's GSO/TSO on or off (`ethtool -K va gso off tso off`), against Linux 6.18 measured
/// the same way by scripts/linux-tcp-tbf-gso.sh (linux-truth/tcp-tbf-gso.json): the steady state (medians of 50 ms
/// samples from 2 s on) of the bytes in tbf, sk_wmem_alloc, the autotuned send buffer, cwnd and the RTT.
/// With GSO off TCP still builds GSO skbs (sk_setup_caps gives TCP NETIF_F_GSO whatever the device has); those
/// tbf does not cut at enqueue (not longer than its bucket) are segmented in software on the way to the device.
/// </summary>
/// <remarks>Linux: net/core/sock.c sk_setup_caps(); net/core/dev.c validate_xmit_skb(); net/sched/sch_tbf.c tbf_enqueue(), tbf_segment()</remarks>
public class TcpTbfGsoTests(ITestOutputHelper output)
{
    private static readonly JsonElement Runs = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "tcp-tbf-gso.json"))).RootElement.GetProperty("runs");

    private static JsonElement Linux(long rate, bool gso) => Runs.EnumerateArray()
        .Select(r => r.GetProperty("summary"))
        .Single(s => s.GetProperty("rate_bits_per_second").GetInt64() == rate && s.GetProperty("gso").GetBoolean() == gso);

    private static double Median(List<long> v)
    {
        v.Sort();
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2.0;
    }

    public sealed record Steady(double Backlog, double WmemAlloc, double SndBuf, double Cwnd, double RttUs);

    /// <summary>
    /// B's first receive-buffer growth (the first tcp_rcv_space_adjust whose reader took more than rcvq_space, what
    /// Linux's tcp:tcp_rcvbuf_grow tracepoint marks): the bytes the reader took in that RTT measure and the rcvbuf after.
    /// </summary>
    public sealed record FirstGrowth(int Copied, int RcvbufAfter);

    /// <summary>Xmit run as the script ran Linux: 5 s of 64 KiB writes, B reading all, samples every 50 ms from 2 s on.</summary>
    public static Steady Measure(long rate, bool gso, Action<string>? log = null) => MeasureRun(rate, gso, log).Steady;

    /// <summary><see cref="Measure"/>, with B's first receive-buffer growth (null if B never grew rcvq_space).</summary>
    public static (Steady Steady, FirstGrowth? First) MeasureRun(long rate, bool gso, Action<string>? log = null)
    {
        using var sim = new Simulation.Simulation(1);
        var a = sim.AddHost("A");
        var b = sim.AddHost("B");
        var link = sim.ConnectVeth(a, TwoHosts.AddrA, b, TwoHosts.AddrB, 24);
        // ethtool -K va gso off tso off: SG and checksum offload stay on
        if (!gso) ((ImmediateDriver)link.DriverA).Features = DeviceFeatures.ScatterGather | DeviceFeatures.HwChecksum;
        var tbf = new TbfQdisc(sim.Scheduler, new TbfConfig(rate, 15140, 4_000_000));
        link.DeviceA.SetRootQdisc(tbf);
        var tcp = TcpConnection.Open(sim, a, b, TwoHosts.AddrB);
        var sk = tcp.ClientSock;
        var chunk = new byte[65536];
        var buf = new byte[65536];
        List<long> backlog = [], walloc = [], sndbuf = [], cwnd = [], rtt = [];
        var rcv = tcp.ServerSock;
        int initialSpace = rcv.RcvqSpace;
        FirstGrowth? first = null;
        var start = sim.Now;
        var next = start + Duration.FromMilliseconds(50);
        var steady = start + Duration.FromSeconds(2);
        int k = 0;
        while (sim.Now < start + Duration.FromSeconds(5))
        {
            tcp.A.Write(tcp.Client, chunk);
            if (tcp.B.Read(tcp.Server, buf) <= 0) sim.RunFor(Duration.FromMicroseconds(50));
            // a step is at most 50 µs here, the receiver's RTT measure is over a millisecond: no second growth in between
            if (first is null && rcv.RcvqSpace != initialSpace) first = new FirstGrowth(rcv.RcvqSpace, rcv.RcvBuf);
            if (sim.Now < next) continue;
            next += Duration.FromMilliseconds(50);
            if (log is not null && k++ % 5 == 0) log($"{(sim.Now - start).TotalSeconds:F2} cwnd {sk.SndCwnd} ssthresh {sk.SndSsthresh} qlen {tbf.QLen} walloc {sk.WmemAlloc} srtt {sk.SmoothedRttUs} snd_wnd {sk.SndWnd} in-flight {sk.InFlight} sndbuf {sk.SndBuf} B rcvbuf {tcp.ServerSock.RcvBuf}");
            if (sim.Now < steady) continue;
            backlog.Add(tbf.Backlog);
            walloc.Add(sk.WmemAlloc);
            sndbuf.Add(sk.SndBuf);
            cwnd.Add(sk.SndCwnd);
            rtt.Add(sk.SmoothedRttUs);
        }
        tcp.Close();
        sim.Shutdown();
        return (new Steady(Median(backlog), Median(walloc), Median(sndbuf), Median(cwnd), Median(rtt)), first);
    }

    /// <summary>The steady state's medians, Linux's for one configuration.</summary>
    private static Steady LinuxSteady(long rate, bool gso)
    {
        var m = Linux(rate, gso).GetProperty("steady_state_medians_t_ge_2s");
        double D(string f) => m.GetProperty(f).GetDouble();
        return new Steady(D("qdisc_backlog"), D("A_wmem_alloc"), D("A_sndbuf"), D("A_snd_cwnd"), D("A_rtt_us"));
    }

    private (Steady Linux, Steady Xmit) Both(long rate, bool gso)
    {
        var linux = LinuxSteady(rate, gso);
        var x = Measure(rate, gso, output.WriteLine);
        output.WriteLine($"tbf {rate / 1e6} Mbit/s, GSO {(gso ? "on" : "off")}: Linux {linux}; Xmit {x}");
        return (linux, x);
    }

    private static void Near(List<string> failures, string what, double ours, double theirs, double tolerance = 0.10)
    {
        if (Math.Abs(ours - theirs) > tolerance * theirs) failures.Add($"{what}: Xmit {ours:G6}, Linux {theirs:G6} (±{tolerance:P0})");
    }

    private static IEnumerable<JsonElement> RunsOf(string file, bool gso) => JsonDocument.Parse(File.ReadAllText(
            Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", file)))
        .RootElement.GetProperty("runs").EnumerateArray()
        .Where(r => r.GetProperty("gso").GetBoolean() == gso)
        .Select(r => r.GetProperty("summary").GetProperty("steady_state_medians_t_ge_2s"));

    /// <summary>A Linux run's steady state, from its summary's steady_state_medians_t_ge_2s.</summary>
    internal static Steady SteadyOf(JsonElement m)
    {
        double D(string f) => m.GetProperty(f).GetDouble();
        return new Steady(D("qdisc_backlog"), D("A_wmem_alloc"), D("A_sndbuf"), D("A_snd_cwnd"), D("A_rtt_us"));
    }

    internal static double MedianOf(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToList();
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
    }

    /// <summary>
    /// Every steady-state median against Linux's runs on a quiet machine (scripts/linux-tcp-tbf-runs.sh with load
    /// average below 1.2 and no other jobs: linux-truth/tcp-tbf-10mbit-runs-quiet.json, five runs per GSO setting,
    /// and tcp-tbf-100mbit-runs-quiet.json, eight): each of Xmit's numbers within 10 % of the runs' median, or inside
    /// the runs' own range where Linux spreads wider than that — its cwnd and sndbuf at 100 Mbit/s (cwnd 106 to 160
    /// GSO on, 125 to 154 off). There the sender is held by TSQ, not by cwnd, and cwnd grows only in the moments the
    /// packets in flight reach it; see <see cref="Linuxs_cwnd_at_100_mbit_grows_with_the_machines_load"/>.
    /// </summary>
    [Theory]
    [InlineData(10_000_000L, true)]
    [InlineData(10_000_000L, false)]
    [InlineData(100_000_000L, true)]
    [InlineData(100_000_000L, false)]
    public void Steady_state_through_tbf_is_that_of_linux_on_a_quiet_machine(long rate, bool gso)
    {
        var runs = RunsOf($"tcp-tbf-{rate / 1_000_000}mbit-runs-quiet.json", gso).Select(SteadyOf).ToList();
        Assert.True(runs.Count >= 5, $"only {runs.Count} Linux runs");
        var x = Measure(rate, gso, output.WriteLine);
        var failures = new List<string>();
        void Check(string what, Func<Steady, double> f)
        {
            var v = runs.Select(f).ToList();
            double median = MedianOf(v), low = Math.Min(0.9 * median, v.Min()), high = Math.Max(1.1 * median, v.Max());
            if (f(x) < low || f(x) > high) failures.Add($"{what}: Xmit {f(x):G6}, Linux's median {median:G6} over {v.Min():G6}–{v.Max():G6}");
        }
        Check("tbf backlog", s => s.Backlog);
        Check("sk_wmem_alloc", s => s.WmemAlloc);
        Check("sndbuf", s => s.SndBuf);
        Check("cwnd", s => s.Cwnd);
        Check("srtt", s => s.RttUs);
        output.WriteLine($"tbf {rate / 1e6} Mbit/s, GSO {(gso ? "on" : "off")}: Xmit {x}; Linux's cwnd {string.Join(", ", runs.Select(r => r.Cwnd))}");
        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }

    /// <summary>
    /// Linux's own cwnd at 100 Mbit/s depends on how busy the machine is: the median over each recording rises from
    /// the quiet runs (load average below 1.2) to those at ~4 (tcp-tbf-100mbit-runs-load4.json) and at ~20
    /// (tcp-tbf-100mbit-runs.json), GSO on and off, while the bytes in tbf and sk_wmem_alloc stay put (the test
    /// below). Why is not established. Past slow start (ssthresh ~30 in every run: HyStart) cubic raises cwnd only
    /// while the sender is cwnd-limited, and a sender held by TSQ is that only in the moments its packets in flight
    /// reach cwnd, so the timing of ACK processing is the likely lever; but bunching Xmit's ACKs with RX interrupt
    /// coalescing (0.1 to 2 ms on both hosts' NICs) did not raise its cwnd monotonically. Xmit processes every packet
    /// at once, as an idle machine would.
    /// </summary>
    /// <remarks>Linux: include/net/tcp.h tcp_is_cwnd_limited(); net/ipv4/tcp_output.c tcp_cwnd_validate()</remarks>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Linuxs_cwnd_at_100_mbit_grows_with_the_machines_load(bool gso)
    {
        double Cwnd(string file) => MedianOf(RunsOf(file, gso).Select(m => m.GetProperty("A_snd_cwnd").GetDouble()));
        double quiet = Cwnd("tcp-tbf-100mbit-runs-quiet.json"), load4 = Cwnd("tcp-tbf-100mbit-runs-load4.json"), load20 = Cwnd("tcp-tbf-100mbit-runs.json");
        output.WriteLine($"GSO {(gso ? "on" : "off")}: median cwnd quiet {quiet}, load ~4 {load4}, load ~20 {load20}");
        Assert.True(quiet < load4 && load4 < load20, $"quiet {quiet}, load ~4 {load4}, load ~20 {load20}");
    }

    /// <summary>
    /// Against every Linux run at 100 Mbit/s, whatever the machine's load (scripts/linux-tcp-tbf-runs.sh, RATE_MBIT=100:
    /// ten at load average ~20 in tcp-tbf-100mbit-runs.json, six at ~4 in tcp-tbf-100mbit-runs-load4.json, sixteen
    /// quiet in tcp-tbf-100mbit-runs-quiet.json): the bytes in tbf, sk_wmem_alloc and the RTT are each run's within
    /// 10 %, while Linux's own cwnd spreads by more than a third between runs.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Backlog_wmem_alloc_and_rtt_at_100_mbit_are_those_of_every_linux_run(bool gso)
    {
        var runs = new[] { "tcp-tbf-100mbit-runs.json", "tcp-tbf-100mbit-runs-load4.json", "tcp-tbf-100mbit-runs-quiet.json" }
            .SelectMany(f => RunsOf(f, gso)).ToList();
        Assert.True(runs.Count >= 16, $"only {runs.Count} Linux runs");
        var x = Measure(100_000_000, gso);
        var failures = new List<string>();
        foreach (var m in runs)
        {
            Near(failures, "tbf backlog", x.Backlog, m.GetProperty("qdisc_backlog").GetDouble());
            Near(failures, "sk_wmem_alloc", x.WmemAlloc, m.GetProperty("A_wmem_alloc").GetDouble());
            Near(failures, "srtt", x.RttUs, m.GetProperty("A_rtt_us").GetDouble());
        }
        Assert.True(failures.Count == 0, string.Join("; ", failures));
        var cwnds = runs.Select(m => m.GetProperty("A_snd_cwnd").GetDouble()).ToList();
        Assert.True(cwnds.Max() > 1.33 * cwnds.Min(), $"Linux's cwnd over its runs: {string.Join(", ", cwnds)}");
        output.WriteLine($"GSO {(gso ? "on" : "off")}: Xmit {x}; Linux's cwnd over {runs.Count} runs {cwnds.Min()}–{cwnds.Max()}");
    }

    /// <summary>
    /// What the transmit path makes of whatever window it has, at both rates and GSO on and off, as Linux's ratios
    /// within 10 %: sk_wmem_alloc per byte in tbf (the truesize each 1514-byte segment tbf_segment or software GSO
    /// cut keeps charged) and sndbuf per cwnd segment (tcp_sndbuf_expand). Not the RTT per the time tbf takes to
    /// drain its backlog: at 10 Mbit/s Xmit's backlog swings with each window update (13 to 73 segments), so the two
    /// medians do not go together (GSO off: srtt/drain time 1.17 in Xmit, 0.99 in Linux; GSO on 0.95 vs 0.99).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_offload.c tcp_gso_segment(); net/ipv4/tcp_input.c tcp_sndbuf_expand()</remarks>
    [Theory]
    [InlineData(10_000_000L, true)]
    [InlineData(10_000_000L, false)]
    [InlineData(100_000_000L, true)]
    [InlineData(100_000_000L, false)]
    public void Transmit_accounting_through_tbf_is_linuxs(long rate, bool gso)
    {
        var (linux, x) = Both(rate, gso);
        var failures = new List<string>();
        Near(failures, "sk_wmem_alloc per tbf backlog byte", x.WmemAlloc / x.Backlog, linux.WmemAlloc / linux.Backlog);
        Near(failures, "sndbuf per cwnd segment", x.SndBuf / x.Cwnd, linux.SndBuf / linux.Cwnd);
        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }
}
