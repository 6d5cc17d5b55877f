using Xmit.Cli;

namespace Xmit.Tests.Cli;

public class DurationTextTests
{
    [Theory]
    [InlineData("100ns", 100L)]
    [InlineData("50us", 50_000L)]
    [InlineData("1.5ms", 1_500_000L)]
    [InlineData("2", 2_000_000_000L)]
    [InlineData("5m", 300_000_000_000L)]
    [InlineData("1.5h", 5_400_000_000_000L)]
    public void Durations_parse_with_every_unit(string text, long nanoseconds)
    {
        Assert.True(DurationText.TryParse(text, out var d, out var error), error);
        Assert.Equal(nanoseconds, d.Nanoseconds);
    }

    [Fact]
    public void A_run_of_minutes_is_accepted_by_the_cli_and_an_unknown_unit_is_not()
    {
        var (code, _, err) = SimPingCommandTests.Xmit("sim ping -c 2 --interval 1m");
        Assert.True(code == 0, err);
        (code, _, err) = SimPingCommandTests.Xmit("sim --duration 1d");
        Assert.Equal(2, code);
        Assert.Contains("ns, us, ms, s, m or h", err);
    }
}
