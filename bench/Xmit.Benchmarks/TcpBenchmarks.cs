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

    [GlobalSetup]
    public void Setup()
    {
        var net = new BenchNet();
        _sim = net.Sim;
        _a = net.SysA;
        _b = net.SysB;
        (_client, _server) = net.OpenTcp(5001);
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
