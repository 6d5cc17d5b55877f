using System.Globalization;
using System.Text;
using ScottPlot;
using Xmit.Cli.Plots;

namespace Xmit.Cli;

/// <summary>
/// `xmit sim tcp --html`: one self-contained page (no scripts, no fetches; ScottPlot's SVG inline) that tells the run at a
/// glance: goodput against the path's capacity, why the first write got EAGAIN, where the bytes sat at the end, then plots
/// of cwnd and packets in flight, wmem_queued against sndbuf, the bytes below TCP against the TSQ limit, the qdisc backlog
/// and srtt, for the first second at 1 ms and for the whole run as the min and max per pixel column of every value after every
/// simulated event (TcpEnvelopeRecorder: 100 ms samples would alias what moves within a millisecond), and the per-layer books as a table.
/// Numbers in the tables carry data-key attributes so a test can read them back and hold them to the JSON report.
/// </summary>
public static class TcpHtmlReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private const string Navy = "#1f4e79", Orange = "#e67e22", Red = "#c0392b", Green = "#27ae60", Purple = "#8e44ad", Teal = "#16a085", Grey = "#7f8c8d";

    public static string Render(TcpBulkReport r)
    {
        var sb = new StringBuilder();
        var title = TcpTextReport.Title(r);
        HtmlReport.Head(sb, title);
        sb.Append("<h1>").Append(E(title)).Append("</h1><p>").Append(E(r.Scenario)).Append("</p>");
        var app = TcpTextReport.ApplicationLines(r);
        if (app.Count > 0)
        {
            sb.Append("<p class=\"big\">").Append(E(app[0])).Append("</p>");
            foreach (var line in app.Skip(1)) sb.Append("<p>").Append(E(line.Trim())).Append("</p>");
        }
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
            Chart(sb, Packets(end).Series("cwnd", Navy, P(d, s => s.Cwnd), step: true).Series("packets in flight", Orange, P(d, s => s.PacketsInFlight), step: true));
            // wmem_queued at each EAGAIN and wake-up is the buffer's peak and trough: they join the line (linear: it drains between the marks).
            Chart(sb, Marked(Memory(end).Series("wmem_queued", Navy, P(d, s => s.WmemQueued), r.Events.Where(e => e.AtMs <= end).Select(e => (e.AtMs, (double)e.WmemQueued)))
                .LimitSeries("sndbuf", Red, P(d, s => s.SndBuf)), r.Events)); // the limit drawn over the data, where it is visible
            Chart(sb, BelowTcp(end).Series("sk_wmem_alloc", Purple, P(d, s => s.WmemAlloc), step: true).LimitSeries("TSQ limit", Red, P(d, s => s.TsqLimit)), TsqCaption);
            Chart(sb, Qdisc(end).Series("backlog", Teal, P(d, s => s.QdiscBacklog), step: true));
            Chart(sb, Rtt(end).Series("srtt", Grey, P(d, s => s.SrttUs / 1000.0), step: true));
        }
        var env = r.Envelope;
        if (env.Buckets.Count == 0) return;
        double whole = r.DurationMs;
        sb.Append(Inv, $"<h2>The whole run ({whole:0} ms): min–max per pixel column ({env.BucketMs:0.###} ms), of every value held at the end of every simulated instant</h2>");
        Chart(sb, Packets(whole).Ranges("cwnd", Navy, R(env, b => b.Cwnd)).Ranges("packets in flight", Orange, R(env, b => b.PacketsInFlight)));
        Chart(sb, Marked(Memory(whole).Ranges("wmem_queued", Navy, R(env, b => b.WmemQueued)).Ranges("sndbuf", Red, R(env, b => b.SndBuf), limit: true), r.Events));
        Chart(sb, BelowTcp(whole).Ranges("sk_wmem_alloc", Purple, R(env, b => b.WmemAlloc)).Ranges("TSQ limit", Red, R(env, b => b.TsqLimit), limit: true),
            r.DetailSamples.Count > 1 ? null : TsqCaption); // said once, under the first of the two
        Chart(sb, Qdisc(whole).Ranges("backlog", Teal, R(env, b => b.QdiscBacklog)));
        Chart(sb, Rtt(whole).Ranges("srtt", Grey, R(env, b => b.SrttUs, 1000)));
    }

    /// <summary>
    /// Why sk_wmem_alloc stands above the plotted limit (TcpSmallQueueTests pins each reason): Linux checks each skb before it
    /// goes, against its own limit, and the check stops only the next one.
    /// </summary>
    private const string TsqCaption =
        "The TSQ limit drawn is the one tcp_small_queue_check() would apply to the next skb: max(2 × its truesize, pacing rate / 1024). " +
        "Like Linux, each skb is checked before it goes, against its own limit (twice a large TSO skb's truesize is more than the next, smaller skb's), " +
        "and the check stops only the next skb: sk_wmem_alloc may stand above the line by the skb that passed, and more while at most one skb " +
        "is unacknowledged, when TSQ lets the next go whatever wmem_alloc says (tcp_rtx_queue_empty_or_single_skb: the driver may still hold clones " +
        "of data already acknowledged until its TX completion).";

    private static List<(double, double)> P(IReadOnlyList<TcpDetailSample> samples, Func<TcpDetailSample, double> y) => samples.Select(s => (s.AtMs, y(s))).ToList();

    private static List<(double From, double To, double Min, double Max)> R(TcpRunEnvelope env, Func<TcpEnvelopeBucket, MinMax> f, double scale = 1) =>
        env.Buckets.Select(b => (b.FromMs, b.FromMs + env.BucketMs, f(b).Min / scale, f(b).Max / scale)).ToList();

    private static TimeChart Packets(double end) => new("congestion window and packets in flight", "packets", end);

    private static TimeChart Memory(double end) => new("send buffer: wmem_queued against sndbuf (EAGAIN when it reaches it)", "bytes", end);

    private static TimeChart Marked(TimeChart c, IReadOnlyList<TcpSocketEvent> events) =>
        c.Marks("EAGAIN", Red, MarkerShape.FilledTriangleDown, events.Where(e => e.Kind == "EAGAIN").Select(e => e.AtMs))
         .Marks("EPOLLOUT", Green, MarkerShape.FilledTriangleUp, events.Where(e => e.Kind != "EAGAIN").Select(e => e.AtMs));

    private static TimeChart BelowTcp(double end) => new("bytes below TCP (sk_wmem_alloc: qdisc, driver, wire) against the TSQ limit", "bytes", end);

    private static TimeChart Qdisc(double end) => new("qdisc backlog", "bytes", end);

    private static TimeChart Rtt(double end) => new("smoothed RTT (srtt)", "ms", end);

    private static void Chart(StringBuilder sb, TimeChart c, string? caption = null)
    {
        sb.Append("<figure>").Append(c.Svg());
        if (caption is not null) sb.Append("<figcaption class=\"note\">").Append(E(caption)).Append("</figcaption>");
        sb.Append("</figure>");
    }

    private static void Row(StringBuilder sb, string label, string key, long value, string unit = "") =>
        sb.Append("<tr><th>").Append(E(label)).Append("</th><td class=\"n\" data-key=\"").Append(key).Append("\">").Append(value.ToString(Inv))
          .Append("</td><td>").Append(E(unit)).Append("</td></tr>");

    private static string E(string s) => HtmlReport.E(s);
}
