using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xmit.Cli;
using Xmit.Cli.Commands;
using Xmit.Simulation;
using Xmit.Time;

namespace Xmit.Tests.Cli;

/// <summary>The wire faults on the command line of `xmit sim` and `xmit sim ping`, and in their reports.</summary>
public class SimFaultsCommandTests
{
    private const string Faulty = "--corrupt 0.05 --duplicate 0.05 --reorder 0.2 --seed 3 --duration 200ms";

    private static LinkFaults Parse(string args)
    {
        var options = new LinkFaultOptions();
        var cmd = new Command("sim");
        options.AddTo(cmd);
        var r = cmd.Parse(args);
        Assert.Empty(r.Errors);
        return options.Read(r);
    }

    [Fact]
    public void Options_become_the_link_faults()
    {
        var f = Parse("--reorder 0.25 --reorder-delay 2ms --duplicate 0.1 --corrupt 0.01 --jitter 50us --loss-burst 0.01,0.3,0.5");
        Assert.Equal(0.25, f.ReorderRate);
        Assert.Equal(Duration.FromMilliseconds(2), f.ReorderDelay);
        Assert.Equal(0.1, f.DuplicateRate);
        Assert.Equal(0.01, f.CorruptRate);
        Assert.Equal(Duration.FromMicroseconds(50), f.Jitter);
        Assert.Equal((0.01, 0.3, 0.5), f.Burst);
        Assert.Null(f.Validate());
    }

    [Fact]
    public void Defaults_are_no_faults_a_1ms_reorder_delay_and_a_bad_state_that_loses_everything()
    {
        var none = Parse("");
        Assert.False(none.Any);
        Assert.Equal(new LinkFaults(), none);
        Assert.Equal(Duration.FromMilliseconds(1), none.ReorderDelay);
        Assert.Equal((0.02, 0.4, 1.0), Parse("--loss-burst 0.02,0.4").Burst);
    }

    [Fact]
    public void The_config_is_validated_by_LinkFaults()
    {
        var c = new UdpFloodConfig { Faults = new LinkFaults { DuplicateRate = 1.5 } };
        Assert.Equal("duplicate probability must be between 0 and 1", c.Validate());
        Assert.Null(new UdpFloodConfig { Faults = new LinkFaults { CorruptRate = 1 } }.Validate());
    }

    [Theory]
    [InlineData("--reorder 1.5", "--reorder must be between 0 and 1, not 1.5")]
    [InlineData("--reorder abc", "--reorder must be between 0 and 1, not abc")]
    [InlineData("--reorder 30%", "--reorder must be between 0 and 1, not 30%")] // as --loss: a probability, not a percentage
    [InlineData("--duplicate -0.1", "--duplicate must be between 0 and 1, not -0.1")]
    [InlineData("--corrupt NaN", "--corrupt must be between 0 and 1, not NaN")]
    [InlineData("--reorder-delay 1parsec", "--reorder-delay must be a duration from 0 to 1000000s with a unit ns, us, ms, s, m or h (e.g. 50us, 5m), not '1parsec'")]
    [InlineData("--jitter -1ms", "--jitter must be a duration from 0 to 1000000s with a unit ns, us, ms, s, m or h (e.g. 50us, 5m), not '-1ms'")]
    [InlineData("--loss-burst 0.1", "--loss-burst must be P,R or P,R,BADLOSS, each between 0 and 1")]
    [InlineData("--loss-burst 0.1,2", "--loss-burst must be P,R or P,R,BADLOSS, each between 0 and 1")]
    [InlineData("--loss-burst 0.1,0.2,x", "--loss-burst must be P,R or P,R,BADLOSS, each between 0 and 1")]
    [InlineData("--loss-burst 0.1,0.2,0.3,0.4", "not 0.1,0.2,0.3,0.4")]
    public void Bad_fault_values_are_one_line_naming_the_option_and_its_range(string args, string message)
    {
        foreach (var command in new[] { "sim", "sim ping" })
        {
            var (code, output, err) = CliErrorTests.Run($"{command} {args}");
            Assert.Equal(2, code);
            Assert.Equal("", output);
            var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Single(lines);
            Assert.Contains(message, lines[0]);
        }
    }

