using System.CommandLine;
using System.Globalization;
using Xmit.Applications;
using Xmit.Link.Qdiscs;
using Xmit.Simulation;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Cli.Commands;

/// <summary>`xmit sim ping`: two hosts on a simulated link; A pings B and the RTTs are explained.</summary>
public static class SimPingCommand
{
    public static Command Create(Option<ulong> seed, Option<FileInfo?> pcap, Option<FileInfo?> trace)
    {
        var count = CliOptions.Int("--count", "-c", "Echo requests to send", 4, 1, 1_000_000);
        var size = CliOptions.Int("--size", "-s", "ICMP data bytes per request (above 1472 the request is fragmented)", 56, 0, 65507 - 8);
        var interval = CliOptions.Duration("--interval", "Time between requests, in virtual time", "1s");
        var rate = CliOptions.Rate("--rate", "Link rate, tc syntax", "100mbit");
        var delay = CliOptions.Duration("--delay", "One-way propagation delay", "50us");
        var loss = CliOptions.Probability("--loss", "Probability that a frame is lost on the wire");
        var mtu = CliOptions.Int("--mtu", "-m", "MTU of both devices", 1500, 68, 65535);
        var faults = new LinkFaultOptions();
        var json = new Option<bool>("--json") { Description = "Print the replies, the statistics and the expected RTT as JSON instead of text" };
        var html = CliOptions.OutputFile("--html", "Write the statistics, an RTT plot and the report to this self-contained HTML file");

        var cmd = new Command("ping", "Host A (198.18.0.1) pings host B (198.18.0.2) across a simulated Ethernet link and explains each RTT")
        {
            count, size, interval, rate, delay, loss, mtu, json, html,
        };
        faults.AddTo(cmd);
        cmd.SetAction(r => Run(r.GetValue(seed), r.GetValue(pcap), r.GetValue(count), r.GetValue(size), r.GetValue(interval),
            r.GetValue(rate), r.GetValue(delay), r.GetValue(loss), r.GetValue(mtu), r.InvocationConfiguration.Output, faults.Read(r), r.InvocationConfiguration.Error,
            r.GetValue(json), r.GetValue(trace), r.GetValue(html)));
        return cmd;
    }

