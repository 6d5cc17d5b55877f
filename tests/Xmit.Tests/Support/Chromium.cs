using System.Diagnostics;
using SkiaSharp;

namespace Xmit.Tests.Support;

/// <summary>
/// Renders a page in headless Chromium and returns the screenshot: how the tests see the HTML reports as a person would
/// (fonts, the inline SVG, the layout). A missing chromium, a run that does not finish or one that writes no image fails
/// the test with the reason; ./test.sh installs chromium from Debian's packages.
/// </summary>
public static class Chromium
{
    /// <summary>The first of these on PATH is used (Debian's package is chromium; others ship chromium-browser).</summary>
    private static readonly string[] Names = ["chromium", "chromium-browser", "google-chrome"];

    /// <summary>A <paramref name="width"/> × <paramref name="height"/> screenshot of <paramref name="htmlPath"/>, decoded.</summary>
    public static SKBitmap Screenshot(string htmlPath, int width, int height)
    {
        var exe = Names.Select(Find).FirstOrDefault(p => p is not null)
            ?? throw new InvalidOperationException("chromium is needed to render the HTML reports and was not found on PATH; ./test.sh installs it (apt-get install chromium)");
        var dir = Directory.CreateTempSubdirectory("xmit-chromium-");
        try
        {
            var png = Path.Combine(dir.FullName, "page.png");
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
            // --no-sandbox: tests run as root in CI, where Chromium's sandbox refuses to start; the page is our own local file.
            // A profile of its own, so parallel tests and other sessions do not share one.
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", $"--user-data-dir={dir.FullName}/profile",
                         $"--window-size={width},{height}", $"--screenshot={png}", new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(120_000))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail("chromium did not finish its screenshot in 120 s");
            }
            Assert.True(p.ExitCode == 0 && File.Exists(png), $"chromium wrote no screenshot ({p.ExitCode}): {output.Result}{error.Result}");
            return SKBitmap.Decode(png) ?? throw new InvalidOperationException($"the screenshot {png} is not a PNG");
        }
        finally
        {
            try { dir.Delete(recursive: true); } catch (IOException) { } // chromium's helpers may still be closing files
        }
    }

    private static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>Pixels of <paramref name="bitmap"/> within <paramref name="tolerance"/> per channel of <paramref name="hex"/> (#rrggbb).</summary>
    public static int CountNear(SKBitmap bitmap, string hex, int tolerance = 24)
    {
        var c = SKColor.Parse(hex);
        int n = 0;
        foreach (var px in bitmap.Pixels)
            if (Math.Abs(px.Red - c.Red) <= tolerance && Math.Abs(px.Green - c.Green) <= tolerance && Math.Abs(px.Blue - c.Blue) <= tolerance) n++;
        return n;
    }
}
