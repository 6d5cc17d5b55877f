using System.Text.Json;

namespace Xmit.Tests.Cli;

public class PacketdrillCommandTests
{
    private static string Scripts()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "Xmit.slnx"))) dir = dir.Parent;
        return Path.Combine(dir.FullName, "tests", "scripts", "udp");
    }

    [Fact]
    public void Passing_scripts_exit_0_and_json_lists_each_verdict()
    {
        var (code, output, _) = SimPingCommandTests.Xmit($"packetdrill --json {Scripts()}/cork.pkt {Scripts()}/msg-more.pkt");
        Assert.Equal(0, code);
        var doc = JsonDocument.Parse(output).RootElement;
        Assert.Equal(2, doc.GetArrayLength());
        Assert.All(doc.EnumerateArray(), e => Assert.Equal("PASS", e.GetProperty("status").GetString()));
    }

    [Fact]
    public void Several_scripts_end_with_a_summary_line()
    {
        var (code, output, _) = SimPingCommandTests.Xmit($"packetdrill {Scripts()}/cork.pkt {Scripts()}/msg-more.pkt");
        Assert.Equal(0, code);
        Assert.Equal("2 pass, 0 fail, 0 unsupported", output.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public void The_ratchet_passes_when_every_listed_script_passes_and_names_the_ones_that_do_not()
    {
        var corpus = Directory.CreateTempSubdirectory("xmit-ratchet-");
        try
        {
            File.Copy(Path.Combine(Scripts(), "cork.pkt"), Path.Combine(corpus.FullName, "good.pkt"));
            File.WriteAllText(Path.Combine(corpus.FullName, "bad.pkt"),
                File.ReadAllText(Path.Combine(Scripts(), "cork.pkt")).Replace("[1032]", "[1033]", StringComparison.Ordinal));
            var list = Path.Combine(corpus.FullName, "must-pass.txt");
            File.WriteAllText(list, "# must pass\ngood.pkt\n");
            var (ok, okOut, _) = SimPingCommandTests.Xmit($"packetdrill --corpus {corpus.FullName} --ratchet {list}");
            Assert.Equal(0, ok);
            Assert.Contains("ratchet: all 1 listed scripts pass", okOut);
            File.AppendAllText(list, "bad.pkt\n");
            var (broken, brokenOut, _) = SimPingCommandTests.Xmit($"packetdrill --corpus {corpus.FullName} --ratchet {list}");
            Assert.Equal(1, broken);
            Assert.Contains("ratchet: bad.pkt did not pass", brokenOut);
        }
        finally
        {
            corpus.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_script_named_dash_is_read_from_standard_input()
    {
        var before = Xmit.Cli.Commands.PacketdrillCommand.StandardInput;
        Xmit.Cli.Commands.PacketdrillCommand.StandardInput = () => new StringReader(File.ReadAllText(Path.Combine(Scripts(), "cork.pkt")));
        try
        {
            var (code, output, _) = SimPingCommandTests.Xmit("packetdrill -");
            Assert.Equal(0, code);
            Assert.StartsWith("PASS -", output);
        }
        finally
        {
            Xmit.Cli.Commands.PacketdrillCommand.StandardInput = before;
        }
    }

    [Fact]
    public void A_failing_script_exits_1_and_explains_the_line()
    {
        var path = Path.Combine(Path.GetTempPath(), $"xmit-fail-{Environment.ProcessId}.pkt");
        File.WriteAllText(path, File.ReadAllText(Path.Combine(Scripts(), "cork.pkt")).Replace("[1032]", "[1033]", StringComparison.Ordinal));
        try
        {
            var (code, output, _) = SimPingCommandTests.Xmit($"packetdrill {path}");
            Assert.Equal(1, code);
            Assert.Contains("FAIL", output);
            Assert.Contains("expected: [1033]", output);
            Assert.Contains("actual:   [1032]", output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Missing_scripts_and_bad_options_exit_2()
    {
        foreach (var args in new[] { "packetdrill /no/such/script.pkt", "packetdrill", "packetdrill --corpus /no/such/dir" })
        {
            var (code, output, err) = CliErrorTests.Run(args);
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }
}
