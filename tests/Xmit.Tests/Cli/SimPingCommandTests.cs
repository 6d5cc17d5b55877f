using System.Diagnostics;
using Xmit.Cli.Commands;
using Xmit.Time;

namespace Xmit.Tests.Cli;

public class SimPingCommandTests
{
    [Fact]
    public void Prints_each_rtt_and_the_expected_value()
    {
        var o = new StringWriter();
        int rc = SimPingCommand.Run(1, null, 4, 56, Duration.FromSeconds(1), 100_000_000, Duration.FromMicroseconds(50), 0, 1500, o);
        var text = o.ToString();
        Assert.Equal(0, rc);
        Assert.Contains("icmp_seq=1 ttl=64 time=232.96 us  (includes ARP resolution)", text);
        for (int seq = 2; seq <= 4; seq++) Assert.Contains($"icmp_seq={seq} ttl=64 time=119.52 us", text);
        Assert.Contains("4 packets transmitted, 4 received, 0% packet loss", text);
        Assert.Contains("expected RTT once ARP is resolved: 119.52 us", text);
    }

    [Fact]
    public void Html_writes_the_statistics_the_plot_and_the_report_to_one_page()
    {
        var path = Path.Combine(Path.GetTempPath(), $"xmit-ping-{Environment.ProcessId}-{Guid.NewGuid():N}.html");
        try
        {
            var o = new StringWriter();
            int rc = SimPingCommand.Run(1, null, 4, 56, Duration.FromSeconds(1), 100_000_000, Duration.FromMicroseconds(50), 0, 1500, o, html: new FileInfo(path));
            Assert.Equal(0, rc);
            Assert.Contains("icmp_seq=4 ttl=64 time=119.52 us", o.ToString()); // the text still goes to the terminal
            Assert.Contains($"html: {path}", o.ToString());
            var page = File.ReadAllText(path);
            Assert.StartsWith("<!doctype html>", page);
            Assert.Contains("<svg", page);
            Assert.Contains("<td class=\"n\">4</td><td class=\"n\">4</td><td class=\"n\">0 %</td>", page);
            Assert.Contains("icmp_seq=2 ttl=64 time=119.52 us", page); // the report as it printed
            Assert.Contains("expected RTT once ARP is resolved: 119.52 us", page);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Fragmented_ping_explains_its_fragments()
    {
        var o = new StringWriter();
        SimPingCommand.Run(1, null, 3, 4000, Duration.FromSeconds(1), 100_000_000, Duration.FromMicroseconds(50), 0, 1500, o);
        var text = o.ToString();
        Assert.Contains("3 fragments each way", text);
        var expected = SimPingCommand.ExpectedRtt(new Xmit.Simulation.LinkConfig(), 4000, 1500, out _);
        Assert.Contains($"icmp_seq=3 ttl=64 time={expected.TotalMicroseconds:0.###} us", text);
    }

    [Theory]
    [InlineData("--rate fast", "--rate must be a rate from 1bit to 10tbit")]
    [InlineData("--delay 5 parsecs", "unexpected argument 'parsecs'")]
    [InlineData("--count 0", "--count must be between")]
    [InlineData("--loss 2", "--loss must be between 0 and 1")]
    [InlineData("--count abc", "--count must be between 1 and 1000000, not abc")]
    [InlineData("--mtu 20", "--mtu must be between")]
    public void Bad_options_fail_with_a_clear_message(string args, string message)
    {
        var (code, output, err) = CliErrorTests.Run("sim ping " + args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, err);
    }

    [Fact]
    public void Same_seed_same_pcap_through_the_cli()
    {
        var p1 = Path.GetTempFileName();
        var p2 = Path.GetTempFileName();
        try
        {
            Assert.Equal(0, Xmit($"sim ping -c 3 -s 3000 --loss 0.1 --seed 9 --pcap {p1}").Code is 0 or 1 ? 0 : 1);
            Assert.Equal(0, Xmit($"sim ping -c 3 -s 3000 --loss 0.1 --seed 9 --pcap {p2}").Code is 0 or 1 ? 0 : 1);
            Assert.Equal(File.ReadAllBytes(p1), File.ReadAllBytes(p2));
            Assert.True(new FileInfo(p1).Length > 1000);
        }
        finally
        {
            File.Delete(p1);
            File.Delete(p2);
        }
    }

    [Fact]
    public void Help_lists_the_commands()
    {
        var (code, output, _) = Xmit("sim ping --help");
        Assert.Equal(0, code);
        Assert.Contains("--seed", output);
        Assert.Contains("--pcap", output);
        Assert.Contains("--rate", output);
    }

    internal static (int Code, string Out, string Err) Xmit(string args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "xmit.dll"));
        foreach (var a in args.Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000));
        return (p.ExitCode, o.Result, e.Result);
    }
}

public class SimPingJsonTests
{
    [Fact]
    public void Json_has_every_reply_and_statistics_that_agree_with_them()
    {
        var (code, o, err) = SimPingCommandTests.Xmit("sim ping -c 3 --json");
        Assert.True(code == 0, err);
        var doc = System.Text.Json.JsonDocument.Parse(o).RootElement;
        var rtts = doc.GetProperty("replies").EnumerateArray().Select(r => r.GetProperty("rttUs").GetDouble()).ToList();
        Assert.Equal(3, rtts.Count);
        var st = doc.GetProperty("statistics");
        Assert.Equal(3, st.GetProperty("transmitted").GetInt32());
        Assert.Equal(3, st.GetProperty("received").GetInt32());
        Assert.Equal(rtts.Min() / 1000, st.GetProperty("minMs").GetDouble(), 9);
        Assert.Equal(rtts.Average() / 1000, st.GetProperty("avgMs").GetDouble(), 9);
        // Once ARP is resolved the RTT is the wire's: serialization and propagation, both ways.
        Assert.Equal(doc.GetProperty("expectedRttUs").GetDouble(), rtts[1], 6);
    }
}
