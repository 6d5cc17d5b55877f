namespace Xmit.Tests.Cli;

/// <summary>
/// `--help` of a command with many options lists them in groups (its own, Link, Device and driver, Qdisc, Wire faults,
/// Output), each option once; a command with few keeps System.CommandLine's own list.
/// </summary>
public class GroupedHelpTests
{
    [Theory]
    [InlineData("sim", new[] { "Options:", "Link:", "Device and driver:", "Qdisc:", "Wire faults:", "Output:", "Commands:" })]
    [InlineData("sim tcp", new[] { "Options:", "Link:", "Qdisc:", "Wire faults:", "Output:" })]
    public void A_long_option_list_is_grouped_and_every_option_is_listed_once(string command, string[] headings)
    {
        var (code, output, err) = SimPingCommandTests.Xmit(command + " --help");
        Assert.True(code == 0, err);
        int at = -1;
        foreach (var h in headings)
        {
            int next = output.IndexOf("\n" + h + "\n", StringComparison.Ordinal);
            Assert.True(next > at, $"'{h}' missing or out of order:\n{output}");
            at = next;
        }
        foreach (var option in new[] { "--rate <rate>", "--delay <delay>", "--reorder <reorder>", "--json", "--seed <seed>", "-?, -h, --help" })
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, "^  " + System.Text.RegularExpressions.Regex.Escape(option) + " ",
                System.Text.RegularExpressions.RegexOptions.Multiline));
        Assert.Contains("--rate <rate>            Link rate, tc syntax (default 100mbit) [default: 100000000]", output);
        Assert.True(output.Split('\n').Max(l => l.Length) < 400, "a line ran on");
    }

    [Fact]
    public void A_short_option_list_keeps_the_standard_help()
    {
        var (code, output, _) = SimPingCommandTests.Xmit("packetdrill --help");
        Assert.Equal(0, code);
        Assert.Contains("Options:", output);
        Assert.DoesNotContain("Link:", output);
        Assert.DoesNotContain("Output:", output);
    }
}
