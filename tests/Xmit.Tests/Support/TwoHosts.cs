using Xmit.Hosting;
using Xmit.Link.Drivers;
using Xmit.Simulation;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Support;

/// <summary>
/// Two hosts A (198.18.0.1) and B (198.18.0.2) on one simulated link, with an allocation-tracking pool.
/// Disposing shuts the network down and fails the test if any skb is still outstanding or any socket
/// still has memory charged: every scenario proves it leaks nothing.
/// </summary>
public sealed class TwoHosts : IDisposable
{
    public static readonly Ipv4Address AddrA = new(198, 18, 0, 1);
    public static readonly Ipv4Address AddrB = new(198, 18, 0, 2);

    // trackAllocations: record where each skb was rented (a stack trace per allocation: slow); the outstanding count is checked either way.
    // veth: a veth pair (Simulation.ConnectVeth: noqueue, no ring, TSO, the skb forwarded whole) instead of a wire with a ring driver.
    // vethFaults: faults on the veth pair (only with veth). txQueues: TX queues of each device (mq root above 1).
    public TwoHosts(LinkConfig? link = null, RingDriverConfig? ring = null, int mtu = 1500, ulong seed = 1, bool trackAllocations = true, bool veth = false,
        LinkFaults? vethFaults = null, int txQueues = 1)
    {
        Sim = new Simulation.Simulation(seed, trackAllocations);
        A = Sim.AddHost("A");
        B = Sim.AddHost("B");
        Connection = veth ? Sim.ConnectVeth(A, AddrA, B, AddrB, 24, mtu, vethFaults, txQueues) : Sim.Connect(A, AddrA, B, AddrB, 24, link, ring, mtu, txQueues);
    }

    public Simulation.Simulation Sim { get; }
    public Host A { get; }
    public Host B { get; }
    public SimulatedConnection Connection { get; }
    public Xmit.Link.NetDevice DevA => Connection.DeviceA;
    public Xmit.Link.NetDevice DevB => Connection.DeviceB;

    public void RunFor(Duration d) => Sim.RunFor(d);
    public void RunForMs(long ms) => Sim.RunFor(Duration.FromMilliseconds(ms));

    /// <summary>Resolve ARP both ways so later sends measure only the data path.</summary>
    public void WarmUp()
    {
        A.Icmp.SendEchoRequest(AddrB, 1, 1, 8);
        RunForMs(10);
    }

    /// <summary>
    /// Shuts the network down, then fails if any socket still has memory charged or any skb is outstanding.
    /// The sockets are taken before the shutdown, which closes them and takes them off the hosts' lists.
    /// </summary>
    public void Dispose()
    {
        var sockets = Sim.Hosts.SelectMany(h => h.Udp.Sockets.Select(sk => (Host: h, Sk: (Xmit.Sockets.Sock)sk))
            .Concat(h.Tcp.Sockets.Select(sk => (Host: h, Sk: (Xmit.Sockets.Sock)sk)))).ToList();
        Sim.Shutdown();
        foreach (var (h, sk) in sockets)
            Assert.True(sk.WmemAlloc == 0, $"socket {sk} on {h} still has wmem {sk.WmemAlloc}");
        foreach (var (h, sk) in sockets)
            Assert.True(sk.OmemAlloc == 0, $"socket {sk} on {h} still has omem {sk.OmemAlloc} (zerocopy notifications)");
        foreach (var h in Sim.Hosts) Assert.Empty(h.Tcp.Sockets); // Host.Shutdown frees every TCP socket
        Assert.True(Sim.Pool.Outstanding == 0, Sim.Pool.DescribeOutstanding());
        Assert.Equal(0, Sim.Pool.OutstandingBuffers);
        Assert.Equal(0, Sim.Pool.OutstandingPages);
        Sim.Dispose();
    }
}
