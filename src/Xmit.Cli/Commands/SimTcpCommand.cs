using System.CommandLine;
using System.Text.Json;
using Xmit.Simulation;

namespace Xmit.Cli.Commands;

/// <summary>`xmit sim tcp`: A runs a TCP application to B (bulk, request/response or a fixed-rate stream); cwnd, buffers and queues are watched in virtual time.</summary>
public static class SimTcpCommand
{
    public static Command Create(Option<ulong> seed, Option<FileInfo?> pcap, Option<FileInfo?> trace)
    {
        var rate = CliOptions.Rate("--rate", "Link rate, tc syntax", "100mbit");
        var delay = CliOptions.Duration("--delay", "One-way propagation delay", "50us");
        var loss = CliOptions.Probability("--loss", "Probability that a frame is lost on the wire");
        var qdisc = new QdiscOptions(peakRate: false);
        var mtu = CliOptions.Int("--mtu", "-m", "MTU of both devices", 1500, 576, 65535);
        var duration = CliOptions.Duration("--duration", "Virtual time to simulate after the connection is accepted", "10s");
        var writeSize = CliOptions.Int("--write-size", "-w", "Bytes per write() call", 65536, 1, 16 << 20);
        var nodelay = new Option<bool>("--nodelay") { Description = "setsockopt(TCP_NODELAY) on A's socket" };
        var sndbuf = Bytes("--sndbuf", "setsockopt(SO_SNDBUF) on A (the kernel doubles it, autotuning stops); default: unset, autotuned");
        var rcvbuf = Bytes("--rcvbuf", "setsockopt(SO_RCVBUF) on B (the kernel doubles it, autotuning stops); default: unset, autotuned");
        var cc = new Option<string>("--cc") { Description = "net.ipv4.tcp_congestion_control on A", DefaultValueFactory = _ => "cubic" };
        CliOptions.OneOf(cc, TcpBulkConfig.CongestionControls);
        var ecn = CliOptions.Int("--ecn", null, "net.ipv4.tcp_ecn on both hosts: 1 turns ECN on (A asks, B agrees), 2 (Linux's default) and 0 leave it off", 2, 0, 2);
        var app = new Option<string>("--app") { Description = "A's application: bulk (write as fast as the socket takes), rr (request/response, one outstanding: --request, --response) or stream (a write-size write every interval, at --stream-rate)", DefaultValueFactory = _ => "bulk" };
        CliOptions.OneOf(app, AppNames);
        var request = CliOptions.Int("--request", null, "rr: bytes of each request A writes (in writes of at most --write-size)", 100, 1, 16 << 20);
        var response = CliOptions.Int("--response", null, "rr: bytes of each response B writes (in one write() as far as its send buffer takes) once it has read the whole request", 10_000, 1, 16 << 20);
        var streamRate = CliOptions.Rate("--stream-rate", "stream: the rate A's application writes at, tc syntax; one --write-size write every write-size × 8 / rate", "20mbit");
        var cork = new Option<bool>("--cork") { Description = "setsockopt(TCP_CORK) on A around each application message — set before its first write, cleared after its last (rr: a request; stream: one write); bulk: set once, never cleared" };
        var autocorking = CliOptions.Int("--autocorking", null, "net.ipv4.tcp_autocorking on A: 1 (Linux's default) holds a small write while earlier data is still below TCP; 0 sends it at once", 1, 0, 1);
        var tso = DeviceOptions.OnOff("--tso", "TSO on both NICs (ethtool -K tso): on, the driver takes whole GSO skbs and the NIC segments them; off, the stack segments them before the driver (as after ethtool -K tso off gso off)", "off");
        var device = new DeviceOptions();
        var json = new Option<bool>("--json") { Description = "Print the report as JSON instead of text" };
        var html = CliOptions.OutputFile("--html", "Write the report and its plots to this self-contained HTML file");
        var faults = new LinkFaultOptions();

        var cmd = new Command("tcp", "Host A (198.18.0.1) runs a TCP application to host B (198.18.0.2) across a simulated link — bulk by default, or request/response or a fixed-rate stream; the report explains goodput, EAGAIN and where the bytes sat")
        {
            rate, delay, loss, mtu, duration, app, request, response, streamRate, writeSize, nodelay, cork, autocorking, sndbuf, rcvbuf, cc, ecn,
            device.TxQueueLen, device.Ring, device.TxUsecs, device.TxFrames, device.Bql, device.BqlLimitMax, tso, json, html,
        };
        qdisc.AddTo(cmd);
        faults.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var err = r.InvocationConfiguration.Error;
            if (qdisc.Read(r, r.GetValue(rate), out var qdiscError) is not { } spec) return Fail(err, qdiscError!);
            var application = ParseApp(r.GetValue(app)!);
            // A value that would not take effect is a mistake, as for the qdisc's options.
            foreach (var (option, forApp) in new (Option, TcpApplication)[] { (request, TcpApplication.RequestResponse), (response, TcpApplication.RequestResponse), (streamRate, TcpApplication.Stream) })
                if (application != forApp && r.GetResult(option) is { Implicit: false })
                    return Fail(err, $"{option.Name} applies to --app {AppNames[(int)forApp]} only");

            var config = new TcpBulkConfig
            {
                RateBitsPerSecond = r.GetValue(rate),
                Propagation = r.GetValue(delay),
                LossRate = r.GetValue(loss),
                Faults = faults.Read(r),
                Qdisc = spec,
                TxQueues = qdisc.TxQueues(r),
                Mtu = r.GetValue(mtu),
                Duration = r.GetValue(duration),
                WriteSize = r.GetValue(writeSize),
                NoDelay = r.GetValue(nodelay),
                SndBuf = r.GetValue(sndbuf),
                RcvBuf = r.GetValue(rcvbuf),
                CongestionControl = r.GetValue(cc)!,
                Ecn = r.GetValue(ecn),
                App = application,
                RequestSize = r.GetValue(request),
                ResponseSize = r.GetValue(response),
                StreamRateBitsPerSecond = r.GetValue(streamRate),
                Cork = r.GetValue(cork),
                Autocorking = r.GetValue(autocorking),
                Tso = r.GetValue(tso) == "on",
                Device = device.Read(r),
                Seed = r.GetValue(seed),
            };
            return Run(config, r.GetValue(pcap), r.GetValue(json), r.GetValue(html), r.InvocationConfiguration.Output, err, r.GetValue(trace));
        });
        return cmd;
    }

    /// <summary>--app's names, in <see cref="TcpApplication"/>'s order.</summary>
    private static readonly string[] AppNames = ["bulk", "rr", "stream"];

    private static TcpApplication ParseApp(string name) => (TcpApplication)Array.IndexOf(AppNames, name);

    /// <summary>An optional byte count (a setsockopt value), 0 to int.MaxValue.</summary>
    private static Option<int?> Bytes(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = r =>
        {
            if (r.Tokens.Count == 0) return null;
            var text = r.Tokens[0].Value;
            if (int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v) && v >= 0) return v;
            r.AddError($"{name} must be a number of bytes from 0 to {int.MaxValue}, not {text}");
            return null;
        },
    };

    private static int Fail(TextWriter err, string message)
    {
        err.WriteLine("xmit sim tcp: " + message);
        return 2;
    }

    public static int Run(TcpBulkConfig config, FileInfo? pcap, bool json, TextWriter o, TextWriter err) => Run(config, pcap, json, null, o, err);

    /// <summary>Runs the scenario and prints its report (text or JSON); with <paramref name="html"/>, also writes the page with plots.</summary>
    public static int Run(TcpBulkConfig config, FileInfo? pcap, bool json, FileInfo? html, TextWriter o, TextWriter err, FileInfo? trace = null)
    {
        if (config.Validate() is { } invalid) return Fail(err, invalid);
        Stream? capture = null;
        try
        {
            if (pcap is not null) capture = pcap.Create();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(err, $"cannot write {pcap?.FullName}: {e.Message}");
        }
        if (!TraceOption.TryOpen(trace, out var tracer, out var traceError))
        {
            capture?.Dispose();
            return Fail(err, traceError!);
        }

        TcpBulkReport report;
        try
        {
            using var progress = new ProgressLine(err);
            report = new TcpBulk(config, capture).Run(progress.Report);
        }
        catch (TcpBulkException e)
        {
            return Fail(err, e.Message);
        }
        finally
        {
            capture?.Dispose();
            tracer?.Dispose();
        }

        if (json) o.WriteLine(JsonSerializer.Serialize(report, SimFloodCommand.JsonOptions));
        else TcpTextReport.Write(report, o);
        if (pcap is not null && !json) o.WriteLine($"capture: {pcap.FullName}");
        if (tracer is not null && !json) o.WriteLine(TraceOption.Summary(trace!, tracer));
        if (html is not null)
        {
            try
            {
                File.WriteAllText(html.FullName, TcpHtmlReport.Render(report));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail(err, $"cannot write {html.FullName}: {e.Message}");
            }
            if (!json) o.WriteLine($"html: {html.FullName}");
        }
        return 0;
    }
}
