using Xmit.Hosting;
using Xmit.Link.Drivers;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Benchmarks;

/// <summary>
/// The two simulated hosts every benchmark runs on: A (198.18.0.1) and B (198.18.0.2) joined by a ring-NIC link or a
/// veth pair, each with its syscall façade, and the sockets the benchmarks open on them.
/// </summary>
internal sealed class BenchNet
{
    public static readonly Ipv4Address AddrA = new(198, 18, 0, 1);
    public static readonly Ipv4Address AddrB = new(198, 18, 0, 2);

    /// <summary>A link (10 Gbit/s unless given) with a ring NIC on each side, or a veth pair.</summary>
    public BenchNet(LinkConfig? link = null, RingDriverConfig? ring = null, bool veth = false)
    {
        Sim = new Simulation.Simulation(1);
        A = Sim.AddHost("A");
        B = Sim.AddHost("B");
        if (veth) Sim.ConnectVeth(A, AddrA, B, AddrB, 24);
        else Sim.Connect(A, AddrA, B, AddrB, 24, link ?? new LinkConfig { RateBitsPerSecond = 10_000_000_000 }, ring);
        SysA = new Syscalls(A);
        SysB = new Syscalls(B);
    }

    public Simulation.Simulation Sim { get; }
    public Host A { get; }
    public Host B { get; }
    public Syscalls SysA { get; }
    public Syscalls SysB { get; }

    /// <summary>A's UDP socket bound to port 7000 (blocking, like most senders) and B's non-blocking sink on <paramref name="to"/>.</summary>
    public (int Fd, int Sink) OpenUdp(SockAddrIn to)
    {
        int fd = SysA.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        SysA.Bind(fd, new SockAddrIn(AddrA, 7000));
        int sink = SysB.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        SysB.Bind(sink, to);
        return (fd, sink);
    }

    /// <summary>B listens on <paramref name="port"/> (backlog <paramref name="backlog"/>); a non-blocking socket on A.</summary>
    public int Listen(ushort port, int backlog = 1)
    {
        int listener = SysB.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        SysB.Bind(listener, new SockAddrIn(AddrB, port));
        SysB.Listen(listener, backlog);
        return listener;
    }

    /// <summary>A non-blocking connection from A to B's <paramref name="port"/>, accepted and made non-blocking at B.</summary>
    public (int Client, int Server) OpenTcp(ushort port)
    {
        int listener = Listen(port);
        int client = SysA.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        SysA.Connect(client, new SockAddrIn(AddrB, port));
        int server = -1;
        for (int ms = 0; server < 0 && ms < 1000; ms++)
        {
            Sim.RunFor(Duration.FromMilliseconds(1));
            server = SysB.Accept(listener, out _);
        }
        if (server < 0) throw new InvalidOperationException($"accept: {server}");
        SysB.Fcntl(server, Fcntl.F_SETFL, Fcntl.O_RDWR | Fcntl.O_NONBLOCK); // accept() does not inherit O_NONBLOCK
        return (client, server);
    }
}
