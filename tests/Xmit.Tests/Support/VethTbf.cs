using Xmit.Hosting;
using Xmit.Link.Qdiscs;
using Xmit.Network.Ipv4;
using Xmit.Sockets;
using Xmit.Simulation;
using Xmit.Time;
using Xmit.Transport.Udp;
using Xmit.Wire;

namespace Xmit.Tests.Support;

/// <summary>
/// linux-truth's set-up: two hosts on a veth pair, the sender's veth shaped with
/// `tc qdisc add dev vethA root tbf rate 1mbit burst 1540 limit 10000000`, a UDP socket on A connected to B.
/// Disposing checks that nothing leaked and every socket's memory came back.
/// </summary>
public sealed class VethTbf : IDisposable
{
    public static readonly Ipv4Address AddrA = new(198, 18, 0, 1);
    public static readonly Ipv4Address AddrB = new(198, 18, 0, 2);

    /// <summary>
    /// The measured loop's pace: a sendto cost about 3 µs on that machine. In virtual time the app spends it
    /// between calls, so tbf's tokens refill during the loop as they did there.
    /// </summary>
    public static readonly Duration SyscallCost = Duration.FromMicroseconds(3);

    public VethTbf(int? soSndbuf, long tbfLimit = 10_000_000, int mtu = 1500)
    {
        Sim = new Simulation.Simulation(1, trackAllocations: true);
        A = Sim.AddHost("A");
        B = Sim.AddHost("B");
        Connection = Sim.ConnectVeth(A, AddrA, B, AddrB, 24, mtu);
        Tbf = new TbfQdisc(Sim.Scheduler, new TbfConfig(1_000_000, 1540, tbfLimit));
        Connection.DeviceA.SetRootQdisc(Tbf);
        Sink = B.Udp.Bind(AddrB, 9, rcvBuf: 64 << 20);
        Socket = A.Udp.Create();
        if (soSndbuf is { } v) Socket.SndBuf = Sock.SndBufFromUser(v);
        // ARP first, so the measured loop sees only the data path (as on the warmed-up veth).
        A.Icmp.SendEchoRequest(AddrB, 1, 1, 8);
        Sim.RunFor(Duration.FromMilliseconds(100));
        Assert.Equal(0, A.Udp.Connect(Socket, AddrB, 9));
    }

    public Simulation.Simulation Sim { get; }
    public Host A { get; }
    public Host B { get; }
    public SimulatedConnection Connection { get; }
    public TbfQdisc Tbf { get; }
    public UdpSock Sink { get; }
    public UdpSock Socket { get; }

    public int Send(int payload, MsgFlags flags = MsgFlags.DontWait)
    {
        int rc = A.Udp.SendMsg(Socket, new byte[payload], null, flags);
        Sim.RunFor(SyscallCost);
        return rc;
    }

    public void Dispose()
    {
        // Let everything drain, then check that every byte charged came back.
        Sim.RunFor(Duration.FromSeconds(1000));
        Assert.Equal(0, Socket.WmemAlloc);
        Sim.Shutdown();
        Assert.True(Sim.Pool.Outstanding == 0, Sim.Pool.DescribeOutstanding());
        Sim.Dispose();
    }
}
