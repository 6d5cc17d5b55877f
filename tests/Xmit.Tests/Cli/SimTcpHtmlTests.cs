using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xmit.Cli;
using Xmit.Cli.Commands;
using Xmit.Time;

namespace Xmit.Tests.Cli;

/// <summary>`xmit sim tcp --html`: the page says what the JSON report says, its books add up, and its samples are what the plots claim.</summary>
public class SimTcpHtmlTests
{
    /// <summary>Runs <paramref name="c"/> once, printing JSON and writing the page from the same report.</summary>
    private static (JsonElement Json, string Html) Run(TcpBulkConfig c)
    {
        var path = Path.Combine(Path.GetTempPath(), $"xmit-simtcp-{Environment.ProcessId}-{Guid.NewGuid():N}.html");
        try
        {
            var json = new StringWriter();
            Assert.Equal(0, SimTcpCommand.Run(c, null, true, new FileInfo(path), json, TextWriter.Null));
            return (JsonDocument.Parse(json.ToString()).RootElement, File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Every number the page tags with data-key, by key.</summary>
    private static Dictionary<string, string> Keyed(string html) =>
        Regex.Matches(html, @"data-key=""([\w-]+)"">([^<]*)<").ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void The_page_shows_the_json_reports_numbers_and_its_books_add_up()
    {
        // Loss, so that retransmissions and drops by reason are on the page to be checked, not zeros.
        var (doc, html) = Run(new TcpBulkConfig { Duration = Duration.FromMilliseconds(600), LossRate = 0.01 });
        var k = Keyed(html);

        var g = doc.GetProperty("goodput");
        long received = g.GetProperty("bytesReceived").GetInt64();
        Assert.Equal(received, long.Parse(k["bytesReceived"], CultureInfo.InvariantCulture));
        // Goodput re-derived from the bytes and the interval, to the page's three decimals; utilisation from the page's own figures.
        double seconds = (g.GetProperty("intervalEndMs").GetDouble() - g.GetProperty("intervalStartMs").GetDouble()) / 1000;
        Assert.Equal(received * 8 / seconds / 1e6, D(k["goodputMbit"]), 0.0006);
        Assert.Equal(g.GetProperty("capacityBitsPerSecond").GetDouble() / 1e6, D(k["capacityMbit"]), 0.0006);
        Assert.Equal(D(k["goodputMbit"]) / D(k["capacityMbit"]) * 100, D(k["utilisationPct"]), 0.06);
        Assert.Equal(doc.GetProperty("firstEagain").GetProperty("atMs").GetDouble(), D(k["firstEagainMs"]), 0.0006);
        Assert.Contains(WebUtility.HtmlEncode(doc.GetProperty("firstEagain").GetProperty("text").GetString()!), html, StringComparison.Ordinal);

        var w = doc.GetProperty("writes");
        foreach (var (key, json) in new[] { ("writeSize", "writeSize"), ("writeCalls", "calls"), ("bytesWritten", "bytesWritten"), ("eagain", "eagain"), ("wakeups", "writeSpaceWakeups") })
            Assert.True(w.GetProperty(json).GetInt64() == long.Parse(k[key], CultureInfo.InvariantCulture), key);
        var end = doc.GetProperty("atEnd");
        foreach (var key in new[] { "notSent", "inFlight", "wmemAlloc", "qdiscBacklog", "receiverQueue", "wmemQueued" })
            Assert.True(end.GetProperty(key).GetInt64() == long.Parse(k[key], CultureInfo.InvariantCulture), key);
        var x = doc.GetProperty("retransmissions");
        foreach (var key in new[] { "retransSegs", "fastRetrans", "timeouts", "lossProbes" })
            Assert.True(x.GetProperty(key).GetInt64() == long.Parse(k[key], CultureInfo.InvariantCulture), key);
        Assert.True(x.GetProperty("retransSegs").GetInt64() > 0, "1 % loss and no retransmission?");

        // The books: each layer's row on the page is the JSON's, in = passed on + dropped + still queued, and the drops by reason sum to the row's.
        var ledger = doc.GetProperty("ledger").EnumerateArray().ToList();
        Assert.NotEmpty(ledger);
        long droppedSomewhere = 0;
        foreach (var l in ledger)
        {
            string layer = l.GetProperty("layer").GetString()!;
            var row = Regex.Match(html, $@"<tr><th>{Regex.Escape(WebUtility.HtmlEncode(layer))}</th><td>(\w+)</td><td class=""n"">(\d+)</td><td class=""n"">(\d+)</td><td class=""n"">(\d+)</td><td class=""n"">(\d+)</td><td>([^<]*)</td></tr>");
            Assert.True(row.Success, $"no row for {layer}");
            long[] n = [.. Enumerable.Range(2, 4).Select(i => long.Parse(row.Groups[i].Value, CultureInfo.InvariantCulture))];
            Assert.Equal([l.GetProperty("in").GetInt64(), l.GetProperty("out").GetInt64(), l.GetProperty("dropped").GetInt64(), l.GetProperty("queued").GetInt64()], n);
            Assert.Equal(n[0], n[1] + n[2] + n[3]);
            Assert.Equal("balance", row.Groups[6].Value);
            if (n[2] == 0) continue;
            droppedSomewhere += n[2];
            var drops = Regex.Match(html, $@"<h3>{Regex.Escape(WebUtility.HtmlEncode(layer))}: drops by reason</h3><table class=""drops"">(.*?)</table>");
            Assert.True(drops.Success, $"no drops table for {layer}");
            long sum = Regex.Matches(drops.Groups[1].Value, @"<td class=""n"">(\d+)</td>").Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            Assert.Equal(n[2], sum);
        }
        Assert.True(droppedSomewhere > 0, "1 % loss and no drop in the books?");

        // Ten plots, five for the first stretch at 1 ms and five for the whole run; nothing fetched, nothing run.
        Assert.Equal(10, Regex.Count(html, "<svg"));
        Assert.DoesNotMatch(@"(src|href)\s*=\s*""?https?:", html);
        Assert.DoesNotContain("<script", html);
    }

    [Fact]
    public void The_fine_series_is_every_millisecond_and_its_numbers_are_what_the_plots_need()
    {
        var (doc, _) = Run(new TcpBulkConfig { Duration = Duration.FromMilliseconds(400) });
        var detail = doc.GetProperty("detailSamples").EnumerateArray().ToList();
        Assert.Equal(401, detail.Count); // 0 ms to 400 ms inclusive: the run is shorter than the series' second
        for (int i = 1; i < detail.Count; i++)
            Assert.Equal(1.0, detail[i].GetProperty("atMs").GetDouble() - detail[i - 1].GetProperty("atMs").GetDouble(), 6);
        foreach (var s in detail.Concat(doc.GetProperty("samples").EnumerateArray()))
        {
            long tsq = s.GetProperty("tsqLimit").GetInt64();
            Assert.InRange(tsq, 1, 4194304); // tcp_limit_output_bytes caps it: pfifo_fast does not pace
            Assert.True(s.GetProperty("packetsInFlight").GetInt64() <= s.GetProperty("cwnd").GetInt64(), "no loss: in flight within cwnd");
        }
        Assert.Contains(detail, s => s.GetProperty("wmemQueued").GetInt64() >= s.GetProperty("sndBuf").GetInt64() * 9 / 10); // the buffer fills in the first 400 ms
        // The marks on the send-buffer plot: every EAGAIN and wake-up the writes counted, in time order.
        var events = doc.GetProperty("events").EnumerateArray().ToList();
        var w = doc.GetProperty("writes");
        Assert.Equal(w.GetProperty("eagain").GetInt64(), events.Count(e => e.GetProperty("kind").GetString() == "EAGAIN"));
        Assert.Equal(w.GetProperty("writeSpaceWakeups").GetInt64(), events.Count(e => e.GetProperty("kind").GetString() == "EPOLLOUT"));
        Assert.True(events.Count > 2, $"{events.Count} events");
        for (int i = 1; i < events.Count; i++) Assert.True(events[i].GetProperty("atMs").GetDouble() >= events[i - 1].GetProperty("atMs").GetDouble());
        // About 150 bytes a point: the fine series keeps the JSON small.
        Assert.InRange(JsonSerializer.Serialize(doc.GetProperty("detailSamples")).Length / detail.Count, 80, 220);
    }
}
