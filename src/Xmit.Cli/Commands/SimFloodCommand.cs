using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Xmit.Simulation;
using Xmit.Time;

namespace Xmit.Cli.Commands;

/// <summary>`xmit sim` with no subcommand: the story of an EAGAIN — A floods B with UDP, every layer is watched.</summary>
public static class SimFloodCommand
{
    public static void Configure(Command sim, Option<ulong> seed, Option<FileInfo?> pcap, Option<FileInfo?> trace)
    {
        var payload = CliOptions.Int("--payload", "-p", "UDP payload bytes per datagram", 1472, 16, 65507);
        var sndbuf = CliOptions.OptionalInt("--sndbuf", "setsockopt(SO_SNDBUF) value (the kernel doubles it); default: unset, wmem_default 212992", 0, int.MaxValue);
        var rate = CliOptions.Rate("--rate", "Link rate, tc syntax", "100mbit");
        var delay = CliOptions.Duration("--delay", "One-way propagation delay", "50us");
        var loss = CliOptions.Probability("--loss", "Probability that a frame is lost on the wire");
        var qdisc = new QdiscOptions(peakRate: true);
        var device = new DeviceOptions();
        var txqueuelen = device.TxQueueLen;
        var mtu = CliOptions.Int("--mtu", "-m", "MTU of both devices", 1500, 576, 65535);
        var ring = device.Ring;
        var txUsecs = device.TxUsecs;
        var txFrames = device.TxFrames;
        var rxRing = CliOptions.Int("--rx-ring", null, "B's RX ring descriptors (ethtool -G rx); a frame finding none free is missed", 256, 1, 65536);
        var rxUsecs = CliOptions.Duration("--rx-usecs", "RX interrupt coalescing: at most this long after the first frame (ethtool -C rx-usecs)", "0us");
        var rxFrames = CliOptions.Int("--rx-frames", null, "RX interrupt coalescing: an interrupt once this many frames wait (ethtool -C rx-frames)", 1, 1, 65536);
        var rxCost = CliOptions.Duration("--rx-cost", "CPU time B's NET_RX softirq spends per received packet (0: never slower than the link)", "0us");
        var budget = CliOptions.Int("--netdev-budget", null, "sysctl net.core.netdev_budget: packets per NET_RX softirq round", 300, 1, 1_000_000);
        var budgetUsecs = CliOptions.Int("--netdev-budget-usecs", null, "sysctl net.core.netdev_budget_usecs: microseconds per NET_RX softirq round", 2000, 1, 1_000_000);
        var maxBacklog = CliOptions.Int("--netdev-max-backlog", null, "sysctl net.core.netdev_max_backlog: packets netif_rx may queue per CPU", 1000, 0, 1_000_000);
        var duration = CliOptions.Duration("--duration", "Virtual time to simulate", "1s");
        var blocking = new Option<bool>("--blocking") { Description = "Blocking sends instead of non-blocking sends with epoll" };
        var cork = CliOptions.Int("--cork", "-k", "Sends per datagram, the first ones with MSG_MORE", 1, 1, 64);
        var cost = CliOptions.Duration("--syscall-cost", "Time the sender spends per system call", "2us");
        var json = new Option<bool>("--json") { Description = "Print the report as JSON instead of text" };
        var html = CliOptions.OutputFile("--html", "Write the report and its plots to this self-contained HTML file");

        var faults = new LinkFaultOptions();

        foreach (var o in new Option[] { payload, sndbuf, rate, delay, loss, txqueuelen, mtu, ring, txUsecs, txFrames, rxRing, rxUsecs, rxFrames, rxCost, budget, budgetUsecs, maxBacklog, device.Bql, device.BqlLimitMax, duration, blocking, cork, cost, json, html })
            sim.Options.Add(o);
        qdisc.AddTo(sim);
        faults.AddTo(sim);

        sim.SetAction(r =>
        {
            var err = r.InvocationConfiguration.Error;
            if (qdisc.Read(r, r.GetValue(rate), out var qdiscError) is not { } spec) return Fail(err, qdiscError!);

            var config = new UdpFloodConfig
            {
                Payload = r.GetValue(payload),
                SndBuf = r.GetValue(sndbuf),
                RateBitsPerSecond = r.GetValue(rate),
                Propagation = r.GetValue(delay),
                LossRate = r.GetValue(loss),
                Faults = faults.Read(r),
                Qdisc = spec,
                TxQueues = qdisc.TxQueues(r),
                Mtu = r.GetValue(mtu),
                Device = device.Read(r),
                RxRingSize = r.GetValue(rxRing),
                RxUsecs = r.GetValue(rxUsecs),
                RxFrames = r.GetValue(rxFrames),
                RxCost = r.GetValue(rxCost),
                NetdevBudget = r.GetValue(budget),
                NetdevBudgetUsecs = r.GetValue(budgetUsecs),
                NetdevMaxBacklog = r.GetValue(maxBacklog),
                Duration = r.GetValue(duration),
                Blocking = r.GetValue(blocking),
                Cork = r.GetValue(cork),
                SyscallCost = r.GetValue(cost),
                Seed = r.GetValue(seed),
            };
            if (config.Validate() is { } invalid) return Fail(err, invalid);
            return Run(config, r.GetValue(pcap), r.GetValue(json), r.GetValue(html), r.InvocationConfiguration.Output, err, r.GetValue(trace));
        });
    }

