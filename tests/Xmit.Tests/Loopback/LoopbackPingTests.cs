using Xmit.Applications;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Loopback;

/// <summary>A host pinging itself: the echo and its reply both cross lo.</summary>
public class LoopbackPingTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("198.18.0.1")]
    public void Ping_to_self_is_answered_through_lo_in_no_time(string destination)
    {
        using var net = new TwoHosts();
        var host = net.A;
        var ping = new PingSession(host, Ipv4Address.Parse(destination), 10, Duration.FromMilliseconds(10));
        ping.Start();
        net.RunForMs(200);
        Assert.Equal(10, ping.Replies.Count);
        Assert.Empty(ping.SendErrors);
        // No wire, no ring: the reply comes back at the same virtual instant.
        Assert.All(ping.Replies, r => Assert.Equal(Duration.Zero, r.Rtt));
        // 20 packets of 84 bytes (IP header, ICMP header, 56 bytes of data), counted once as rx and once as tx.
        Assert.Equal(20, host.Loopback.Stats.TxPackets);
        Assert.Equal(20 * 84, host.Loopback.Stats.TxBytes);
        Assert.Equal(20, host.Loopback.Stats.RxPackets);
        Assert.Equal(20 * 84, host.Loopback.Stats.RxBytes);
        Assert.Equal(0, net.DevA.Stats.TxPackets);
        Assert.Equal(10, host.Mib.Icmp.InEchos);
        Assert.Equal(10, host.Mib.Icmp.InEchoReps);
    }
}
