using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Hosting;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Simulation;

/// <summary>Both ends of a link made by <see cref="Simulation.Connect"/> or <see cref="Simulation.ConnectVeth"/>.</summary>
public sealed record SimulatedConnection(SimulatedLink Link, NetDevice DeviceA, INetDeviceDriver DriverA, NetDevice DeviceB, INetDeviceDriver DriverB)
{
    /// <summary>The ring driver of A (simulated NICs only).</summary>
    public RingDriver RingA => (RingDriver)DriverA;

    /// <summary>The ring driver of B (simulated NICs only).</summary>
    public RingDriver RingB => (RingDriver)DriverB;
}

/// <summary>
/// A network of hosts in deterministic virtual time: one scheduler, one skb pool, one seed. The same seed
/// and the same calls give the same events and the same bytes.
/// </summary>
public sealed class Simulation : IDisposable
{
    private readonly List<Host> _hosts = [];
    private readonly List<SimulatedConnection> _links = [];
    private readonly List<PcapWriter> _captures = [];

    /// <param name="seed">The one seed every random choice of the network is forked from.</param>
    /// <param name="trackAllocations">Whether the pool records where each skb was rented (leak reports).</param>
    /// <param name="scheduler">The virtual clock to run on (a derived one, for a driver that needs hooks); a new one by default.</param>
    public Simulation(ulong seed, bool trackAllocations = false, VirtualScheduler? scheduler = null)
    {
        Seed = seed;
        Scheduler = scheduler ?? new VirtualScheduler();
        Random = new DeterministicRandom(seed);
        Pool = new SkBuffPool(trackAllocations);
    }

    public ulong Seed { get; }
    public DeterministicRandom Random { get; }
    public VirtualScheduler Scheduler { get; }
    public SkBuffPool Pool { get; }
    public IReadOnlyList<Host> Hosts => _hosts;
    public IReadOnlyList<SimulatedConnection> Links => _links;
    public Instant Now => Scheduler.Now;

    /// <param name="name">the host's name.</param>
    /// <param name="pool">
    /// the host's own skb pool instead of the simulation's shared one: its kfree_skb counts by reason are then this
    /// host's alone (a link copies each frame into the receiver's pool, so no skb crosses from one pool to another).
    /// </param>
    public Host AddHost(string name, SkBuffPool? pool = null)
    {
        var host = new Host(name, _hosts.Count + 1, Scheduler, pool ?? Pool, Random.Fork((ulong)_hosts.Count + 100));
        _hosts.Add(host);
        return host;
    }

    /// <summary>
    /// Joins <paramref name="a"/> and <paramref name="b"/> with a new device on each (named <c>eth0</c>, <c>eth1</c>, …),
    /// a ring driver per device and a simulated link; addresses them in <paramref name="addressA"/>/<paramref name="prefix"/>.
    /// With <paramref name="txQueues"/> above 1 each device has that many TX queues, each with its own ring and BQL, and
    /// mq as the root qdisc.
    /// </summary>
    public SimulatedConnection Connect(Host a, Ipv4Address addressA, Host b, Ipv4Address addressB, int prefix,
        LinkConfig? link = null, RingDriverConfig? ring = null, int mtu = 1500, int txQueues = 1)
    {
        var config = ring ?? new RingDriverConfig();
        return Join(a, addressA, b, addressB, prefix, link ?? new LinkConfig(), mtu, txQueues, "eth", (dev, port) => new RingDriver(dev, port, config));
    }

    /// <summary>
    /// A veth pair between <paramref name="a"/> and <paramref name="b"/>: no rate, no delay, the skb freed as soon
    /// as it is transmitted, and noqueue as the default qdisc (as for veth). Shape it with a qdisc, like
    /// linux-truth's measurements did with tbf. <paramref name="faults"/> puts faults on it anyway (to test what a
    /// receiver does with a damaged forwarded skb).
    /// </summary>
    public SimulatedConnection ConnectVeth(Host a, Ipv4Address addressA, Host b, Ipv4Address addressB, int prefix, int mtu = 1500,
        LinkFaults? faults = null, int txQueues = 1) =>
        Join(a, addressA, b, addressB, prefix, faults is null ? LinkConfig.Veth : LinkConfig.Veth with { Faults = faults }, mtu, txQueues, "veth", (dev, port) =>
        {
            dev.SetRootQdisc(new Link.Qdiscs.NoQueueQdisc());
            // veth's features: TSO (the skb crosses whole) and checksum offload (the forwarded skb's checksum is never computed)
            return new ImmediateDriver(dev, port) { Features = DeviceFeatures.ScatterGather | DeviceFeatures.Tso | DeviceFeatures.HwChecksum };
        });

    /// <summary>A device on each host, a wire between them, a driver on each device, and the addresses.</summary>
    private SimulatedConnection Join(Host a, Ipv4Address addressA, Host b, Ipv4Address addressB, int prefix, LinkConfig link, int mtu,
        int txQueues, string deviceName, Func<NetDevice, IWirePort, INetDeviceDriver> driver)
    {
        var wire = new SimulatedLink(Scheduler, link, Random.Fork((ulong)_links.Count + 1000));
        // Named after the host's Ethernet devices so far (lo does not count): eth0, eth1, …
        var devA = a.AddDevice($"{deviceName}{EthernetDevices(a)}", mtu, txQueues);
        var devB = b.AddDevice($"{deviceName}{EthernetDevices(b)}", mtu, txQueues);
        wire.Connect(devA, devB);
        var c = new SimulatedConnection(wire, devA, driver(devA, wire.A), devB, driver(devB, wire.B));
        a.AddAddress(devA, addressA, prefix);
        b.AddAddress(devB, addressB, prefix);
        _links.Add(c);
        return c;
    }

    private static int EthernetDevices(Host h)
    {
        int n = 0;
        foreach (var d in h.Devices) if (!d.IsLoopback) n++;
        return n;
    }

    /// <summary>Captures every frame crossing <paramref name="device"/> (both directions) into a pcap file.</summary>
    public PcapWriter Capture(NetDevice device, Stream stream)
    {
        var writer = new PcapWriter(stream);
        device.AddTap(new PcapTap(writer, Scheduler));
        _captures.Add(writer);
        return writer;
    }

    public void RunFor(Duration d) => Scheduler.RunFor(d);
    public void RunUntil(Instant t) => Scheduler.RunUntil(t);

    /// <summary>Runs until nothing is scheduled before <paramref name="limit"/> (timers such as ARP aging may remain armed later).</summary>
    public void RunUntilIdle(Instant limit) => Scheduler.RunUntilIdle(limit);

    /// <summary>Frees what hosts and wires still hold, so the pool can be checked for leaks.</summary>
    public void Shutdown()
    {
        foreach (var h in _hosts) h.Shutdown();
        foreach (var l in _links)
        {
            (l.DriverA as RingDriver)?.Stop();
            (l.DriverB as RingDriver)?.Stop();
            l.Link.A.Drain();
            l.Link.B.Drain();
        }
        foreach (var c in _captures) c.Flush();
    }

    public void Dispose()
    {
        foreach (var c in _captures) c.Dispose();
        _captures.Clear();
    }
}
