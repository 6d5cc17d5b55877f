using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Scenarios;

/// <summary>
/// The hot path allocates nothing once warm: datagrams through the real sendto() (the fd façade →
/// udp_sendmsg → ip_append_data / sock_alloc_send_skb → ip_local_out) → qdisc → ring → wire → the peer's
/// receive path and recvfrom() → TX completion, counted with the runtime's allocation counter (not timed).
/// The BenchmarkDotNet memory diagnoser shows the same in bench/.
/// </summary>
public class AllocationTests
{
    [Fact]
    public void Steady_state_sendto_to_completion_allocates_nothing()
    {
        using var sim = new Simulation.Simulation(1);
        var a = sim.AddHost("A");
        var b = sim.AddHost("B");
        var addrA = new Ipv4Address(198, 18, 0, 1);
        var addrB = new Ipv4Address(198, 18, 0, 2);
        sim.Connect(a, addrA, b, addrB, 24, new LinkConfig { RateBitsPerSecond = 10_000_000_000 });
        var sa = new Syscalls(a);
        var sb = new Syscalls(b);
        int fd = sa.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0); // blocking, like most senders
        Assert.Equal(0, sa.Bind(fd, new SockAddrIn(addrA, 7000)));
        int sink = sb.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sb.Bind(sink, new SockAddrIn(addrB, 9)));
        var to = new SockAddrIn(addrB, 9);
        var payload = new byte[1000];
        var buffer = new byte[2048];
        int failed = 0;

        void Drain()
        {
            while (sb.RecvFrom(sink, buffer, MsgFlags.None, out _) > 0) { }
        }

        void Round(int n)
        {
            for (int i = 0; i < n; i++)
            {
                if (sa.SendTo(fd, payload, MsgFlags.None, to) != payload.Length) failed++;
                sim.RunFor(Duration.FromMicroseconds(2));
                Drain();
            }
            sim.RunFor(Duration.FromMilliseconds(1));
            Drain();
        }

        Round(20_000); // warm pools, heaps and JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        Round(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, failed);
        Assert.Equal(0, allocated);
        Assert.Equal(30_000, b.Mib.Udp.InDatagrams);
        Assert.Equal(30_000, a.Mib.Udp.OutDatagrams);
        Assert.Equal(0, ((UdpSocketFile)sa.File(fd)!).Sk.WmemAlloc);
        sa.CloseAll();
        sb.CloseAll();
        sim.Shutdown();
        Assert.Equal(0, sim.Pool.Outstanding);
    }
}
