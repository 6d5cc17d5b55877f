using System.Text.Json;
using System.Text.RegularExpressions;
using Xmit.Cli;
using Xmit.Cli.Commands;
using Xmit.Time;

namespace Xmit.Tests.Cli;

/// <summary>`xmit sim`'s receive side: --rx-ring, --rx-usecs, --rx-frames, --rx-cost and the netdev_* sysctls, and B's counters in every report.</summary>
public class SimRxCommandTests
{
    [Fact]
    public void A_slow_receiver_shows_its_missed_frames_and_time_squeeze_in_text_json_and_html()
    {
        // 1514-byte frames every 123 µs at 100 Mbit/s against 200 µs of softirq work per packet at B.
        var c = new UdpFloodConfig { Duration = Duration.FromMilliseconds(100), RxCost = Duration.FromMicroseconds(200) };
        var text = new StringWriter();
        var json = new StringWriter();
        Assert.Equal(0, SimFloodCommand.Run(c, null, false, null, text, TextWriter.Null));
        Assert.Equal(0, SimFloodCommand.Run(c, null, true, null, json, TextWriter.Null));
        var rx = JsonDocument.Parse(json.ToString()).RootElement.GetProperty("receiver");
        long missed = rx.GetProperty("rxMissedErrors").GetInt64();
        long squeeze = rx.GetProperty("timeSqueeze").GetInt64();
        Assert.True(missed > 0, text.ToString());
        Assert.True(squeeze > 0, text.ToString());
        Assert.Equal(256, rx.GetProperty("rxRingSize").GetInt32());
        Assert.Equal(0, rx.GetProperty("rxDropped").GetInt64());

        var t = text.ToString();
        Assert.Contains($"missed {missed} (rx_missed_errors", t);
        Assert.Contains($"time_squeeze {squeeze} of ", t);
        Assert.Contains("ip -s link: B eth0", t);
        Assert.Matches(@"RX: +bytes +packets +errors +dropped +missed +mcast", t);
        Assert.Matches($@"\n +\d+ +\d+ +0 +0 +{missed} +0\r?\n", t); // B's ip -s link row
        // The books: the frames the ring missed are its drops, under the counter's name.
        var ring = Regex.Match(t, @"rx ring \(B\): (\d+) frames in = (\d+) passed on \+ (\d+) dropped \(rx_missed_errors (\d+)\)");
        Assert.True(ring.Success, t);
        Assert.Equal(missed, long.Parse(ring.Groups[4].Value));

        var html = HtmlReport.Render(new UdpFlood(c).Run());
        Assert.Contains("rx_missed_errors", html);
        Assert.Contains("time_squeeze", html);
    }

    [Fact]
    public void The_default_receiver_keeps_up_and_the_options_parse()
    {
        var (code, o, e) = CliErrorTests.Run("sim --duration 50ms --json");
        Assert.True(code == 0, e);
        var rx = JsonDocument.Parse(o).RootElement.GetProperty("receiver");
        Assert.Equal(0, rx.GetProperty("rxMissedErrors").GetInt64());
        Assert.Equal(0, rx.GetProperty("timeSqueeze").GetInt64());
        Assert.Equal(300, rx.GetProperty("netdevBudget").GetInt32());

        (code, o, e) = CliErrorTests.Run("sim --duration 50ms --json --rx-ring 64 --rx-usecs 20us --rx-frames 4 --rx-cost 150us --netdev-budget 100 --netdev-budget-usecs 500 --netdev-max-backlog 50");
        Assert.True(code == 0, e);
        rx = JsonDocument.Parse(o).RootElement.GetProperty("receiver");
        Assert.Equal(64, rx.GetProperty("rxRingSize").GetInt32());
        Assert.Equal(20, rx.GetProperty("rxUsecs").GetDouble());
        Assert.Equal(4, rx.GetProperty("rxFrames").GetInt32());
        Assert.Equal(150, rx.GetProperty("rxCostUs").GetDouble());
        Assert.Equal(100, rx.GetProperty("netdevBudget").GetInt32());
        Assert.Equal(500, rx.GetProperty("netdevBudgetUsecs").GetInt32());
        Assert.Equal(50, rx.GetProperty("netdevMaxBacklog").GetInt32());
        Assert.True(rx.GetProperty("rxMissedErrors").GetInt64() > 0);
    }

    [Fact]
    public void The_same_seed_gives_the_same_receive_side()
    {
        var c = new UdpFloodConfig { Duration = Duration.FromMilliseconds(150), RxCost = Duration.FromMicroseconds(180), RxUsecs = Duration.FromMicroseconds(30), RxFrames = 4 };
        var a = new UdpFlood(c).Run().Receiver;
        var b = new UdpFlood(c).Run().Receiver;
        Assert.Equal(a, b);
        Assert.True(a.RxMissedErrors > 0);
    }
}
