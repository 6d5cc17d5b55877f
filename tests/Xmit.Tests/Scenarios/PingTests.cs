using Xmit.Applications;
using Xmit.Link.Drivers;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Scenarios;

public class PingTests
{
    [Theory]
    [InlineData(100_000_000L, 50_000L, 56)]
    [InlineData(1_000_000_000L, 1_000L, 56)]
    [InlineData(10_000_000L, 2_000_000L, 1000)]
    [InlineData(100_000_000L, 50_000L, 0)]
    public void Rtt_is_twice_serialization_plus_propagation_once_arp_is_resolved(long rate, long propagationNs, int size)
    {
        var link = new LinkConfig { RateBitsPerSecond = rate, Propagation = Duration.FromNanoseconds(propagationNs) };
        // Completion coalescing must not matter to the RTT: the echo leaves as soon as it is posted.
        using var net = new TwoHosts(link, new RingDriverConfig());
        var ping = new PingSession(net.A, TwoHosts.AddrB, 5, Duration.FromSeconds(1), size);
        ping.Start();
        net.RunFor(Duration.FromSeconds(6));
        Assert.Equal(5, ping.Replies.Count);
        int frame = Math.Max(14 + 20 + 8 + size, 60);
        long bits = (frame + 24) * 8L;
        var expected = (Duration.ForBits(bits, rate) + Duration.FromNanoseconds(propagationNs)) * 2;
        foreach (var r in ping.Replies.Skip(1)) Assert.Equal(expected, r.Rtt);
        // The first waited for ARP: one request and one reply (42-byte frames padded to 60) on top. If the reply
        // comes back before the ARP request's TX completion (coalesced, 8 us), BQL — whose limit starts at 0, as
        // in Linux — still holds the queue, and the echo waits for that completion too.
        var arpSerialization = Duration.ForBits((60 + 24) * 8L, rate);
        var arp = (arpSerialization + Duration.FromNanoseconds(propagationNs)) * 2;
        var completion = arpSerialization + new RingDriverConfig().CoalesceDelay;
        if (arp >= completion) Assert.Equal(expected + arp, ping.Replies[0].Rtt);
        else Assert.Equal(completion + expected, ping.Replies[0].Rtt);
    }

    [Fact]
    public void Lost_requests_are_not_answered_and_the_run_still_ends_clean()
    {
        using var net = new TwoHosts(new LinkConfig { LossRate = 0.3 }, seed: 11);
        var ping = new PingSession(net.A, TwoHosts.AddrB, 50, Duration.FromMilliseconds(10));
        ping.Start();
        net.RunFor(Duration.FromSeconds(2));
        Assert.InRange(ping.Replies.Count, 10, 45);
        Assert.True(net.Connection.Link.A.Lost + net.Connection.Link.B.Lost > 0);
    }
}