    [Fact]
    public void Help_describes_the_fault_options()
    {
        foreach (var command in new[] { "sim", "sim ping" })
        {
            var (code, output, _) = SimPingCommandTests.Xmit(command + " --help");
            Assert.Equal(0, code);
            foreach (var o in new[] { "--reorder <", "--reorder-delay <", "--duplicate <", "--corrupt <", "--jitter <", "--loss-burst <P,R[,BADLOSS]>" })
                Assert.Contains(o, output);
        }
    }

    [Fact]
    public void Json_counts_the_faults_per_direction_and_the_receiver_drops_every_corrupted_frame_on_a_checksum()
    {
        var (code, json, err) = SimPingCommandTests.Xmit("sim --json " + Faulty);
        Assert.True(code == 0, err);
        var doc = JsonDocument.Parse(json).RootElement;
        var link = doc.GetProperty("link");
        Assert.Equal(0.2, link.GetProperty("faults").GetProperty("reorderRate").GetDouble());
        Assert.Equal(1, link.GetProperty("faults").GetProperty("reorderDelayMs").GetDouble());
        var ab = link.GetProperty("directions")[0];
        Assert.Equal("a->b", ab.GetProperty("name").GetString());
        Assert.Equal("b->a", link.GetProperty("directions")[1].GetProperty("name").GetString());
        long frames = ab.GetProperty("frames").GetInt64();
        long reordered = ab.GetProperty("reordered").GetInt64();
        long duplicated = ab.GetProperty("duplicated").GetInt64();
        long corrupted = ab.GetProperty("corrupted").GetInt64();
        Assert.Equal(link.GetProperty("frames").GetInt64(), frames);
        Assert.InRange(reordered, frames / 10, frames * 3 / 10);
        Assert.InRange(duplicated, 1, frames / 10);
        Assert.InRange(corrupted, 1, frames / 10);

        // A flipped bit is caught at B: in the IP header (InHdrErrors, with InCsumErrors when the checksum did it)
        // or in the UDP header and payload (Udp InErrors, all of them here checksum errors); nothing corrupted gets through.
        var rx = doc.GetProperty("receiverCounters");
        long C(string k) => rx.TryGetProperty(k, out var v) ? v.GetInt64() : 0;
        Assert.True(C("Udp:InCsumErrors") > 0);
        Assert.True(C("Ip:InHdrErrors") > 0);
        Assert.Equal(corrupted, C("Ip:InHdrErrors") + C("Udp:InErrors"));
        var socket = doc.GetProperty("socket");
        Assert.Equal(socket.GetProperty("datagramsSent").GetInt64() + duplicated - corrupted, socket.GetProperty("datagramsDelivered").GetInt64());
        Assert.Equal(0, doc.GetProperty("leakedSkbs").GetInt32());
        Assert.Equal(0, doc.GetProperty("finalWmemAlloc").GetInt64());
    }

    [Fact]
    public void Same_seed_same_json_apart_from_the_wall_clock()
    {
        static string Run()
        {
            var (code, json, err) = SimPingCommandTests.Xmit("sim --json --jitter 30us --loss-burst 0.01,0.3 " + Faulty);
            Assert.True(code == 0, err);
            var node = JsonNode.Parse(json)!.AsObject();
            Assert.True(node.Remove("wallSeconds"));
            return node.ToJsonString();
        }
        var first = Run();
        Assert.Equal(first, Run());
        Assert.Contains("\"burstP\":0.01", first);
    }

