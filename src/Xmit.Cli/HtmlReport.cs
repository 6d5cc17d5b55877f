using System.Globalization;
using System.Net;
using System.Text;

namespace Xmit.Cli;

/// <summary>
/// One self-contained HTML page: the report, and time plots drawn as inline SVG (no scripts, no fetches) of
/// the socket's wmem_alloc against sndbuf and sndbuf/2, where the bytes sat (qdisc, driver ring) and the
/// link's utilisation, with every EAGAIN (red) and EPOLLOUT (green) marked on the time axis.
/// </summary>
public static class HtmlReport
{
    private const int W = 960, H = 230, Left = 80, Right = 20, Top = 28, Bottom = 34;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(UdpFloodReport r)
    {
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>xmit sim — the story of an EAGAIN</title><style>");
        sb.Append("body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}");
        sb.Append(".why{background:#fff5f5;border-left:4px solid #c0392b;padding:8px 12px}.then{background:#f3fbf5;border-left:4px solid #27ae60;padding:8px 12px}");
        sb.Append("table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}td.n{text-align:right;font-variant-numeric:tabular-nums}");
        sb.Append("svg{background:#fcfcfc;border:1px solid #ddd;margin:6px 0}.legend span{margin-right:16px}.sw{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:4px}");
        sb.Append("</style></head><body>");
        sb.Append("<h1>xmit sim — the story of an EAGAIN</h1><p>").Append(E(r.Scenario)).Append("</p>");
        if (r.FirstEagain is { } e) sb.Append("<p class=\"why\"><b>Why the first EAGAIN</b> (at ").Append(F(e.AtMs)).Append(" ms): ").Append(E(e.Text)).Append("</p>");
        else sb.Append("<p>No EAGAIN: the send buffer never filled.</p>");
        if (r.FirstEpollout is { } w) sb.Append("<p class=\"then\"><b>Then</b>: ").Append(E(w.Text)).Append("</p>");

        Summary(sb, r);
        Ledger(sb, "Where every datagram went", r.Ledger);

        var marks = r.Events.Select(ev => (ev.AtMs, ev.Kind == "EAGAIN" ? "#c0392b" : "#27ae60")).ToList();
        double sndbuf = r.Socket.SndBuf;
        if (r.DetailSamples.Count > 1)
        {
            double end = r.DetailSamples[^1].AtMs;
            sb.Append("<h2>The first ").Append(F(end)).Append(" ms, sampled every 20 µs</h2>");
            Plots(sb, r.DetailSamples, marks.Where(m => m.AtMs <= end).ToList(), sndbuf, end);
        }
        sb.Append("<h2>The whole run (").Append(F(r.DurationMs)).Append(" ms)</h2>");
        Plots(sb, r.Samples, marks, sndbuf, r.DurationMs);
        sb.Append("<p style=\"color:#777\">Times are virtual (deterministic: seed ").Append(r.Seed).Append("). Red ticks: EAGAIN; green ticks: EPOLLOUT.</p>");
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

    private static void Plots(StringBuilder sb, IReadOnlyList<Sample> samples, List<(double AtMs, string Color)> marks, double sndbuf, double endMs)
    {
        Chart(sb, "socket wmem_alloc against sndbuf and sndbuf/2 (bytes)", endMs,
            [("wmem_alloc", "#2c3e50", samples.Select(x => (x.AtMs, (double)x.WmemAlloc)).ToList())],
            [(sndbuf, "sndbuf", "#c0392b"), (sndbuf / 2, "sndbuf/2", "#27ae60")], marks, Math.Max(sndbuf * 1.1, samples.Max(x => (double)x.WmemAlloc)));
        double bytesMax = Math.Max(1, samples.Max(x => Math.Max(x.QdiscBytes, x.RingBytes)));
        Chart(sb, "where the bytes sat: qdisc backlog and driver ring (bytes)", endMs,
            [("qdisc backlog", "#8e44ad", samples.Select(x => (x.AtMs, (double)x.QdiscBytes)).ToList()),
             ("driver ring", "#e67e22", samples.Select(x => (x.AtMs, (double)x.RingBytes)).ToList())],
            [], marks, bytesMax * 1.1);
        Chart(sb, "link utilisation (%)", endMs,
            [("utilisation", "#16a085", samples.Select(x => (x.AtMs, x.LinkUtilisation * 100)).ToList())],
            [], marks, 105);
    }

    private static void Chart(StringBuilder sb, string title, double xMax, List<(string Name, string Color, List<(double X, double Y)> Points)> series,
        List<(double Y, string Label, string Color)> hlines, List<(double AtMs, string Color)> marks, double yMax)
    {
        xMax = Math.Max(xMax, 1e-9);
        yMax = Math.Max(yMax, 1e-9);
        double px(double x) => Left + x / xMax * (W - Left - Right);
        double py(double y) => H - Bottom - y / yMax * (H - Top - Bottom);
        sb.Append("<div class=\"legend\">").Append(E(title)).Append(": ");
        foreach (var s in series) sb.Append("<span><i class=\"sw\" style=\"background:").Append(s.Color).Append("\"></i>").Append(E(s.Name)).Append("</span>");
        foreach (var h in hlines) sb.Append("<span><i class=\"sw\" style=\"background:").Append(h.Color).Append("\"></i>").Append(E(h.Label)).Append("</span>");
        sb.Append("</div>");
        sb.Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{E(title)}\">");
        // axes and ticks
        sb.Append(Inv, $"<line x1=\"{Left}\" y1=\"{H - Bottom}\" x2=\"{W - Right}\" y2=\"{H - Bottom}\" stroke=\"#999\"/><line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{H - Bottom}\" stroke=\"#999\"/>");
        for (int i = 0; i <= 5; i++)
        {
            double x = xMax * i / 5, y = yMax * i / 5;
            sb.Append(Inv, $"<text x=\"{px(x):0.#}\" y=\"{H - Bottom + 16}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">{F(x)} ms</text>");
            sb.Append(Inv, $"<text x=\"{Left - 6}\" y=\"{py(y) + 4:0.#}\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">{Short(y)}</text>");
            sb.Append(Inv, $"<line x1=\"{Left}\" y1=\"{py(y):0.#}\" x2=\"{W - Right}\" y2=\"{py(y):0.#}\" stroke=\"#eee\"/>");
        }
        foreach (var m in marks.Take(2000))
            sb.Append(Inv, $"<line x1=\"{px(m.AtMs):0.##}\" y1=\"{Top}\" x2=\"{px(m.AtMs):0.##}\" y2=\"{Top + 8}\" stroke=\"{m.Color}\" stroke-width=\"1\" opacity=\"0.8\"/>");
        foreach (var h in hlines)
            sb.Append(Inv, $"<line x1=\"{Left}\" y1=\"{py(h.Y):0.#}\" x2=\"{W - Right}\" y2=\"{py(h.Y):0.#}\" stroke=\"{h.Color}\" stroke-dasharray=\"6 4\"/><text x=\"{W - Right - 4}\" y=\"{py(h.Y) - 4:0.#}\" font-size=\"11\" text-anchor=\"end\" fill=\"{h.Color}\">{E(h.Label)} {Short(h.Y)}</text>");
        foreach (var s in series)
        {
            sb.Append("<polyline fill=\"none\" stroke=\"").Append(s.Color).Append("\" stroke-width=\"1.3\" points=\"");
            foreach (var (x, y) in s.Points) sb.Append(Inv, $"{px(x):0.##},{py(y):0.##} ");
            sb.Append("\"/>");
        }
        sb.Append("</svg>");
    }

    private static string F(double v) => v.ToString(v >= 100 ? "0" : v >= 10 ? "0.#" : "0.##", Inv);

    private static string Short(double v) => v switch
    {
        >= 1e6 => (v / 1e6).ToString("0.##", Inv) + "M",
        >= 1e3 => (v / 1e3).ToString("0.#", Inv) + "k",
        _ => v.ToString("0.#", Inv),
    };

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
