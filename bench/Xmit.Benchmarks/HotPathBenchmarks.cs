using BenchmarkDotNet.Attributes;
using Xmit.Hosting;
using Xmit.Simulation;
using Xmit.Time;
using Xmit.Transport.Udp;
using Xmit.Wire;

namespace Xmit.Benchmarks;

/// <summary>
/// One UDP datagram per operation through ip_local_out → qdisc → driver ring → simulated wire → the peer's
/// receive path → TX completion (skb freed, socket memory returned). The memory diagnoser's "Allocated"
/// column is the per-packet allocation in steady state: it must read 0 (or "-").
/// </summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private const int PacketsPerOp = 100;
    private Simulation.Simulation _sim = null!;
    private Host _a = null!;
    private Host _b = null!;
    private UdpSock _sk = null!;
    private UdpSock _sink = null!;
    private readonly byte[] _payload = new byte[1000];
    private readonly byte[] _buffer = new byte[2048];
    private static readonly Ipv4Address AddrA = new(198, 18, 0, 1);
    private static readonly Ipv4Address AddrB = new(198, 18, 0, 2);

    [Params(64, 1000)]
    public int Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _sim = new Simulation.Simulation(1);
        _a = _sim.AddHost("A");
        _b = _sim.AddHost("B");
        _sim.Connect(_a, AddrA, _b, AddrB, 24, new LinkConfig { RateBitsPerSecond = 10_000_000_000 });
        _sk = _a.Udp.Bind(AddrA, 7000);
        _sink = _b.Udp.Bind(AddrB, 9);
        for (int i = 0; i < 10_000; i++) SendOne(); // ARP resolved, pools and queues warm
    }

    [Benchmark(OperationsPerInvoke = PacketsPerOp)]
    public void SendToCompletion()
    {
        for (int i = 0; i < PacketsPerOp; i++) SendOne();
    }

    private void SendOne()
    {
        _a.Udp.SendDatagram(_sk, AddrA, 7000, AddrB, 9, _payload.AsSpan(0, Payload));
        _sim.RunFor(Duration.FromMicroseconds(20));
        while (_b.Udp.Receive(_sink, _buffer) is not null) { }
    }
}
