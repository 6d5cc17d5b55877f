using BenchmarkDotNet.Attributes;
using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Benchmarks;

/// <summary>
/// One UDP datagram per operation through the real sendto() (the fd façade → udp_sendmsg → ip_append_data /
/// sock_alloc_send_skb → ip_local_out) → qdisc → driver ring → simulated wire → the peer's receive path and
/// recvfrom() → TX completion (skb freed, socket memory returned). The memory diagnoser's "Allocated" column
/// is the per-packet allocation in steady state: it must read 0 (or "-").
/// </summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private const int PacketsPerOp = 100;
    private Simulation.Simulation _sim = null!;
    private Syscalls _sa = null!;
    private Syscalls _sb = null!;
    private int _fd;
    private int _sink;
    private readonly byte[] _payload = new byte[1000];
    private readonly byte[] _buffer = new byte[2048];
    private static readonly SockAddrIn To = new(BenchNet.AddrB, 9);

    [Params(64, 1000)]
    public int Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var net = new BenchNet();
        _sim = net.Sim;
        _sa = net.SysA;
        _sb = net.SysB;
        (_fd, _sink) = net.OpenUdp(To);
        for (int i = 0; i < 10_000; i++) SendOne(); // ARP resolved, pools and queues warm
    }

    [Benchmark(OperationsPerInvoke = PacketsPerOp)]
    public void SendToCompletion()
    {
        for (int i = 0; i < PacketsPerOp; i++) SendOne();
    }

    private void SendOne()
    {
        _sa.SendTo(_fd, _payload.AsSpan(0, Payload), MsgFlags.None, To);
        _sim.RunFor(Duration.FromMicroseconds(20));
        while (_sb.RecvFrom(_sink, _buffer, MsgFlags.None, out _) > 0) { }
    }
}
