using Xmit.Cli;
using Xmit.Time;

namespace Xmit.Tests.Scenarios;

/// <summary>
/// `xmit sim`'s flood pauses a system call's cost after every send without allocating (one reused awaitable): what
/// is left per datagram is its latency sample, so a long run's allocations stay a few bytes per datagram.
/// </summary>
public class UdpFloodAllocationTests
{
    [Fact]
    public void A_flood_allocates_little_more_than_its_latency_samples_per_datagram()
    {
        var config = new UdpFloodConfig { Duration = Duration.FromSeconds(2), RateBitsPerSecond = 1_000_000_000 };
        new UdpFlood(config with { Duration = Duration.FromMilliseconds(50) }).Run(); // warm: first-call costs are not the flood's
        long before = GC.GetAllocatedBytesForCurrentThread();
        var r = new UdpFlood(config).Run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(r.Socket.DatagramsSent > 100_000, $"{r.Socket.DatagramsSent} datagrams");
        // A latency sample is 8 bytes, and the list that holds them doubles as it grows (under 16 more per sample in all).
        double perDatagram = (double)allocated / r.Socket.DatagramsSent;
        Assert.True(perDatagram < 40, $"{perDatagram:0.0} bytes allocated per datagram");
    }
}
