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
