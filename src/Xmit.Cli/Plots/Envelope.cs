namespace Xmit.Cli.Plots;

/// <summary>
/// The lowest and highest value, in each pixel column, of the line through a series' points. Drawing every point of a
/// long run as a line aliases a fast cycle (UDP's ~5.7 ms wmem_alloc sawtooth sampled every 1 ms gives a moiré whose
/// minima never reach sndbuf/2); the envelope shows the whole range each column covers instead. Extra points (the values
/// at each EAGAIN and EPOLLOUT, which are the sawtooth's peaks and troughs) join the line so its extremes are exact, not sampled.
/// </summary>
public sealed record Envelope(double[] X, double[] Min, double[] Max)
{
    /// <summary>
    /// The envelope over <paramref name="columns"/> columns across [<paramref name="x0"/>, <paramref name="x1"/>] of the line
    /// through <paramref name="points"/> (taken in order of X): every column the line crosses yields its centre and the
    /// line's minimum and maximum within it, values at the column's edges interpolated.
    /// </summary>
    public static Envelope Of(IEnumerable<(double X, double Y)> points, double x0, double x1, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (!(x1 > x0)) x1 = x0 + 1; // a zero-length run still gets one column
        var min = new double[columns];
        var max = new double[columns];
        var seen = new bool[columns];
        double width = (x1 - x0) / columns;
        int Column(double x) => Math.Clamp((int)((x - x0) / width), 0, columns - 1);
        void Add(int c, double y)
        {
            if (!seen[c]) { seen[c] = true; min[c] = max[c] = y; }
            else { min[c] = Math.Min(min[c], y); max[c] = Math.Max(max[c], y); }
        }

        var sorted = points.Where(p => p.X >= x0 && p.X <= x1).OrderBy(p => p.X).ToList(); // stable: equal times keep their order
        for (int i = 0; i < sorted.Count; i++)
        {
            var (xa, ya) = sorted[i];
            Add(Column(xa), ya);
            if (i + 1 == sorted.Count) break;
            var (xb, yb) = sorted[i + 1];
            // The segment to the next point crosses the columns between: each gets the line's value at its edges.
            for (int c = Column(xa) + 1; c <= Column(xb); c++)
            {
                double edge = x0 + c * width;
                double y = xb > xa ? ya + (yb - ya) * (edge - xa) / (xb - xa) : yb;
                Add(c - 1, y);
                Add(c, y);
            }
        }

        var xs = new List<double>();
        var lo = new List<double>();
        var hi = new List<double>();
        for (int c = 0; c < columns; c++)
        {
            if (!seen[c]) continue;
            xs.Add(x0 + (c + 0.5) * width);
            lo.Add(min[c]);
            hi.Add(max[c]);
        }
        return new Envelope([.. xs], [.. lo], [.. hi]);
    }
}
