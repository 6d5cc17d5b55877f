using Xmit.Cli;
using Xmit.Cli.Commands;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Cli;

/// <summary>
/// The HTML pages as a person sees them: rendered by headless Chromium, the screenshot must show the plots (their line
/// colours in quantity), not a blank or broken page. A missing chromium fails these tests (./test.sh installs it).
/// </summary>
public class HtmlScreenshotTests
{
    private static SkiaSharp.SKBitmap Render(Func<FileInfo, int> write, int height = 2600)
    {
        var path = Path.Combine(Path.GetTempPath(), $"xmit-shot-{Environment.ProcessId}-{Guid.NewGuid():N}.html");
        try
        {
            Assert.Equal(0, write(new FileInfo(path)));
            return Chromium.Screenshot(path, 1040, height);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Not blank: many colours and a good share of non-white pixels, and each of <paramref name="colours"/> drawn in quantity.</summary>
    private static void AssertShows(SkiaSharp.SKBitmap shot, params string[] colours)
    {
        Assert.Equal(1040, shot.Width);
        var pixels = shot.Pixels;
        int nonWhite = pixels.Count(p => p.Red < 240 || p.Green < 240 || p.Blue < 240);
        Assert.True(nonWhite > pixels.Length / 50, $"{nonWhite} of {pixels.Length} pixels are not white: a blank page?");
        Assert.True(pixels.Distinct().Count() > 100, "fewer than 100 colours: the plots did not render");
        foreach (var c in colours)
        {
            int n = Chromium.CountNear(shot, c);
            Assert.True(n > 300, $"only {n} pixels of {c}: that plot's line is missing");
        }
    }

    [Fact]
    public void The_tcp_page_renders_its_plots_in_chromium()
    {
        var shot = Render(f => SimTcpCommand.Run(new TcpBulkConfig { Duration = Duration.FromMilliseconds(300) }, null, false, f, TextWriter.Null, TextWriter.Null));
        AssertShows(shot, "#1f4e79", "#e67e22", "#8e44ad", "#16a085"); // cwnd and wmem_queued, packets in flight, sk_wmem_alloc, qdisc backlog
    }

    [Fact]
    public void The_tcp_pages_whole_run_plots_are_filled_min_max_bands()
    {
        // The fine series cut to 200 ms (lines: fewer points than pixel columns) and a 2 s run: the page's only filled
        // bands are then the whole run's envelopes — qdisc backlog from 0 to ~75 kB and packets in flight from ~10 to ~60 in
        // every column, which 100 ms samples drawn as a line would show as a thin wandering line. (wmem_alloc's band lies under
        // the TSQ limit's faint one, so its colour is not its own.)
        var shot = Render(f => SimTcpCommand.Run(new TcpBulkConfig { Duration = Duration.FromSeconds(2), DetailSpan = Duration.FromMilliseconds(200) },
            null, false, f, TextWriter.Null, TextWriter.Null), 5600);
        foreach (var c in new[] { "#16a085", "#e67e22" }) // qdisc backlog, packets in flight: a line, however drawn, has none of the fill colour
        {
            int n = Chromium.CountNear(shot, Band(c), 12);
            Assert.True(n > 5_000, $"only {n} pixels of {c}'s band: the whole-run envelope is not filled");
        }
    }

    /// <summary>The colour of a band ScottPlot fills at 45 % of <paramref name="hex"/> over the white page.</summary>
    private static string Band(string hex)
    {
        var c = SkiaSharp.SKColor.Parse(hex);
        byte Mix(byte v) => (byte)Math.Round(v * 0.45 + 255 * 0.55);
        return $"#{Mix(c.Red):x2}{Mix(c.Green):x2}{Mix(c.Blue):x2}";
    }

    [Fact]
    public void The_udp_page_renders_its_plots_in_chromium()
    {
        var shot = Render(f => SimFloodCommand.Run(new UdpFloodConfig { Duration = Duration.FromMilliseconds(100) }, null, false, f, TextWriter.Null, TextWriter.Null));
        AssertShows(shot, "#1f4e79", "#8e44ad", "#c0392b", "#27ae60"); // wmem_alloc, qdisc backlog, EAGAIN ▼ and sndbuf, EPOLLOUT ▲ and sndbuf/2
    }

    [Fact]
    public void The_ping_page_renders_its_rtt_plot_in_chromium()
    {
        var shot = Render(f => SimPingCommand.Run(1, null, 20, 56, Duration.FromMilliseconds(100), 10_000_000, Duration.FromMilliseconds(2), 0.1, 1500,
            TextWriter.Null, html: f) is 0 or 1 ? 0 : 2);
        AssertShows(shot, "#2c7fb8", "#27ae60"); // the RTTs and the expected RTT
    }
}
