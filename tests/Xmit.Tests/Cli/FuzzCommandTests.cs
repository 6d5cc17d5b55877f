namespace Xmit.Tests.Cli;

/// <summary>`xmit fuzz rx|syscalls`: the summary line, exit 0 when nothing was found, and the one-line error style.</summary>
public class FuzzCommandTests
{
    [Theory]
    [InlineData("rx --frames 2000 --seed 5", "2,000 frames")]
    [InlineData("syscalls --calls 5000 --seed 5", "5,000 calls")]
    public void A_clean_run_prints_its_counts_and_exits_0(string args, string counted)
    {
        var (code, output, error) = CliErrorTests.Run("fuzz " + args);
        Assert.True(code == 0, output + error);
        Assert.Equal("", error);
        Assert.Contains(counted, output);
        Assert.Contains("exceptions 0, invariant violations 0, leaks 0; peak managed memory", output);
        Assert.DoesNotContain("details:", output);
    }

    [Theory]
    [InlineData("fuzz rx --frames 0", "--frames")]
    [InlineData("fuzz rx --frames many", "--frames")]
    [InlineData("fuzz rx --frames 99999999999999999999", "--frames")]
    [InlineData("fuzz rx --epoch 5", "--epoch")]
    [InlineData("fuzz rx --seed -1", "--seed")]
    [InlineData("fuzz rx --report /no/such/dir/r.txt", "--report")]
    [InlineData("fuzz rx --report /tmp", "--report")]
    [InlineData("fuzz syscalls --calls -3", "--calls")]
    [InlineData("fuzz syscalls --calls", "--calls")]
    [InlineData("fuzz syscalls --frames 10", "--frames")]
    [InlineData("fuzz", "command")]
    public void Bad_values_are_one_line_on_stderr_and_exit_2(string args, string option)
    {
        var (code, output, error) = CliErrorTests.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var lines = error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1, error);
        Assert.StartsWith("xmit fuzz", lines[0]);
        Assert.Contains(option, lines[0]);
    }

    [Theory]
    [InlineData("fuzz --help")]
    [InlineData("fuzz rx --help")]
    [InlineData("fuzz syscalls --help")]
    public void Help_goes_to_stdout(string args)
    {
        var (code, output, _) = CliErrorTests.Run(args);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
    }

    [Theory]
    [InlineData("rx -n 300 -e 100", "frames", 300)]
    [InlineData("syscalls -n 300 -e 100", "calls", 300)]
    public void Json_prints_the_summary_and_the_tally_as_one_document(string args, string unit, long count)
    {
        var (code, output, err) = SimPingCommandTests.Xmit($"fuzz {args} --json");
        Assert.True(code == 0, output + err);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(unit, root.GetProperty("unit").GetString());
        Assert.Equal(count, root.GetProperty("count").GetInt64());
        Assert.True(root.GetProperty("clean").GetBoolean());
        Assert.True(root.GetProperty("tally").EnumerateObject().Any(), "an empty tally");
    }
}
