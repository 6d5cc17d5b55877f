using Xmit.Link.Qdiscs;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Link;

/// <summary>
/// The TCP paths this session's device work touches — departure times under fq, queue choice and rehash on a 4-queue
/// device with mq — under loss, reordering, duplication and corruption, over several seeds: every transfer arrives
/// byte-exact, and both sockets end with nothing charged (TwoHosts' Dispose checks skbs and wmem).
/// </summary>
public class PacedAndMultiQueueFaultTests
{
    private static readonly LinkConfig Faulty = new()
    {
        RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMicroseconds(500), LossRate = 0.01,
        Faults = new LinkFaults { ReorderRate = 0.05, DuplicateRate = 0.01, CorruptRate = 0.01 },
    };

    [Theory]
    [InlineData("fq", 1UL)]
    [InlineData("fq", 2UL)]
    [InlineData("fq", 3UL)]
    [InlineData("mq", 1UL)]
    [InlineData("mq", 2UL)]
    [InlineData("mq", 3UL)]
    public void A_megabyte_each_way_survives_faults(string root, ulong seed)
    {
        using var net = new TwoHosts(Faulty, seed: seed, trackAllocations: false, txQueues: root == "mq" ? 4 : 1);
        if (root == "fq")
            foreach (var dev in new[] { net.DevA, net.DevB })
                dev.SetRootQdisc(new FqQdisc(net.Sim.Scheduler, new FqConfig(), dev.Mtu + dev.HardHeaderLength));
        else Assert.IsType<MqQdisc>(net.DevA.RootQdisc);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5400);
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 1 << 20, seed: (int)seed), "A to B");
        Assert.True(TcpConnection.Transfer(net, tcp.B, tcp.Server, tcp.A, tcp.Client, 1 << 20, seed: (int)seed + 10), "B to A");
        if (root == "fq") Assert.True(tcp.ClientSock.PacingStatus == Xmit.Buffers.SkPacingStatus.Fq && tcp.ServerSock.PacingStatus == Xmit.Buffers.SkPacingStatus.Fq);
        Assert.True(net.A.Tcp.Mib.RetransSegs + net.B.Tcp.Mib.RetransSegs > 0, "the faults cost no retransmission");
        Assert.Equal(0, tcp.ClientSock.RmemAlloc);
        Assert.Equal(0, tcp.ServerSock.RmemAlloc);
        tcp.Close();
    }
}
