using System.Text.Json;
using System.Text.RegularExpressions;
using Xmit.Cli.Commands;
using Xmit.Cli;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Cli;

public class SimFloodCommandTests
{
    [Fact]
    public void Text_and_json_give_the_same_figures()
    {
        var c = new UdpFloodConfig { Duration = Duration.FromMilliseconds(100) };
        var text = new StringWriter();
        var json = new StringWriter();
        Assert.Equal(0, SimFloodCommand.Run(c, null, false, null, text, TextWriter.Null));
        Assert.Equal(0, SimFloodCommand.Run(c, null, true, null, json, TextWriter.Null));
        var doc = JsonDocument.Parse(json.ToString()).RootElement;
        var socket = doc.GetProperty("socket");
        var m = Regex.Match(text.ToString(), @"datagrams sent (\d+), delivered to B (\d+), EAGAIN (\d+), EPOLLOUT wake-ups (\d+)");
        Assert.True(m.Success, text.ToString());
        Assert.Equal(socket.GetProperty("datagramsSent").GetInt64(), long.Parse(m.Groups[1].Value));
        Assert.Equal(socket.GetProperty("datagramsDelivered").GetInt64(), long.Parse(m.Groups[2].Value));
        Assert.Equal(socket.GetProperty("eagain").GetInt64(), long.Parse(m.Groups[3].Value));
        Assert.Equal(socket.GetProperty("epollOutWakeups").GetInt64(), long.Parse(m.Groups[4].Value));
        Assert.Contains(doc.GetProperty("firstEagain").GetProperty("text").GetString()!, text.ToString());
        Assert.Equal(0, doc.GetProperty("leakedSkbs").GetInt32());
    }

    [Fact]
    public void Html_page_is_self_contained_with_the_plots_and_marks()
    {
        var path = Path.Combine(Path.GetTempPath(), $"xmit-sim-{Environment.ProcessId}.html");
        try
        {
            Assert.Equal(0, SimFloodCommand.Run(new UdpFloodConfig { Duration = Duration.FromMilliseconds(50) }, null, false, new FileInfo(path), TextWriter.Null, TextWriter.Null));
            var html = File.ReadAllText(path);
            Assert.Contains("<svg", html);
            Assert.Contains("sndbuf/2", html);
            Assert.Contains("qdisc backlog", html);
            Assert.Contains("driver ring", html);
            Assert.Contains("link utilisation", html); // in the table: its plot was a flat 100 % line
            Assert.Contains("fill=\"#C0392B\"", html); // EAGAIN marks, drawn in the SVG
            Assert.Contains("fill=\"#27AE60\"", html); // EPOLLOUT marks
            Assert.Contains("sndbuf = ", html); // the limits, labelled with their exact value in the legend
            Assert.Contains("#c0392b", html); // EAGAIN marks
            Assert.Contains("#27ae60", html); // EPOLLOUT marks
            Assert.DoesNotMatch(@"(src|href)\s*=\s*""?https?:", html); // nothing fetched from the network
            Assert.DoesNotContain("<script", html);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Pcap_of_the_flood_reads_cleanly_in_tshark()
    {
        var pcap = Path.Combine(Path.GetTempPath(), $"xmit-sim-{Environment.ProcessId}.pcap");
        try
        {
            var (code, _, err) = SimPingCommandTests.Xmit($"sim --duration 20ms --payload 3000 --pcap {pcap}");
            Assert.True(code == 0, err);
            Tshark.AssertNone(pcap, "_ws.malformed || _ws.expert.severity >= 8388608 || ip.checksum.status == 0 || udp.checksum.status == 0");
            Assert.True(new FileInfo(pcap).Length > 100_000);
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [Theory]
    [InlineData("--qdisc fq_codel", "fq_codel")]
    [InlineData("--payload 10", "--payload must be between")]
    [InlineData("--duration -1s", "")]
    [InlineData("--qdisc tbf --burst lots", "--burst")]
    [InlineData("--cork 40 --payload 2000", "cork")]
    [InlineData("--payload abc", "--payload must be between 16 and 65507, not abc")]
    [InlineData("--loss abc", "--loss must be between 0 and 1, not abc")]
    public void Bad_values_fail_with_a_clear_message(string args, string message)
    {
        var (code, output, err) = CliErrorTests.Run("sim " + args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, err);
        Assert.DoesNotContain("Exception", err); // a message, never a stack trace
    }
}