    [Fact]
    public void Text_and_html_show_the_same_fault_counters_as_the_json()
    {
        var config = new UdpFloodConfig
        {
            Duration = Duration.FromMilliseconds(100), Seed = 3,
            Faults = new LinkFaults { CorruptRate = 0.05, DuplicateRate = 0.05, ReorderRate = 0.2 },
        };
        var html = Path.Combine(Path.GetTempPath(), $"xmit-sim-faults-{Environment.ProcessId}.html");
        try
        {
            var text = new StringWriter();
            var json = new StringWriter();
            Assert.Equal(0, SimFloodCommand.Run(config, null, false, new FileInfo(html), text, TextWriter.Null));
            Assert.Equal(0, SimFloodCommand.Run(config, null, true, null, json, TextWriter.Null));
            var ab = JsonDocument.Parse(json.ToString()).RootElement.GetProperty("link").GetProperty("directions")[0];
            long Get(string name) => ab.GetProperty(name).GetInt64();
            var t = text.ToString();
            Assert.Contains("  faults: reorder 0.2 (held 1 ms), duplicate 0.05, corrupt 0.05", t);
            Assert.Contains($"  a->b: {Get("frames")} frames, {Get("lost")} lost, {Get("reordered")} reordered, {Get("duplicated")} duplicated, {Get("corrupted")} corrupted", t);
            Assert.Matches(@"  b->a: \d+ frames, 0 lost", t);
            var m = Regex.Match(t, $@"B's header and checksum checks dropped the {Get("corrupted")} corrupted frames: Ip:InHdrErrors (\d+), Ip:InCsumErrors \d+, Udp:InCsumErrors (\d+), Udp:InErrors (\d+)");
            Assert.True(m.Success, t);
            Assert.Equal(Get("corrupted"), long.Parse(m.Groups[1].Value) + long.Parse(m.Groups[3].Value));
            Assert.Matches(@"B: .*Udp:InCsumErrors [1-9]", t); // and in the counters the report always prints
            var page = File.ReadAllText(html);
            Assert.Contains($"wire a-&gt;b: frames / lost / reordered / duplicated / corrupted</th><td>{Get("frames")} / {Get("lost")} / {Get("reordered")} / {Get("duplicated")} / {Get("corrupted")}<", page);
            Assert.Contains("checksum drops at B", page);
        }
        finally
        {
            File.Delete(html);
        }
    }

    [Fact]
    public void Clean_link_reports_zero_faults()
    {
        var text = new StringWriter();
        Assert.Equal(0, SimFloodCommand.Run(new UdpFloodConfig { Duration = Duration.FromMilliseconds(20) }, null, false, null, text, TextWriter.Null));
        Assert.DoesNotContain("faults:", text.ToString());
        Assert.Matches(@"a->b: \d+ frames, 0 lost, 0 reordered, 0 duplicated, 0 corrupted", text.ToString());
    }

    [Fact]
    public void Ping_counts_the_faults_and_the_checksum_drops_of_both_hosts()
    {
        var o = new StringWriter();
        var faults = new LinkFaults { CorruptRate = 0.2, DuplicateRate = 0.2, ReorderRate = 0.3 };
        int rc = SimPingCommand.Run(3, null, 40, 56, Duration.FromMilliseconds(10), 100_000_000, Duration.FromMicroseconds(50), 0, 1500, o, faults);
        var text = o.ToString();
        Assert.True(rc is 0 or 1, text);
        Assert.Contains("reorder 0.3 (held 1 ms), duplicate 0.2, corrupt 0.2, MTU 1500", text);
        var m = Regex.Match(text, @"faults A->B (\d+) reordered, (\d+) duplicated, (\d+) corrupted");
        Assert.True(m.Success, text);
        Assert.True(long.Parse(m.Groups[3].Value) > 0, text);
        Assert.Matches(@"faults B->A \d+ reordered, \d+ duplicated, \d+ corrupted", text);
        var drops = Regex.Match(text, @"checksum drops at B: Ip InHdrErrors (\d+) \(InCsumErrors \d+\), Icmp InCsumErrors (\d+)");
        Assert.True(drops.Success, text);
        Assert.True(long.Parse(drops.Groups[1].Value) + long.Parse(drops.Groups[2].Value) > 0, text);
        Assert.Contains("checksum drops at A:", text);
    }
}