    private static int Fail(TextWriter err, string message)
    {
        err.WriteLine("xmit sim: " + message);
        return 2;
    }

    public static int Run(UdpFloodConfig config, FileInfo? pcap, bool json, FileInfo? html, TextWriter o, TextWriter err, FileInfo? trace = null)
    {
        Stream? capture = null;
        try
        {
            if (pcap is not null) capture = pcap.Create();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(err, $"cannot write {pcap?.FullName ?? html?.FullName}: {e.Message}");
        }
        if (!TraceOption.TryOpen(trace, out var tracer, out var traceError))
        {
            capture?.Dispose();
            return Fail(err, traceError!);
        }

        UdpFloodReport report;
        using (tracer)
        using (var progress = new ProgressLine(err))
        {
            var flood = new UdpFlood(config, capture);
            report = flood.Run(progress.Report);
        }
        capture?.Dispose();

        if (json) o.WriteLine(JsonSerializer.Serialize(report, JsonOptions));
        else TextReport.Write(report, o);
        if (html is not null)
        {
            File.WriteAllText(html.FullName, HtmlReport.Render(report));
            if (!json) o.WriteLine($"html: {html.FullName}");
        }
        if (pcap is not null && !json) o.WriteLine($"capture: {pcap.FullName}");
        if (tracer is not null && !json) o.WriteLine(TraceOption.Summary(trace!, tracer));
        return 0;
    }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // keep "≥" and "→" readable
    };
}

/// <summary>A one-line progress indicator on stderr, shown only on a terminal and only once a run takes more than a moment.</summary>
public sealed class ProgressLine(TextWriter err) : IDisposable
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly bool _enabled = !Console.IsErrorRedirected;
    private long _lastShown = -1;
    private bool _shown;

    public void Report(double fraction)
    {
        if (!_enabled || _clock.ElapsedMilliseconds < 500 || _clock.ElapsedMilliseconds - _lastShown < 200) return;
        _lastShown = _clock.ElapsedMilliseconds;
        int width = 30;
        int done = (int)Math.Round(Math.Clamp(fraction, 0, 1) * width);
        err.Write(string.Create(CultureInfo.InvariantCulture, $"\r[{new string('#', done)}{new string('.', width - done)}] {fraction * 100,3:0}%  "));
        _shown = true;
    }

    public void Dispose()
    {
        if (_shown) err.Write("\r" + new string(' ', 45) + "\r");
    }
}
