using System.Globalization;
using System.Text;
using Xmit.Cli.Commands;

namespace Xmit.Cli;

/// <summary>
/// `sim ping --html`: one self-contained page — iputils' summary as a table, every reply's RTT over the time its request
/// left with the expected RTT as a dashed line and lost requests marked, and the whole text report (why the RTT is what
/// it is, the per-layer counters) as it printed.
/// </summary>
public static class PingHtmlReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(SimPingCommand.PingReport r, double intervalMs, long transmitted, string textReport)
    {
        var sb = new StringBuilder();
        string title = $"xmit sim ping — {r.From} → {r.To}";
        HtmlReport.Head(sb, title);
        sb.Append("<h1>").Append(E(title)).Append("</h1>");
        var s = r.Statistics;
        sb.Append("<table><tr><th>transmitted</th><th>received</th><th>loss</th><th>rtt min</th><th>avg</th><th>max</th><th>mdev</th></tr><tr>");
        foreach (var v in new[] { s.Transmitted.ToString(Inv), s.Received.ToString(Inv), s.LossPercent.ToString("0.#", Inv) + " %", Ms(s.MinMs), Ms(s.AvgMs), Ms(s.MaxMs), Ms(s.MdevMs) })
            sb.Append("<td class=\"n\">").Append(E(v)).Append("</td>");
        sb.Append("</tr></table>");
        sb.Append("<p class=\"why\"><b>Why</b>: ").Append(E(r.Why)).Append("</p>");
        if (r.Replies.Count > 0)
        {
            double end = Math.Max(intervalMs * Math.Max(transmitted - 1, 1), 1);
            var chart = new Plots.TimeChart("RTT of each reply, by when its request left", "RTT (µs)", end)
                .Series("RTT", "#2c7fb8", [.. r.Replies.Select(p => ((p.Sequence - 1) * intervalMs, p.RttUs))])
                .Limit("expected RTT (µs)", "#27ae60", r.ExpectedRttUs);
            var answered = r.Replies.Select(p => (int)p.Sequence).ToHashSet();
            var lost = Enumerable.Range(1, (int)transmitted).Where(q => !answered.Contains(q)).Select(q => (q - 1) * intervalMs).ToList();
            if (lost.Count > 0) chart.Marks("no reply", "#c0392b", ScottPlot.MarkerShape.FilledTriangleDown, lost);
            sb.Append("<figure>").Append(chart.Svg()).Append("</figure>");
        }
        sb.Append("<h2>The report</h2><pre>").Append(E(textReport)).Append("</pre></body></html>");
        return sb.ToString();
    }

    private static string Ms(double? v) => v is { } x ? x.ToString("0.###", Inv) + " ms" : "—";

    private static string E(string s) => HtmlReport.E(s);
}
