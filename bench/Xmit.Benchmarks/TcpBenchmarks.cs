using BenchmarkDotNet.Attributes;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Benchmarks;

/// <summary>
/// One full-sized TCP segment per operation on an established connection: write() → tcp_sendmsg →
/// tcp_write_xmit → clone → IPv4 → qdisc → ring → wire → the peer's tcp_v4_rcv → ACK back → tcp_ack frees
/// the skb → read() at the peer. "Allocated" must read 0 (or "-") in steady state.
/// </summary>
[MemoryDiagnoser]
public class TcpBenchmarks
{
    private const int SegmentsPerOp = 100;
    private Simulation.Simulation _sim = null!;
    private Syscalls _a = null!, _b = null!;
    private int _client, _server;
    private readonly byte[] _segment = new byte[1448];
    private readonly byte[] _buffer = new byte[65536];
    private static readonly Ipv4Address AddrA = new(198, 18, 0, 1);
    private static readonly Ipv4Address AddrB = new(198, 18, 0, 2);

    [GlobalSetup]
    public void Setup()
    {
        _sim = new Simulation.Simulation(1);
        var a = _sim.AddHost("A");
        var b = _sim.AddHost("B");
        _sim.Connect(a, AddrA, b, AddrB, 24, new LinkConfig { RateBitsPerSecond = 10_000_000_000 });
        _a = new Syscalls(a);
        _b = new Syscalls(b);
        int listener = _b.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        _b.Bind(listener, new SockAddrIn(AddrB, 5001));
        _b.Listen(listener, 1);
        _client = _a.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        _a.Connect(_client, new SockAddrIn(AddrB, 5001));
        _sim.RunFor(Duration.FromMilliseconds(10));
        _server = _b.Accept(listener, out _);
        _b.Fcntl(_server, Fcntl.F_SETFL, Fcntl.O_RDWR | Fcntl.O_NONBLOCK);
        if (_server < 0) throw new InvalidOperationException($"accept: {_server}");
        for (int i = 0; i < 10_000; i++) SendOne(); // cwnd grown, pools and queues warm
    }

    [Benchmark(OperationsPerInvoke = SegmentsPerOp)]
    public void SegmentToAck()
    {
        for (int i = 0; i < SegmentsPerOp; i++) SendOne();
    }

    private void SendOne()
    {
        _a.Write(_client, _segment);
        _sim.RunFor(Duration.FromMicroseconds(20));
        while (_b.Read(_server, _buffer) > 0) { }
    }
}
