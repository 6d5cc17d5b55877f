using System.Globalization;
using System.Net;
using System.Text;

namespace Xmit.Cli;

/// <summary>
/// One self-contained HTML page: the report, and time plots drawn by ScottPlot as inline SVG (no scripts, no fetches) of
/// the socket's wmem_alloc against sndbuf and sndbuf/2 with every EAGAIN and EPOLLOUT marked, the qdisc's backlog, and
/// the driver ring's bytes on a panel of their own (a few kB beside the qdisc's 100s of kB would be a flat line).
/// </summary>
public static class HtmlReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The page's head and style, shared by `sim` and `sim tcp`.</summary>
    public static void Head(StringBuilder sb, string title)
    {
        sb.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title><style>");
        sb.Append("body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}");
        sb.Append(".why{background:#fff5f5;border-left:4px solid #c0392b;padding:8px 12px}.then{background:#f3fbf5;border-left:4px solid #27ae60;padding:8px 12px}");
        sb.Append(".big{font-size:18px}.note{color:#777}figure{margin:10px 0}figure svg{border:1px solid #ddd;max-width:100%;height:auto}");
        sb.Append("table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}td.n{text-align:right;font-variant-numeric:tabular-nums}");
        sb.Append("</style></head><body>");
    }

    public static string Render(UdpFloodReport r)
    {
        var sb = new StringBuilder();
        Head(sb, "xmit sim — the story of an EAGAIN");
        sb.Append("<h1>xmit sim — the story of an EAGAIN</h1><p>").Append(E(r.Scenario)).Append("</p>");
        if (r.FirstEagain is { } e) sb.Append("<p class=\"why\"><b>Why the first EAGAIN</b> (at ").Append(F(e.AtMs)).Append(" ms): ").Append(E(e.Text)).Append("</p>");
        else sb.Append("<p>No EAGAIN: the send buffer never filled.</p>");
        if (r.FirstEpollout is { } w) sb.Append("<p class=\"then\"><b>Then</b>: ").Append(E(w.Text)).Append("</p>");

        Summary(sb, r);
        Ledger(sb, "Where every datagram went", r.Ledger);

        if (r.DetailSamples.Count > 1)
        {
            double end = r.DetailSamples[^1].AtMs;
            sb.Append("<h2>The first ").Append(F(end)).Append(" ms, sampled every 20 µs</h2>");
            Plots(sb, r, r.DetailSamples, end);
        }
        sb.Append("<h2>The whole run (").Append(F(r.DurationMs)).Append(" ms), sampled every 1 ms: min–max per pixel column</h2>");
        Plots(sb, r, r.Samples, r.DurationMs);
        sb.Append("<p class=\"note\">Times are virtual (deterministic: seed ").Append(r.Seed).Append("). ▼ red: EAGAIN; ▲ green: EPOLLOUT. ")
          .Append("Link utilisation is in the table above: it is a flat 100 % whenever the socket keeps the qdisc from running dry.</p>");
        sb.Append("</body></html>");
        return sb.ToString();
    }

    private static void Summary(StringBuilder sb, UdpFloodReport r)
    {
        var s = r.Socket;
        sb.Append("<h2>Per layer</h2><table>");
        Row(sb, "datagrams sent / delivered", $"{s.DatagramsSent} / {s.DatagramsDelivered}");
        Row(sb, "EAGAIN / EPOLLOUT wake-ups", $"{s.Eagain} / {s.EpollOutWakeups}");
        Row(sb, "sndbuf / wmem_alloc high-water", $"{s.SndBuf} / {s.WmemHighWater} bytes");
        Row(sb, "truesize per datagram", $"{s.TruesizePerDatagram} bytes");
        Row(sb, "qdisc", r.Qdisc.Description);
        Row(sb, "qdisc peak backlog", $"{r.Qdisc.BacklogMaxBytes} bytes, {r.Qdisc.QLenMax} packets");
        Row(sb, "bytes sat (avg): qdisc / ring", $"{r.BytesSat.QdiscAvgBytes:0} / {r.BytesSat.RingAvgBytes:0}");
        Row(sb, "ring stops / wakes / BQL stops", $"{r.Device.QueueStops} / {r.Device.QueueWakes} / {r.Device.BqlStops} (BQL limit {r.Device.BqlLimit} bytes)");
        Row(sb, "doorbells / packets per doorbell", $"{r.Device.Doorbells} / {r.Device.PacketsPerDoorbell:0.##} (at most {r.Device.MaxPacketsPerDoorbell})");
        var rx = r.Receiver;
        Row(sb, $"B {rx.Name}: rx packets / missed (rx_missed_errors) / dropped (rx_dropped)", $"{rx.RxPackets} / {rx.RxMissedErrors} / {rx.RxDropped}");
        Row(sb, "B RX ring / interrupts / NAPI polls (whole weight)", $"{rx.RxRingSize} descriptors, peak {rx.RxRingFilledMax} in use / {rx.RxInterrupts} / {rx.NapiPolls} ({rx.NapiFullPolls})");
        Row(sb, "B softnet_stat: processed / dropped / time_squeeze", $"{rx.SoftnetProcessed} / {rx.SoftnetDropped} / {rx.TimeSqueeze} (netdev_budget {rx.NetdevBudget}, {rx.NetdevBudgetUsecs} µs; NET_RX cost {rx.RxCostUs:0.###} µs per packet)");
        Row(sb, "link utilisation / goodput", $"{r.Link.Utilisation * 100:0.#}% / {r.Link.GoodputBitsPerSecond / 1e6:0.##} Mbit/s");
        if (r.Link.Faults.Description.Length > 0) Row(sb, "wire faults", r.Link.Faults.Description);
        foreach (var w in r.Link.Directions)
            Row(sb, $"wire {w.Name}: frames / lost / reordered / duplicated / corrupted", $"{w.Frames} / {w.Lost} / {w.Reordered} / {w.Duplicated} / {w.Corrupted}");
        Row(sb, "checksum drops at B", TextReport.ChecksumDrops(r.ReceiverCounters));
        Row(sb, "one-way latency p50 / p99 / max", $"{r.Latency.P50Ms:0.###} / {r.Latency.P99Ms:0.###} / {r.Latency.MaxMs:0.###} ms");
        sb.Append("</table>");
    }

    /// <summary>
    /// The books layer by layer (in = passed on + dropped + still queued), and for each layer that dropped, a table of its
    /// drops by Linux's skb_drop_reason name.
    /// </summary>
    public static void Ledger(StringBuilder sb, string title, IReadOnlyList<Hosting.Accounting.LayerBalance> ledger)
    {
        if (ledger.Count == 0) return;
        sb.Append("<h2>").Append(E(title)).Append("</h2><table class=\"ledger\"><tr><th>layer</th><th>unit</th><th>in</th><th>passed on</th><th>dropped</th><th>still queued</th><th>books</th></tr>");
        foreach (var l in ledger)
        {
            sb.Append("<tr><th>").Append(E(l.Layer)).Append("</th><td>").Append(E(l.Unit)).Append("</td>");
            foreach (long n in new[] { l.In, l.Out, l.Dropped, l.Queued }) sb.Append("<td class=\"n\">").Append(n.ToString(Inv)).Append("</td>");
            sb.Append("<td>").Append(l.Balanced ? "balance" : E($"{l.In - l.Out - l.Dropped - l.Queued} unaccounted")).Append("</td></tr>");
        }
        sb.Append("</table>");
        foreach (var l in ledger.Where(x => x.Drops.Any(d => d.Value != 0)))
        {
            sb.Append("<h3>").Append(E(l.Layer)).Append(": drops by reason</h3><table class=\"drops\"><tr><th>reason</th><th>").Append(E(l.Unit)).Append("</th></tr>");
            foreach (var (reason, n) in l.Drops.Where(d => d.Value != 0).OrderByDescending(d => d.Value))
                sb.Append("<tr><td>").Append(E(reason)).Append("</td><td class=\"n\">").Append(n.ToString(Inv)).Append("</td></tr>");
            sb.Append("</table>");
        }
    }

    private static void Row(StringBuilder sb, string k, FormattableString v) => sb.Append("<tr><th>").Append(E(k)).Append("</th><td>").Append(E(v.ToString(Inv))).Append("</td></tr>");
    private static void Row(StringBuilder sb, string k, string v) => sb.Append("<tr><th>").Append(E(k)).Append("</th><td>").Append(E(v)).Append("</td></tr>");

    private static void Plots(StringBuilder sb, UdpFloodReport r, IReadOnlyList<Sample> samples, double endMs)
    {
        var events = r.Events.Where(ev => ev.AtMs <= endMs).ToList();
        // wmem_alloc at each EAGAIN and EPOLLOUT is the sawtooth's peak and trough: with them the envelope's edges are exact.
        var chart = new Plots.TimeChart("socket wmem_alloc against sndbuf and sndbuf/2", "bytes", endMs)
            .Series("wmem_alloc", "#1f4e79", samples.Select(x => (x.AtMs, (double)x.WmemAlloc)).ToList(), events.Select(ev => (ev.AtMs, (double)ev.WmemAlloc)))
            .Limit("sndbuf", "#c0392b", r.Socket.SndBuf) // over the data, where it is visible
            .Limit("sndbuf/2", "#27ae60", r.Socket.SndBuf / 2.0)
            .Marks("EAGAIN", "#c0392b", ScottPlot.MarkerShape.FilledTriangleDown, events.Where(ev => ev.Kind == "EAGAIN").Select(ev => ev.AtMs))
            .Marks("EPOLLOUT", "#27ae60", ScottPlot.MarkerShape.FilledTriangleUp, events.Where(ev => ev.Kind != "EAGAIN").Select(ev => ev.AtMs));
        Figure(sb, chart);
        Figure(sb, new Plots.TimeChart("qdisc backlog", "bytes", endMs)
            .Series("qdisc backlog", "#8e44ad", samples.Select(x => (x.AtMs, (double)x.QdiscBytes)).ToList(), events.Select(ev => (ev.AtMs, (double)ev.QdiscBytes))));
        Figure(sb, new Plots.TimeChart("driver TX ring (posted, not yet completed)", "bytes", endMs)
            .Series("driver ring", "#e67e22", samples.Select(x => (x.AtMs, (double)x.RingBytes)).ToList()));
    }

    private static void Figure(StringBuilder sb, Plots.TimeChart c) => sb.Append("<figure>").Append(c.Svg()).Append("</figure>");

    private static string F(double v) => v.ToString(v >= 100 ? "0" : v >= 10 ? "0.#" : "0.##", Inv);

    /// <summary>Text as HTML: the one encoder the report pages share.</summary>
    internal static string E(string s) => WebUtility.HtmlEncode(s);
}
