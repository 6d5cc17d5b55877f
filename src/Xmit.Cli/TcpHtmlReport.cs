using System.Globalization;
using System.Text;
using ScottPlot;
using Xmit.Cli.Plots;

namespace Xmit.Cli;

/// <summary>
/// `xmit sim tcp --html`: one self-contained page (no scripts, no fetches; ScottPlot's SVG inline) that tells the run at a
/// glance: goodput against the path's capacity, why the first write got EAGAIN, where the bytes sat at the end, then plots
/// of cwnd and packets in flight, wmem_queued against sndbuf, the bytes below TCP against the TSQ limit, the qdisc backlog
/// and srtt, for the first second at 1 ms and for the whole run at 100 ms, and the per-layer books as a table.
/// Numbers in the tables carry data-key attributes so a test can read them back and hold them to the JSON report.
/// </summary>
public static class TcpHtmlReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private const string Navy = "#1f4e79", Orange = "#e67e22", Red = "#c0392b", Green = "#27ae60", Purple = "#8e44ad", Teal = "#16a085", Grey = "#7f8c8d";

    public static string Render(TcpBulkReport r)
    {
        var sb = new StringBuilder();
        HtmlReport.Head(sb, "xmit sim tcp — a bulk TCP transfer");
        sb.Append("<h1>xmit sim tcp — a bulk TCP transfer</h1><p>").Append(E(r.Scenario)).Append("</p>");
        var g = r.Goodput;
        sb.Append(Inv, $"<p class=\"big\"><b data-key=\"goodputMbit\">{g.BitsPerSecond / 1e6:0.###}</b> Mbit/s of goodput against a capacity of ")
          .Append(Inv, $"<b data-key=\"capacityMbit\">{g.CapacityBitsPerSecond / 1e6:0.###}</b> Mbit/s: <b data-key=\"utilisationPct\">{g.Utilisation * 100:0.#}</b>%</p>");
        sb.Append(Inv, $"<p>B read <span data-key=\"bytesReceived\">{g.BytesReceived}</span> bytes from the accept to {g.IntervalEndMs:0.###} ms; ")
          .Append(E($"the bottleneck is {g.Limit} at {Link.Qdiscs.TcUnits.FormatRate(g.LimitRateBitsPerSecond)}/s, {g.Mss}-byte segments in {g.FrameBytes}-byte frames.")).Append("</p>");
        if (r.FirstEagain is { } e)
            sb.Append(Inv, $"<p class=\"why\"><b>Why the first EAGAIN</b> (at <span data-key=\"firstEagainMs\">{e.AtMs:0.###}</span> ms): ").Append(E(e.Text)).Append("</p>");
        else sb.Append("<p>No EAGAIN: the send buffer never filled.</p>");

        Tables(sb, r);
        Charts(sb, r);
        HtmlReport.Ledger(sb, "Where every segment went (in = passed on + dropped + still queued)", r.Ledger);
        foreach (var (host, counters) in r.TcpCounters.Where(c => c.Value.Count > 0))
            sb.Append("<p>TCP on ").Append(E(host)).Append(": ").Append(E(string.Join(", ", counters.Select(kv => $"{kv.Key} {kv.Value}")))).Append("</p>");
        sb.Append("<h2>Counters</h2><p>A: ").Append(E(string.Join(", ", r.SenderCounters.Select(kv => $"{kv.Key} {kv.Value}"))))
          .Append("</p><p>B: ").Append(E(string.Join(", ", r.ReceiverCounters.Select(kv => $"{kv.Key} {kv.Value}")))).Append("</p>");
        sb.Append("<p class=\"note\">Times are virtual, from the accept (deterministic: seed ").Append(r.Seed).Append(").</p></body></html>");
        return sb.ToString();
    }

    private static void Tables(StringBuilder sb, TcpBulkReport r)
    {
        var w = r.Writes;
        sb.Append("<h2>Writes</h2><table>");
        Row(sb, "write size", "writeSize", w.WriteSize, "bytes");
        Row(sb, "write() calls", "writeCalls", w.Calls);
        Row(sb, "bytes taken", "bytesWritten", w.BytesWritten, "bytes");
        Row(sb, "EAGAIN", "eagain", w.Eagain);
        Row(sb, "write-space wake-ups", "wakeups", w.WriteSpaceWakeups);
        sb.Append("</table>");

        var b = r.AtEnd;
        sb.Append(Inv, $"<h2>Where the bytes sat at {r.Goodput.IntervalEndMs:0.###} ms</h2><table>");
        Row(sb, "write queue, not sent (SIOCOUTQNSD)", "notSent", b.NotSent, "bytes");
        Row(sb, "in flight, unacknowledged", "inFlight", b.InFlight, "bytes");
        Row(sb, "below TCP (sk_wmem_alloc)", "wmemAlloc", b.WmemAlloc, "bytes");
        Row(sb, "qdisc backlog", "qdiscBacklog", b.QdiscBacklog, "bytes");
        Row(sb, "B's receive queue, unread", "receiverQueue", b.ReceiverQueue, "bytes");
        Row(sb, "wmem_queued / sndbuf", "wmemQueued", b.WmemQueued, $"bytes of {b.SndBuf}");
        sb.Append("</table><p>").Append(E(r.Qdisc)).Append("</p>");

        var x = r.Retransmissions;
        sb.Append("<h2>Retransmissions (").Append(E(r.CongestionControl)).Append(")</h2><table>");
        Row(sb, "RetransSegs", "retransSegs", x.RetransSegs);
        Row(sb, "TCPFastRetrans", "fastRetrans", x.FastRetrans);
        Row(sb, "TCPTimeouts", "timeouts", x.Timeouts);
        Row(sb, "TCPLossProbes", "lossProbes", x.LossProbes);
        foreach (var d in r.Wire) Row(sb, $"wire {d.Name}: frames, lost", $"wire-{d.Name}", d.Frames, $"frames, {d.Lost} lost, {d.Reordered} reordered, {d.Duplicated} duplicated, {d.Corrupted} corrupted");
        sb.Append("</table>");
    }

    private static void Charts(StringBuilder sb, TcpBulkReport r)
    {
        if (r.DetailSamples.Count > 1)
        {
            var d = r.DetailSamples;
            double end = d[^1].AtMs;
            sb.Append(Inv, $"<h2>The first {end:0} ms, sampled every {d[1].AtMs - d[0].AtMs:0.###} ms</h2>");
            Chart(sb, Packets(end, d.Select(s => (s.AtMs, (double)s.Cwnd)).ToList(), d.Select(s => (s.AtMs, (double)s.PacketsInFlight)).ToList()));
            Chart(sb, Memory(end, r.Events, d.Select(s => (s.AtMs, (double)s.WmemQueued)).ToList(), d.Select(s => (s.AtMs, (double)s.SndBuf)).ToList()));
            Chart(sb, BelowTcp(end, d.Select(s => (s.AtMs, (double)s.WmemAlloc)).ToList(), d.Select(s => (s.AtMs, (double)s.TsqLimit)).ToList()));
            Chart(sb, Qdisc(end, d.Select(s => (s.AtMs, (double)s.QdiscBacklog)).ToList()));
            Chart(sb, Rtt(end, d.Select(s => (s.AtMs, s.SrttUs / 1000.0)).ToList()));
        }
        var all = r.Samples;
        if (all.Count < 2) return;
        double whole = r.DurationMs;
        sb.Append(Inv, $"<h2>The whole run ({whole:0} ms), sampled every {all[1].AtMs - all[0].AtMs:0} ms</h2>");
        Chart(sb, Packets(whole, all.Select(s => (s.AtMs, (double)s.Cwnd)).ToList(), all.Select(s => (s.AtMs, (double)s.PacketsInFlight)).ToList()));
        Chart(sb, Memory(whole, r.Events, all.Select(s => (s.AtMs, (double)s.WmemQueued)).ToList(), all.Select(s => (s.AtMs, (double)s.SndBuf)).ToList()));
        Chart(sb, BelowTcp(whole, all.Select(s => (s.AtMs, (double)s.WmemAlloc)).ToList(), all.Select(s => (s.AtMs, (double)s.TsqLimit)).ToList()));
        Chart(sb, Qdisc(whole, all.Select(s => (s.AtMs, (double)s.QdiscBacklog)).ToList()));
        Chart(sb, Rtt(whole, all.Select(s => (s.AtMs, s.SrttUs / 1000.0)).ToList()));
    }

    private static TimeChart Packets(double end, List<(double, double)> cwnd, List<(double, double)> inFlight) =>
        new TimeChart("congestion window and packets in flight", "packets", end)
            .Series("cwnd", Navy, cwnd, step: true)
            .Series("packets in flight", Orange, inFlight, step: true);

    /// <summary>wmem_queued at each EAGAIN and wake-up is the buffer's peak and trough: they join the envelope and are marked.</summary>
    private static TimeChart Memory(double end, IReadOnlyList<TcpSocketEvent> events, List<(double, double)> queued, List<(double, double)> sndbuf) =>
        new TimeChart("send buffer: wmem_queued against sndbuf (EAGAIN when it reaches it)", "bytes", end)
            .Series("wmem_queued", Navy, queued, events.Where(e => e.AtMs <= end).Select(e => (e.AtMs, (double)e.WmemQueued))) // linear: it drains between the marks
            .LimitSeries("sndbuf", Red, sndbuf) // drawn over the data, where it is visible
            .Marks("EAGAIN", Red, MarkerShape.FilledTriangleDown, events.Where(e => e.Kind == "EAGAIN").Select(e => e.AtMs))
            .Marks("EPOLLOUT", Green, MarkerShape.FilledTriangleUp, events.Where(e => e.Kind != "EAGAIN").Select(e => e.AtMs));

    private static TimeChart BelowTcp(double end, List<(double, double)> alloc, List<(double, double)> tsq) =>
        new TimeChart("bytes below TCP (sk_wmem_alloc: qdisc, driver, wire) against the TSQ limit", "bytes", end)
            .Series("sk_wmem_alloc", Purple, alloc, step: true)
            .LimitSeries("TSQ limit", Red, tsq);

    private static TimeChart Qdisc(double end, List<(double, double)> backlog) =>
        new TimeChart("qdisc backlog", "bytes", end).Series("backlog", Teal, backlog, step: true);

    private static TimeChart Rtt(double end, List<(double, double)> srtt) =>
        new TimeChart("smoothed RTT (srtt)", "ms", end).Series("srtt", Grey, srtt, step: true);

    private static void Chart(StringBuilder sb, TimeChart c) => sb.Append("<figure>").Append(c.Svg()).Append("</figure>");

    private static void Row(StringBuilder sb, string label, string key, long value, string unit = "") =>
        sb.Append("<tr><th>").Append(E(label)).Append("</th><td class=\"n\" data-key=\"").Append(key).Append("\">").Append(value.ToString(Inv))
          .Append("</td><td>").Append(E(unit)).Append("</td></tr>");

    private static string E(string s) => HtmlReport.E(s);
}
