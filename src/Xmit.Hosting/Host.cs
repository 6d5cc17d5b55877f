using Xmit.Buffers;
using Xmit.Configuration;
using Xmit.Diagnostics;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Link.Qdiscs;
using Xmit.Neighbour;
using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Transport.Udp;
using Xmit.Wire;

namespace Xmit.Hosting;

/// <summary>
/// One host: its devices (lo first, as in every network namespace), addresses, routes, neighbour table, IPv4, ICMP,
/// UDP and TCP, its counters, and the NET_TX softirq and receive backlog of its (single) CPU. Time and randomness
/// come from outside; the host owns no thread.
/// </summary>
public sealed class Host : INetworkStack
{
    private readonly List<NetDevice> _devices = [];
    private readonly ulong _flowHashSeed;

    public Host(string name, int id, IScheduler scheduler, SkBuffPool pool, DeterministicRandom random)
    {
        Name = name;
        Id = id;
        Scheduler = scheduler;
        Pool = pool;
        Random = random;
        _flowHashSeed = random.Fork(5).NextUInt64(); // hashrnd: one per host, as one per kernel
        Softirq = new NetTxSoftirq(scheduler);
        Routes = new RouteTable(scheduler);
        Neighbours = new NeighbourTable(scheduler, random.Fork(1));
        Arp = new Arp(pool, scheduler, Neighbours, Addresses);
        Ident = new IpIdentGenerator(scheduler, random.Fork(2));
        Output = new Ipv4Output(pool, Mib, Routes, Addresses, Hooks, Ident, Neighbours, Arp);
        Reassembler = new Reassembler(pool, scheduler, Mib);
        Input = new Ipv4Input(Mib, Addresses, Hooks, Reassembler);
        Udp = new UdpProtocol(pool, Mib, Output, scheduler, random.Fork(3)) { Sysctls = Sysctls };
        Icmp = new Icmp(pool, scheduler, Mib, Output, Input.Protocol);
        Input.Icmp = Icmp;
        Udp.Icmp = Icmp;
        Input.Register(Icmp);
        Input.Register(Udp);
        Tracepoints = new HostTracepoints(this);
        Tcp = new TcpProtocol(pool, Mib, Output, scheduler, random.Fork(4), Sysctls) { Trace = Tracepoints, JiffiesClock = Jiffies };
        PoolDropTracepoint.Attach(this);
        Input.Register(Tcp);
        Reassembler.OnTimeout = head => Icmp.SendError(head, IcmpType.TimeExceeded, IcmpCode.FragmentReassemblyTimeExceeded);
        RxSoftirq = new NetRxSoftirq(scheduler, Sysctls);
        Backlog = new RxBacklog(RxSoftirq);
        Loopback = AddLoopback();
    }

    /// <summary>
    /// lo, as loopback_net_init() registers it in every namespace (ifindex 1, MTU 64 KiB, all-zero address, noqueue),
    /// brought up with 127.0.0.1/8 as the init scripts (or `ip link set lo up`) do.
    /// </summary>
    /// <remarks>Linux: drivers/net/loopback.c loopback_net_init(), loopback_setup(); net/sched/sch_generic.c (IFF_NO_QUEUE: noqueue)</remarks>
    private NetDevice AddLoopback()
    {
        var lo = new NetDevice("lo", _devices.Count + 1, MacAddress.Zero, NetDevice.MaxMtu, Scheduler, Softirq, Pool) { Receiver = EthernetReceive, IsLoopback = true, Trace = Tracepoints };
        _devices.Add(lo);
        lo.SetRootQdisc(new NoQueueQdisc());
        _ = new LoopbackDriver(lo, Backlog);
        AddAddress(lo, Ipv4Address.Loopback, 8);
        return lo;
    }

    public string Name { get; }
    public int Id { get; }

    /// <summary>The host's tracepoints, set on its devices and TCP: events of <see cref="XmitEventSource"/> when a session listens.</summary>
    internal HostTracepoints Tracepoints { get; }
    public IScheduler Scheduler { get; }
    public SkBuffPool Pool { get; }
    public DeterministicRandom Random { get; }
    public SnmpMib Mib { get; } = new();
    public Sysctls Sysctls { get; } = new();

    /// <summary>
    /// The host's jiffies, by which TCP's timer_list timers (RTO, loss probe, delayed ACK, zero-window probe, TIME-WAIT,
    /// SYN-ACK) are counted and fired: CONFIG_HZ=250 (4 ms ticks) with the tick phase at simulated time zero by default;
    /// <c>Jiffies.Hz = 0</c> makes those timers exact.
    /// </summary>
    public JiffiesClock Jiffies { get; } = new();
    public NetTxSoftirq Softirq { get; }

