using System.Text.Json;
using System.Text.RegularExpressions;
using Xmit.Link;
using Xmit.Link.Qdiscs;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.Link;

/// <summary>
/// Multi-queue devices: mq with a pfifo_fast child per TX queue, netdev_pick_tx() spreading flows by their hash and
/// keeping each on its queue, per-queue rings and BQL, and a non-mq root shared by all queues — against
/// scripts/linux-multiqueue.sh's measurement of a 4-queue veth on Linux 6.18 (linux-truth/multiqueue.json).
/// </summary>
public partial class MultiQueueTests
{
    private static readonly JsonElement Truth = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "multiqueue.json"))).RootElement;

    private const int Queues = 4;

    private static int QueueOfHash(uint hash) => (int)(((ulong)hash * Queues) >> 32); // reciprocal_scale()

    private static long[] ChildPackets(NetDevice dev)
    {
        var mq = Assert.IsType<MqQdisc>(dev.RootQdisc);
        return mq.Children.Select(c => c.Stats.Packets).ToArray();
    }

    private static Dictionary<int, long> Delta(long[] before, long[] after)
    {
        var d = new Dictionary<int, long>();
        for (int i = 0; i < before.Length; i++)
            if (after[i] != before[i]) d[i] = after[i] - before[i];
        return d;
    }

    /// <summary>Linux's way of ending the probe's flows: A shuts down, B reads the end and closes, A reads it and closes.</summary>
    private static void CloseLikeTheProbe(TwoHosts net, TcpConnection tcp)
    {
        Assert.Equal(0, tcp.A.Shutdown(tcp.Client, 1));
        var buf = new byte[16];
        for (int i = 0; i < 1000 && tcp.B.Read(tcp.Server, buf) != 0; i++) net.RunForMs(1);
        tcp.B.Close(tcp.Server);
        for (int i = 0; i < 1000 && tcp.A.Read(tcp.Client, buf) != 0; i++) net.RunForMs(1);
        tcp.A.Close(tcp.Client);
        net.RunForMs(200);
    }

    [Fact]
    public void A_multi_queue_device_gets_mq_with_a_default_child_per_queue_as_linux_gives_one()
    {
        Assert.Equal(Queues, Truth.GetProperty("va").GetProperty("num_tx_queues").GetInt32());
        var linux = Truth.GetProperty("mq_qdiscs").EnumerateArray().ToList();
        Assert.Equal("mq", linux[0].GetProperty("kind").GetString());
        Assert.All(linux.Skip(1), c => Assert.Equal(Truth.GetProperty("default_qdisc_sysctl").GetString(), c.GetProperty("kind").GetString()));

        using var net = new TwoHosts(txQueues: Queues);
        var mq = Assert.IsType<MqQdisc>(net.DevA.RootQdisc);
        Assert.Equal(linux.Count - 1, mq.Children.Count);
        for (int i = 0; i < Queues; i++)
        {
            Assert.IsType<PfifoFastQdisc>(mq.Children[i]);
            Assert.Same(mq.Children[i], net.DevA.TxQueues[i].Qdisc); // each queue has its own child
        }
        // A single-queue device keeps the plain default.
        using var one = new TwoHosts();
        Assert.IsType<PfifoFastQdisc>(one.DevA.RootQdisc);
    }

    [Fact]
    public void Tc_shows_mq_and_its_children_in_linuxs_format_and_order()
    {
        using var net = new TwoHosts(txQueues: Queues);
        net.DevA.SetRootQdisc(new MqQdisc(Queues, _ => new PfifoFastQdisc(net.DevA.TxQueueLen)) { Handle = 1 });
        var ours = TcQdiscShow.Lines(net.DevA);
        var linux = Truth.GetProperty("mq_show_text").EnumerateArray().Select(x => x.GetString()!.TrimEnd()).ToList();
        // The counters differ (other traffic); the text around them, the order (last queue first) and the parents must not.
        Assert.Equal(linux.Select(MaskCounters), ours.Select(MaskCounters));

        // The default mq has handle 0: tc prints its children's parents as ":N".
        using var dflt = new TwoHosts(txQueues: Queues);
        Assert.Equal("qdisc pfifo_fast 0: parent :4 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1", TcQdiscShow.Lines(dflt.DevA, stats: false)[1]);
    }

    private static string MaskCounters(string line) => line.StartsWith("qdisc", StringComparison.Ordinal) ? line : Digits().Replace(line, "N");

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();

    [Fact]
    public void Each_tcp_flow_keeps_the_one_queue_its_txhash_picks_as_every_flow_did_on_linux()
    {
        var linuxFlows = Truth.GetProperty("tcp_flows").EnumerateArray().ToList();
        Assert.All(linuxFlows, f => Assert.Single(f.GetProperty("packets_by_child").EnumerateObject()));

        using var net = new TwoHosts(txQueues: Queues);
        net.WarmUp();
        var used = new HashSet<int>();
        long total = 0;
        for (int i = 0; i < linuxFlows.Count; i++)
        {
            var before = ChildPackets(net.DevA);
            var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, (ushort)(5201 + i));
            var client = tcp.ClientSock;
            Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 1 << 20, seed: i));
            CloseLikeTheProbe(net, tcp);
            var delta = Delta(before, ChildPackets(net.DevA));
            var (queue, packets) = Assert.Single(delta);
            Assert.Equal(QueueOfHash(client.TxHash), queue);
            Assert.True(packets > 16, $"flow {i}: {packets} packets"); // 1 MB in GSO skbs of up to 64 KB, plus the handshake and ACKs
            used.Add(queue);
            total += packets;
        }
        Assert.True(used.Count > 1, "eight flows all hashed to one queue");
        net.DevA.RootQdisc.UpdateDumpStats();
        Assert.True(net.DevA.RootQdisc.Stats.Packets >= total); // mq's count is the children's sum (ARP included)
        Assert.Equal(ChildPackets(net.DevA).Sum(), net.DevA.RootQdisc.Stats.Packets);
    }

    [Fact]
    public void Unconnected_udp_datagrams_of_one_4_tuple_share_a_queue_picked_by_the_flow_hash()
    {
        var linuxFlows = Truth.GetProperty("udp_flows").EnumerateArray().ToList();
        Assert.All(linuxFlows, f => Assert.Equal(f.GetProperty("datagrams").GetInt32(), Assert.Single(f.GetProperty("packets_by_child").EnumerateObject()).Value.GetInt32()));

        using var net = new TwoHosts(txQueues: Queues);
        net.WarmUp();
        var sa = new Syscalls(net.A);
        int fd = sa.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(0, sa.Bind(fd, new SockAddrIn(TwoHosts.AddrA, 40000)));
        var payload = new byte[100];
        var queues = new HashSet<int>();
        foreach (var f in linuxFlows)
        {
            var before = ChildPackets(net.DevA);
            var to = new SockAddrIn(TwoHosts.AddrB, (ushort)f.GetProperty("dport").GetInt32());
            for (int i = 0; i < f.GetProperty("datagrams").GetInt32(); i++) Assert.Equal(100, sa.SendTo(fd, payload, 0, to));
            net.RunForMs(5);
            var (queue, n) = Assert.Single(Delta(before, ChildPackets(net.DevA)));
            Assert.Equal(f.GetProperty("datagrams").GetInt32(), n);
            queues.Add(queue);
        }
        Assert.True(queues.Count > 1, "eight destination ports all hashed to one queue");
        Assert.Equal(-1, ((UdpSocketFile)sa.File(fd)!).Sk.TxQueueMapping); // no route cached: nothing remembered
        sa.Close(fd);
    }

    [Fact]
    public void Concurrent_flows_use_their_own_queues_rings_and_byte_queue_limits()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 1_000_000_000 }, txQueues: Queues);
        net.WarmUp();
        var flows = Enumerable.Range(0, 6).Select(i => TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, (ushort)(6000 + i))).ToList();
        var mine = flows.Select(f => QueueOfHash(f.ClientSock.TxHash)).ToList();
        // All six at once: each writes 2 MB, the other end reads.
        var data = new byte[1 << 16];
        var left = flows.Select(_ => 2L << 20).ToArray();
        var got = new long[flows.Count];
        var buf = new byte[1 << 17];
        var deadline = net.Sim.Now + Duration.FromSeconds(30);
        while (got.Sum() < flows.Count * (2L << 20) && net.Sim.Now < deadline)
        {
            for (int i = 0; i < flows.Count; i++)
            {
                if (left[i] > 0 && flows[i].A.Write(flows[i].Client, data.AsSpan(0, (int)Math.Min(data.Length, left[i]))) is > 0 and var n) left[i] -= n;
                if (flows[i].B.Read(flows[i].Server, buf) is > 0 and var r) got[i] += r;
            }
            net.RunFor(Duration.FromMicroseconds(50));
        }
        Assert.All(got, g => Assert.Equal(2L << 20, g));
        for (int q = 0; q < Queues; q++)
        {
            var txq = net.DevA.TxQueues[q];
            bool hasFlow = mine.Contains(q);
            // Only a queue some flow hashed to carried TCP: its ring, its BQL and its child qdisc (ARP may use any queue).
            if (hasFlow)
            {
                long payload = mine.Count(m => m == q) * (2L << 20);
                Assert.True(txq.Dql.CompletedBytes > payload, $"queue {q}: {txq.Dql.CompletedBytes} bytes completed for {payload} bytes of its flows");
                Assert.True(txq.Qdisc.Stats.Packets > 32, $"queue {q}: {txq.Qdisc.Stats.Packets} packets");
            }
            else Assert.True(txq.Dql.CompletedBytes < 1000, $"queue {q} has no flow but completed {txq.Dql.CompletedBytes} bytes");
        }
        foreach (var f in flows)
        {
            Assert.Equal(QueueOfHash(f.ClientSock.TxHash), f.ClientSock.TxQueueMapping);
            f.Close();
        }
    }

    [Fact]
    public void A_tbf_root_is_shared_by_all_queues_and_each_skb_still_goes_to_its_own_queue()
    {
        var linux = Truth.GetProperty("tbf_root_qdiscs").EnumerateArray().ToList();
        Assert.Equal("tbf", Assert.Single(linux).GetProperty("kind").GetString());
        Assert.Contains(" refcnt 5 ", Truth.GetProperty("tbf_root_show_text")[0].GetString());

        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 1_000_000_000 }, txQueues: Queues);
        var tbf = new TbfQdisc(net.Sim.Scheduler, new TbfConfig(200_000_000, 15140, 1_000_000));
        net.DevA.SetRootQdisc(tbf);
        Assert.All(net.DevA.TxQueues, q => Assert.Same(tbf, q.Qdisc));
        var show = TcQdiscShow.Lines(net.DevA, stats: false);
        Assert.StartsWith("qdisc tbf 0: root refcnt 5 ", Assert.Single(show));
        net.WarmUp();
        var flows = Enumerable.Range(0, 4).Select(i => TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, (ushort)(7000 + i))).ToList();
        for (int i = 0; i < flows.Count; i++)
            Assert.True(TcpConnection.Transfer(net, flows[i].A, flows[i].Client, flows[i].B, flows[i].Server, 1 << 20, seed: i));
        var mine = flows.Select(f => QueueOfHash(f.ClientSock.TxHash)).ToHashSet();
        for (int q = 0; q < Queues; q++)
        {
            long completed = net.DevA.TxQueues[q].Dql.CompletedBytes;
            if (mine.Contains(q)) Assert.True(completed > 1_000_000, $"queue {q}: {completed}");
            else Assert.True(completed < 1000, $"queue {q} has no flow but completed {completed} bytes");
        }
        Assert.Equal(tbf.Backlog, net.DevA.QdiscBacklog);
        foreach (var f in flows) f.Close();
    }

    [Fact]
    public void A_retransmission_timeout_draws_a_new_txhash_and_the_idle_flow_moves_to_its_queue()
    {
        using var net = new TwoHosts(txQueues: Queues);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5300);
        var sk = tcp.ClientSock;
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 100_000, seed: 1));
        uint first = sk.TxHash;
        Assert.Equal(QueueOfHash(first), sk.TxQueueMapping);

        // B's device goes down: A's data is never acknowledged and its RTO fires.
        net.DevB.IsUp = false;
        Assert.True(tcp.A.Write(tcp.Client, new byte[10_000]) > 0);
        net.RunFor(Duration.FromSeconds(1));
        Assert.True(sk.TimeoutRehash >= 1, "no RTO");
        Assert.NotEqual(first, sk.TxHash);
        Assert.Equal(sk.TimeoutRehash, (uint)net.A.Tcp.Mib.TimeoutRehash);

        net.DevB.IsUp = true;
        var buf = new byte[1 << 16];
        long got = 0;
        for (int i = 0; i < 5000 && got < 10_000; i++)
        {
            if (tcp.B.Read(tcp.Server, buf) is > 0 and var r) got += r;
            else net.RunForMs(1);
        }
        Assert.Equal(10_000, got);
        // Once nothing of the socket was queued below TCP (ooo_okay), its next skb took the queue of the new hash.
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 100_000, seed: 2));
        Assert.Equal(QueueOfHash(sk.TxHash), sk.TxQueueMapping);
        tcp.Close();
    }
}
