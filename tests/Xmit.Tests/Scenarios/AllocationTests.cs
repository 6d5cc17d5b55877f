using Xmit.Simulation;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Scenarios;

/// <summary>
/// The hot path allocates nothing once warm: datagrams through ip_local_out → qdisc → ring → wire →
/// the peer's receive path → TX completion, counted with the runtime's allocation counter (not timed).
/// The BenchmarkDotNet memory diagnoser shows the same in bench/.
/// </summary>
public class AllocationTests
{
    [Fact]
    public void Steady_state_send_to_completion_allocates_nothing()
    {
        using var sim = new Simulation.Simulation(1);
        var a = sim.AddHost("A");
        var b = sim.AddHost("B");
        var addrA = new Ipv4Address(198, 18, 0, 1);
        var addrB = new Ipv4Address(198, 18, 0, 2);
        sim.Connect(a, addrA, b, addrB, 24, new LinkConfig { RateBitsPerSecond = 10_000_000_000 });
        var sk = a.Udp.Bind(addrA, 7000);
        var sink = b.Udp.Bind(addrB, 9);
        var payload = new byte[1000];
        var buffer = new byte[2048];

        void Round(int n)
        {
            for (int i = 0; i < n; i++)
            {
                a.Udp.SendDatagram(sk, addrA, 7000, addrB, 9, payload);
                sim.RunFor(Duration.FromMicroseconds(2));
                while (b.Udp.Receive(sink, buffer) is not null) { }
            }
            sim.RunFor(Duration.FromMilliseconds(1));
            while (b.Udp.Receive(sink, buffer) is not null) { }
        }

        Round(20_000); // warm pools, heaps and JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        Round(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(30_000, b.Mib.Udp.InDatagrams);
        Assert.Equal(0, sk.WmemAlloc);
        sim.Shutdown();
        Assert.Equal(0, sim.Pool.Outstanding);
    }
}
