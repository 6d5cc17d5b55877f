using Xmit.Cli.Plots;

namespace Xmit.Tests.Cli;

/// <summary>The min/max envelope the long-run plots draw instead of an aliased line.</summary>
public class EnvelopeTests
{
    /// <summary>A sawtooth like UDP's wmem_alloc: jumps to 200 at each period's start, falls linearly to 100 just before the next.</summary>
    private static double Saw(double t, double period) => 200 - 100 * (t % period) / period;

    [Fact]
    public void A_fast_cycle_sampled_slowly_aliases_but_its_turning_points_make_the_envelope_exact()
    {
        const double period = 5.7, end = 10_000;
        var samples = Enumerable.Range(0, 10_001).Select(i => ((double)i, Saw(i, period))).ToList(); // every 1 ms
        // The turning points, as the EAGAIN (peak) and EPOLLOUT (trough) events give them: trough just before the jump.
        var turns = Enumerable.Range(1, (int)(end / period)).SelectMany(k => new[] { (k * period, 100.0), (k * period, 200.0) }).ToList();

        var sampled = Envelope.Of(samples, 0, end, 800);
        var exact = Envelope.Of(samples.Concat(turns), 0, end, 800);
        Assert.Equal(800, exact.X.Length); // every column crossed
        // Each 12.5 ms column holds two cycles: its true range is the whole 100..200, which only the turning points show.
        Assert.All(exact.Min, m => Assert.Equal(100, m, 9));
        Assert.All(exact.Max, m => Assert.Equal(200, m, 9));
        Assert.Contains(sampled.Min, m => m > 101); // sampled at 1 ms, many columns never see the trough: the moiré
    }

    [Fact]
    public void A_line_through_sparse_points_covers_the_columns_between_them_with_interpolated_values()
    {
        var e = Envelope.Of([(0, 0), (100, 100)], 0, 100, 10);
        Assert.Equal(10, e.X.Length);
        for (int c = 0; c < 10; c++)
        {
            Assert.Equal(c * 10 + 5, e.X[c], 9);
            Assert.Equal(c * 10, e.Min[c], 9);
            Assert.Equal(c * 10 + 10, e.Max[c], 9);
        }
    }

    [Fact]
    public void Points_outside_the_range_are_left_out_and_empty_input_gives_nothing()
    {
        Assert.Empty(Envelope.Of([], 0, 10, 5).X);
        var e = Envelope.Of([(-5, 1000), (2, 1), (3, 2), (50, -1000)], 0, 10, 5);
        Assert.Equal(1, e.Min.Min());
        Assert.Equal(2, e.Max.Max());
    }
}

/// <summary>What a chart puts on its axes and in its legend.</summary>
public class TimeChartTests
{
    private static List<string> Texts(string svg) =>
        [.. System.Text.RegularExpressions.Regex.Matches(svg, @"<text[^>]*>([^<]*)</text>").Select(m => System.Net.WebUtility.HtmlDecode(m.Groups[1].Value).Trim())];

    [Fact]
    public void Ticks_are_round_numbers_and_limits_carry_their_exact_value()
    {
        // sndbuf 212992 with a 10 % headroom: dividing the axis in fifths gave 46.9k, 93.7k, 234.3k.
        var svg = new TimeChart("t", "bytes", 5.7)
            .Series("wmem_alloc", "#1f4e79", [(0, 0), (0.2, 214272), (5.7, 105984)])
            .Limit("sndbuf", "#c0392b", 212992)
            .Svg();
        Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
        var texts = Texts(svg);
        var ticks = texts.Where(t => System.Text.RegularExpressions.Regex.IsMatch(t, @"^\d+(\.\d+)?k$")).ToList();
        Assert.True(ticks.Count >= 3, string.Join(" | ", texts));
        // Every tick is a multiple of one 1-2-5 step, e.g. 50k, 100k, 150k, 200k.
        var values = ticks.Select(t => double.Parse(t[..^1], System.Globalization.CultureInfo.InvariantCulture) * 1000).Order().ToList();
        double step = values[1] - values[0];
        double mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step)));
        Assert.Contains(Math.Round(mantissa, 6), new[] { 1.0, 2.0, 2.5, 5.0 });
        Assert.All(values, v => Assert.Equal(0, v % step, 6));
        Assert.Contains("sndbuf = 212992", texts);
    }
}
