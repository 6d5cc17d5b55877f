using System.Globalization;
using ScottPlot;

namespace Xmit.Cli.Plots;

/// <summary>
/// One plot over virtual time, drawn by ScottPlot and returned as SVG markup to embed inline (the page stays one file).
/// What the hand-drawn plots got wrong is fixed here once for every page: a series with more points than pixel columns
/// is drawn as its min/max envelope (no aliasing), y ticks are round numbers (ScottPlot's 1-2-5 steps, labelled 50k, 1.5M),
/// limits are dashed lines with their exact value in the legend below the axes (clear of the data and the marks), and events are drawn as
/// triangles in a band of their own above the data, one per pixel column and kind so thousands stay legible.
/// </summary>
public sealed class TimeChart
{
    /// <summary>Size of every chart on a page: wide enough for a 10 s run at ~1 ms per column.</summary>
    public const int Width = 960, Height = 300;

    /// <summary>Pixel columns of the data area, about; the envelope's resolution.</summary>
    public const int Columns = 820;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly Plot _plot = new();
    private readonly double _endMs;
    private double _yMax;
    private readonly List<(string Name, Color Color, MarkerShape Shape, double[] Times)> _marks = [];

    public TimeChart(string title, string yLabel, double endMs)
    {
        _endMs = Math.Max(endMs, 1e-6);
        _plot.Font.Set("DejaVu Sans"); // the sans-serif fontconfig brings on Debian; ScottPlot's own pick here was a serif
        _plot.Title(title, size: 15);
        _plot.YLabel(yLabel, size: 13);
        _plot.XLabel("virtual time (ms)", size: 13);
        _plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = Short };
        _plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = Short };
        _plot.ShowLegend(Edge.Bottom); // below the axes: never over the data or the marks
        _plot.Legend.FontSize = 11;
    }

    /// <summary>
    /// A series over time: a line (<paramref name="step"/>: each value held until the next), or its min/max envelope per pixel
    /// column when it has more points than columns; <paramref name="extra"/> adds exact values (e.g. wmem_alloc at each EAGAIN
    /// and EPOLLOUT) to the envelope's edges.
    /// </summary>
    public TimeChart Series(string name, string color, IReadOnlyList<(double X, double Y)> points, IEnumerable<(double X, double Y)>? extra = null,
        bool step = false)
    {
        if (points.Count == 0) return this;
        var c = Color.FromHex(color);
        var all = extra is null ? points : points.Concat(extra).ToList();
        _yMax = Math.Max(_yMax, all.Max(p => p.Y));
        if (all.Count > Columns)
        {
            var e = Envelope.Of(all, 0, _endMs, Columns);
            var band = _plot.Add.FillY(e.X, e.Max, e.Min);
            band.FillColor = c.WithAlpha(0.45);
            band.LineColor = c;
            band.LineWidth = 1;
            band.LegendText = name + " (min–max per pixel)";
            return this;
        }
        var sorted = all.OrderBy(p => p.X).ToList(); // the extra points join the line too (stable: equal times keep their order)
        var xs = sorted.Select(p => p.X).ToArray();
        var ys = sorted.Select(p => p.Y).ToArray();
        var line = step ? _plot.Add.ScatterLine(StepX(xs), StepY(ys)) : _plot.Add.ScatterLine(xs, ys);
        line.Color = c;
        line.LineWidth = 1.6f;
        line.LegendText = name;
        return this;
    }

    /// <summary>
    /// A quantity's lowest and highest value in each of consecutive spans of time (the spans a recorder watched every event
    /// of, one per pixel column): a band whose every column covers what the quantity took there; for a limit, faint
    /// (a dashed line where it never changed).
    /// </summary>
    public TimeChart Ranges(string name, string color, IReadOnlyList<(double From, double To, double Min, double Max)> ranges, bool limit = false)
    {
        if (ranges.Count == 0) return this;
        var c = Color.FromHex(color);
        double[] xs = [.. ranges.SelectMany(r => new[] { r.From, r.To })];
        double[] lo = [.. ranges.SelectMany(r => new[] { r.Min, r.Min })], hi = [.. ranges.SelectMany(r => new[] { r.Max, r.Max })];
        _yMax = Math.Max(_yMax, hi.Max());
        if (limit && ranges.All(r => r.Min == ranges[0].Min && r.Max == ranges[0].Min)) return Limit(name, color, ranges[0].Min);
        var band = _plot.Add.FillY(xs, hi, lo);
        // A limit: faint, so the data it bounds stays readable. Not dashed: Skia's SVG canvas has no dashed fill outline
        // (it says "Unsupported path effect" on stderr).
        band.FillColor = c.WithAlpha(limit ? 0.12 : 0.45);
        band.LineColor = limit ? c.WithAlpha(0.8) : c;
        band.LineWidth = 1;
        band.LegendText = name + " (min–max per pixel)";
        return this;
    }

    /// <summary>A constant limit: a dashed line, its exact value in the legend (a label on the line would collide with the data or the marks).</summary>
    public TimeChart Limit(string name, string color, double y)
    {
        var h = _plot.Add.HorizontalLine(y, 1.5f, Color.FromHex(color), LinePattern.Dashed);
        h.LegendText = $"{name} = {y.ToString("0.#", Inv)}";
        _yMax = Math.Max(_yMax, y);
        return this;
    }

    /// <summary>A limit that changes over time (sndbuf while autotuned, the TSQ limit as pacing rate grows): a dashed line.</summary>
    public TimeChart LimitSeries(string name, string color, IReadOnlyList<(double X, double Y)> points)
    {
        if (points.Count == 0) return this;
        if (points.All(p => p.Y == points[0].Y)) return Limit(name, color, points[0].Y);
        var e = points.Count > Columns ? Envelope.Of(points, 0, _endMs, Columns) : null;
        double[] xs = e?.X ?? [.. points.Select(p => p.X)], ys = e?.Max ?? [.. points.Select(p => p.Y)];
        var line = _plot.Add.ScatterLine(StepX(xs), StepY(ys));
        line.Color = Color.FromHex(color);
        line.LineWidth = 1.5f;
        line.LinePattern = LinePattern.Dashed;
        line.LegendText = name;
        _yMax = Math.Max(_yMax, ys.Max());
        return this;
    }

    /// <summary>Events (EAGAIN, EPOLLOUT): triangles in a band above the data, one per pixel column.</summary>
    public TimeChart Marks(string name, string color, MarkerShape shape, IEnumerable<double> times)
    {
        double col = _endMs / Columns;
        var inRange = times.Where(t => t >= 0 && t <= _endMs).ToList();
        _marks.Add(($"{name} ×{inRange.Count}", Color.FromHex(color), shape, [.. inRange.Select(t => Math.Floor(t / col)).Distinct().Select(k => (k + 0.5) * col)]));
        return this;
    }

    /// <summary>The chart as an &lt;svg&gt; element (no XML declaration), to put in a page as it is.</summary>
    public string Svg()
    {
        double top = Math.Max(_yMax, 1) * 1.08;
        double band = top * 0.09; // each row of marks gets 9 % of the height above the data
        for (int i = 0; i < _marks.Count; i++)
        {
            var m = _marks[i];
            if (m.Times.Length == 0) continue;
            var p = _plot.Add.Markers(m.Times, [.. m.Times.Select(_ => top + band * (i + 0.5))], m.Shape, 7, m.Color);
            p.LegendText = m.Name;
        }
        _plot.Axes.SetLimits(0, _endMs, 0, top + band * _marks.Count);
        string svg = _plot.GetSvgXml(Width, Height);
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        return start > 0 ? svg[start..] : svg;
    }

    /// <summary>Tick and limit labels: 50k, 1.5M, 250 µs-free plain numbers; never 46.9k because the ticks are round.</summary>
    public static string Short(double v) => Math.Abs(v) switch
    {
        >= 1e9 => (v / 1e9).ToString("0.##", Inv) + "G",
        >= 1e6 => (v / 1e6).ToString("0.##", Inv) + "M",
        >= 1e3 => (v / 1e3).ToString("0.##", Inv) + "k",
        _ => v.ToString("0.##", Inv),
    };

    // A step line: each value holds until the next sample (how a counter sampled at instants is best read).
    private static double[] StepX(double[] x) => [.. x.SelectMany((v, i) => i + 1 < x.Length ? new[] { v, x[i + 1] } : [v])];
    private static double[] StepY(double[] y) => [.. y.SelectMany((v, i) => i + 1 < y.Length ? new[] { v, v } : [v])];
}