    public static int Run(ulong seed, FileInfo? pcap, int count, int size, Duration interval, long rate, Duration delay, double loss, int mtu, TextWriter o,
        LinkFaults? faults = null, TextWriter? err = null, bool json = false, FileInfo? trace = null, FileInfo? html = null)
    {
        var stdout = o;
        if (json) o = TextWriter.Null; // the same run; only the JSON is printed
        var text = html is null ? null : new StringWriter(CultureInfo.InvariantCulture);
        if (text is not null) o = new TeeWriter(o, text); // the page shows the report as it printed
        err ??= Console.Error;
        var inv = CultureInfo.InvariantCulture;
        faults ??= new LinkFaults();
        var linkConfig = new LinkConfig { RateBitsPerSecond = rate, Propagation = delay, LossRate = loss, Faults = faults };
        if (linkConfig.Validate() is { } invalid)
        {
            err.WriteLine("xmit sim ping: " + invalid);
            return 2;
        }
        using var sim = new Simulation.Simulation(seed);
        // A pool each, so a trace's kfree_skb names the host that dropped.
        var a = sim.AddHost("A", new Xmit.Buffers.SkBuffPool());
        var b = sim.AddHost("B", new Xmit.Buffers.SkBuffPool());
        var addrA = new Ipv4Address(198, 18, 0, 1);
        var addrB = new Ipv4Address(198, 18, 0, 2);
        var conn = sim.Connect(a, addrA, b, addrB, 24, linkConfig, mtu: mtu);
        if (pcap is not null)
        {
            try { sim.Capture(conn.DeviceA, pcap.Create()); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                err.WriteLine($"xmit sim ping: cannot write {pcap.FullName}: {e.Message}");
                return 2;
            }
        }

        if (!TraceOption.TryOpen(trace, out var tracer, out var traceError))
        {
            err.WriteLine("xmit sim ping: " + traceError);
            return 2;
        }
        using var tracing = tracer;

        var ping = new PingSession(a, addrB, count, interval, size);
        int ipLen = size + 8 + 20;
        o.WriteLine(string.Create(inv, $"PING {addrB} from {addrA} {conn.DeviceA.Name}: {size}({ipLen}) bytes of data"));
        o.WriteLine(string.Create(inv, $"  simulated link: {TcUnits.FormatRate(rate)}/s, propagation {DurationText.Format(delay)}, loss {loss:0.###}{(faults.Any ? ", " + LinkFaultOptions.Describe(faults) : "")}, MTU {mtu}, seed {seed}"));
        ping.OnReplyReceived = reply => o.WriteLine(string.Create(inv,
            $"{reply.Bytes} bytes from {addrB}: icmp_seq={reply.Sequence} ttl={reply.Ttl} time={DurationText.Format(reply.Rtt)}{(reply.Sequence == 1 ? "  (includes ARP resolution)" : "")}"));
        ping.Start();
        sim.RunUntil(Instant.Zero + interval * (count - 1) + Duration.FromSeconds(2) + LinkFaultOptions.MaxExtraDelay(faults) * 2);

        o.WriteLine();
        o.WriteLine($"--- {addrB} ping statistics ---");
        foreach (var line in PingStatistics.Lines(ping.Transmitted, ping.Replies)) o.WriteLine(line);

        // Why the RTT is what it is: each way, the frame is serialized onto the wire and propagates.
        var expected = ExpectedRtt(linkConfig, size, mtu, out var explanation);
        o.WriteLine();
        o.WriteLine("why: " + explanation);
        o.WriteLine(string.Create(inv, $"     expected RTT once ARP is resolved: {DurationText.Format(expected)}"));

        o.WriteLine();
        o.WriteLine("per layer (host A):");
        o.WriteLine(string.Create(inv, $"  Icmp  OutEchos {a.Mib.Icmp.OutEchos}  InEchoReps {a.Mib.Icmp.InEchoReps}"));
        o.WriteLine(string.Create(inv, $"  Ip    OutRequests {a.Mib.Ip.OutRequests}  OutTransmits {a.Mib.Ip.OutTransmits}  FragCreates {a.Mib.Ip.FragCreates}  ReasmOKs {a.Mib.Ip.ReasmOKs}"));
        o.WriteLine(string.Create(inv, $"  ARP   requests sent {a.Arp.Stats.RequestsSent}  replies received {a.Arp.Stats.RepliesReceived}"));
        o.WriteLine($"  {conn.DeviceA.RootQdiscTotals.Describe()}");
        o.WriteLine(string.Create(inv, $"  {conn.DeviceA.Name}  tx {conn.DeviceA.Stats.TxPackets} pkts {conn.DeviceA.Stats.TxBytes} bytes, rx {conn.DeviceA.Stats.RxPackets} pkts {conn.DeviceA.Stats.RxBytes} bytes; ring stops {conn.DeviceA.TxQueues[0].Stops}; TX interrupts {conn.RingA.Interrupts}"));
        o.WriteLine(string.Create(inv, $"  wire  A->B {conn.Link.A.Frames} frames ({conn.Link.A.Lost} lost), B->A {conn.Link.B.Frames} frames ({conn.Link.B.Lost} lost)"));
        if (faults.Any)
        {
            foreach (var (name, w) in new[] { ("A->B", conn.Link.A.Faults), ("B->A", conn.Link.B.Faults) })
                o.WriteLine(string.Create(inv, $"  faults {name} {w.Reordered} reordered, {w.Duplicated} duplicated, {w.Corrupted} corrupted"));
            // A flipped bit is caught by the receiver's IP header or ICMP checksum.
            foreach (var (name, h) in new[] { ("A", a), ("B", b) })
                o.WriteLine(string.Create(inv, $"  checksum drops at {name}: Ip InHdrErrors {h.Mib.Ip.InHdrErrors} (InCsumErrors {h.Mib.Ip.InCsumErrors}), Icmp InCsumErrors {h.Mib.Icmp.InCsumErrors}"));
        }

        sim.Shutdown();
        tracer?.Dispose(); // the file is complete before it is named
        if (pcap is not null) o.WriteLine($"capture: {pcap.FullName}");
        if (tracer is not null) o.WriteLine(TraceOption.Summary(trace!, tracer));
        var report = new PingReport(addrA.ToString(), addrB.ToString(), size, seed,
            ping.Replies.Select(r => new PingReplyLine(r.Sequence, r.Rtt.Nanoseconds / 1e3, r.Bytes, r.Ttl)).ToList(),
            PingStatistics.Summarize(ping.Transmitted, ping.Replies), expected.Nanoseconds / 1e3, explanation);
        if (json) stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(report, SimFloodCommand.JsonOptions));
        if (html is not null)
        {
            try
            {
                File.WriteAllText(html.FullName, PingHtmlReport.Render(report, interval.Nanoseconds / 1e6, ping.Transmitted, text!.ToString()));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                err.WriteLine($"xmit sim ping: cannot write {html.FullName}: {e.Message}");
                return 2;
            }
            if (!json) stdout.WriteLine($"html: {html.FullName}");
        }
        return ping.Replies.Count > 0 ? 0 : 1;
    }

    /// <summary>`sim ping --json`: every reply (RTT in µs), the statistics (ms, as ping prints them) and the expected RTT.</summary>
    public sealed record PingReport(string From, string To, int Size, ulong Seed, IReadOnlyList<PingReplyLine> Replies, PingSummary Statistics,
        double ExpectedRttUs, string Why);

    public sealed record PingReplyLine(ushort Sequence, double RttUs, int Bytes, byte Ttl);

    /// <summary>2 × (serialization + propagation) for each fragment of the request (the reply is the same size).</summary>
    public static Duration ExpectedRtt(LinkConfig link, int size, int mtu, out string explanation)
    {
        var inv = CultureInfo.InvariantCulture;
        int ipPayload = size + 8;
        int perFragment = (mtu - 20) & ~7;
        var serialization = Duration.Zero;
        int frames = 0;
        int last = 0;
        for (int left = ipPayload; left > 0; left -= perFragment)
        {
            int chunk = left > mtu - 20 ? perFragment : left;
            last = chunk + 20 + 14;
            serialization += link.SerializationTime(last);
            frames++;
        }
        // Fragments follow each other on the wire; the reply can only start after the last one arrived.
        var oneWay = serialization + link.Propagation;
        explanation = frames == 1
            ? string.Create(inv, $"one {last}-byte frame each way: serialization {DurationText.Format(serialization)} ({link.WireBits(last)} bits incl. preamble, FCS, gap) + propagation {DurationText.Format(link.Propagation)}")
            : string.Create(inv, $"{frames} fragments each way: serialization {DurationText.Format(serialization)} in all + propagation {DurationText.Format(link.Propagation)}");
        return oneWay * 2;
    }

    /// <summary>Writes to two writers at once: the terminal, and the text the HTML page embeds.</summary>
    private sealed class TeeWriter(TextWriter first, TextWriter second) : TextWriter
    {
        public override System.Text.Encoding Encoding => first.Encoding;

        public override void Write(char value)
        {
            first.Write(value);
            second.Write(value);
        }

        public override void Write(string? value)
        {
            first.Write(value);
            second.Write(value);
        }
    }
}
