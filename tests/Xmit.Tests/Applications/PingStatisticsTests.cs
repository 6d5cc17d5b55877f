using Xmit.Applications;
using Xmit.Time;

namespace Xmit.Tests.Applications;

public class PingStatisticsTests
{
    [Fact]
    public void The_summary_is_iputils_with_the_mean_deviation()
    {
        var replies = new[] { 1, 2, 3, 4 }.Select(ms => new PingReply((ushort)ms, Duration.FromMilliseconds(ms), 64, 64)).ToList();
        // mdev = sqrt(mean(x²) - mean(x)²) = sqrt(7.5 - 6.25)
        Assert.Equal(["5 packets transmitted, 4 received, 20% packet loss", "rtt min/avg/max/mdev = 1.000/2.500/4.000/1.118 ms"],
            PingStatistics.Lines(5, replies));
        Assert.Equal(["2 packets transmitted, 0 received, 100% packet loss"], PingStatistics.Lines(2, []));
    }
}