    /// <summary>The NET_RX softirq of the host's CPU: NAPI polls of its NICs' RX rings and of the backlog, netdev_budget per round.</summary>
    public NetRxSoftirq RxSoftirq { get; }
    public AddressTable Addresses { get; } = new();
    public RouteTable Routes { get; }
    public NetfilterHooks Hooks { get; } = new();
    public NeighbourTable Neighbours { get; }
    public Arp Arp { get; }
    public IpIdentGenerator Ident { get; }
    public Ipv4Output Output { get; }
    public Ipv4Input Input { get; }
    public Reassembler Reassembler { get; }
    public Icmp Icmp { get; }
    public UdpProtocol Udp { get; }
    public TcpProtocol Tcp { get; }
    public IReadOnlyList<NetDevice> Devices => _devices;

    /// <summary>lo: created with the host, up, 127.0.0.1/8; every packet to one of the host's own addresses leaves by it.</summary>
    public NetDevice Loopback { get; }

    /// <summary>The CPU's receive backlog netif_rx queues to (lo's packets go up the stack from here).</summary>
    public RxBacklog Backlog { get; }

    /// <summary>Frames received with an EtherType nobody handles (rx_nohandler).</summary>
    public long RxNoHandler { get; private set; }

    /// <summary>Adds an Ethernet device (a driver is attached separately).</summary>
    public NetDevice AddDevice(string name, int mtu = 1500, int txQueues = 1)
    {
        int index = _devices.Count + 1;
        // The MAC numbers the Ethernet devices from 1 (lo, ifindex 1, has none), so it is what it was before lo existed.
        var mac = MacAddress.LocalAdministered((uint)(Id << 8 | (index - 1)));
        var dev = new NetDevice(name, index, mac, mtu, Scheduler, Softirq, Pool, txQueues)
        {
            Receiver = EthernetReceive, RxSoftirq = RxSoftirq, FlowHashSeed = _flowHashSeed, Trace = Tracepoints,
        };
        _devices.Add(dev);
        return dev;
    }

    public NetDevice Device(string name) => _devices.Find(d => d.Name == name) ?? throw new KeyNotFoundException($"no device {name} on {Name}");

    /// <summary>
    /// `ip addr add ADDRESS/PREFIX dev DEV`: the address and the routes fib_add_ifaddr() adds for it — a local route
    /// for the address itself (through lo), and for the prefix a connected route in main, or on lo a local route
    /// (all of 127.0.0.0/8 is this host).
    /// </summary>
    /// <remarks>Linux: net/ipv4/fib_frontend.c fib_add_ifaddr(), fib_magic()</remarks>
    public InterfaceAddress AddAddress(NetDevice dev, Ipv4Address address, int prefixLength)
    {
        var a = new InterfaceAddress(dev, address, prefixLength);
        Addresses.Add(a);
        var lo = dev.IsLoopback ? dev : Loopback;
        Routes.Add(new Route(address, 32, lo, PreferredSource: address, Type: RouteType.Local));
        if (prefixLength < 32)
            Routes.Add(dev.IsLoopback
                ? new Route(a.Network, prefixLength, lo, PreferredSource: address, Type: RouteType.Local)
                : new Route(a.Network, prefixLength, dev, PreferredSource: address));
        return a;
    }

    /// <summary>`ip route add default via GATEWAY dev DEV`.</summary>
    public Route AddDefaultRoute(NetDevice dev, Ipv4Address gateway, int mtu = 0)
    {
        var r = new Route(Ipv4Address.Any, 0, dev, gateway, mtu);
        Routes.Add(r);
        return r;
    }

    /// <summary>eth_type_trans() and the protocol demultiplexer: ARP or IPv4; anything else is dropped.</summary>
    /// <remarks>Linux: net/ethernet/eth.c eth_type_trans(); net/core/dev.c __netif_receive_skb_core()</remarks>
    private void EthernetReceive(NetDevice dev, SkBuff skb)
    {
        if (!EthernetFrame.TryCreate(skb.Data, out var eth))
        {
            dev.Stats.RxErrors++;
            skb.Free(SkbDropReason.PktTooSmall);
            return;
        }
        var dst = eth.Destination;
        bool toUs = dst == dev.Mac;
        bool otherHost = !toUs && !dst.IsMulticast;
        ushort type = eth.EtherType;
        skb.Protocol = type;
        skb.Pull(EthernetFrame.HeaderLength);
        switch (type)
        {
            case EtherType.Arp:
                if (otherHost) { skb.Free(SkbDropReason.OtherHost); return; }
                Arp.Receive(dev, skb, toUs);
                return;
            case EtherType.Ipv4:
                Input.Receive(skb, otherHost, dev.IsLoopback);
                return;
            default:
                RxNoHandler++;
                skb.Free(SkbDropReason.Unhandled);
                return;
        }
    }

    /// <summary>Frees everything the host still holds: queued packets in qdiscs, neighbour queues, reassembly and sockets.</summary>
    public void Shutdown()
    {
        foreach (var dev in _devices)
            foreach (var q in dev.Qdiscs()) q.Reset();
        Neighbours.Flush();
        Reassembler.Flush();
        foreach (var sk in Udp.Sockets.ToArray()) Udp.Close(sk);
        Tcp.CloseAll();
        Backlog.Purge(); // last: closing sockets may have sent a FIN or RST to themselves through lo
    }

    public override string ToString() => Name;
}
