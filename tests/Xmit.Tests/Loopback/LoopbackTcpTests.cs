using Xmit.Buffers;
using Xmit.Link;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Loopback;

/// <summary>
/// TCP between two sockets of one host, to 127.0.0.1 and to the host's own address: the connection crosses lo both
/// ways, 64 KB skbs whole, and ends byte-exact with every byte of memory returned and no skb outstanding (TwoHosts
/// checks those on dispose).
/// </summary>
public class LoopbackTcpTests
{
    private const int Bytes = 1 << 20;

    /// <summary>Records the TCP payload length of every packet lo carries (one tap call per packet: incoming).</summary>
    internal sealed class SegmentTap : IPacketTap
    {
        public readonly List<int> Lengths = [];
        public int MaxIpLength;
        public int Packets;

        public void OnPacket(NetDevice device, SkBuff skb, bool outgoing)
        {
            if (outgoing || !EthernetFrame.TryCreate(skb.Data, out var eth) || !Ipv4Packet.TryCreate(eth.Payload, out var ip)
                || ip.Protocol != IpProtocol.Tcp || !TcpSegment.TryCreate(ip.Payload, out var seg)) return;
            Packets++;
            MaxIpLength = Math.Max(MaxIpLength, ip.TotalLength);
            int len = ip.TotalLength - ip.HeaderLength - seg.HeaderLength;
            if (len > 0) Lengths.Add(len);
        }
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("198.18.0.1")]
    public void A_megabyte_each_way_to_self_is_byte_exact_and_leaves_nothing_behind(string destination)
    {
        using var net = new TwoHosts();
        var host = net.A;
        var address = Ipv4Address.Parse(destination);
        var tap = new SegmentTap();
        host.Loopback.AddTap(tap);
        var tcp = TcpConnection.Open(net.Sim, host, host, address, 7001);
        Assert.Equal(address, tcp.ClientSock.LocalAddress); // the route's preferred source: the address itself, or 127.0.0.1

        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, Bytes, 1), "client to server");
        Assert.True(TcpConnection.Transfer(net, tcp.B, tcp.Server, tcp.A, tcp.Client, Bytes, 2), "server to client");
        net.RunForMs(100);

        // Orphaned at transmit: nothing is ever charged to sk_wmem_alloc for long, so it is 0 once the calls return.
        Assert.Equal(0, tcp.ClientSock.WmemAlloc);
        Assert.Equal(0, tcp.ServerSock.WmemAlloc);
        Assert.Equal(0, net.DevA.Stats.TxPackets); // nothing left by eth0
        Assert.Equal(0, host.Backlog.Dropped);
        // The first segments are bounded by half the peer's first window (tcp_bound_to_half_wnd), as on Linux: 32741.
        Assert.Equal(32741, tap.Lengths[0]);
        Assert.Equal(host.Loopback.Stats.TxPackets, host.Loopback.Stats.RxPackets);
        Assert.Equal(tap.Packets, host.Loopback.Stats.RxPackets);

        var (client, server) = (tcp.ClientSock, tcp.ServerSock);
        tcp.Close();
        Assert.Empty(host.Tcp.Sockets);
        Assert.Equal(0, client.RmemAlloc);
        Assert.Equal(0, server.RmemAlloc);
        Assert.Equal(0, host.Backlog.Count);
    }

    /// <summary>
    /// 100 MB to self: the segments reach the largest lo carries (65483, the MSS once the receiver's autotuned window
    /// is past twice it) and stay there; the transfer is byte-exact and TwoHosts' dispose finds no skb, buffer, page or
    /// byte of socket memory left.
    /// </summary>
    [Fact]
    public void A_hundred_megabytes_to_self_runs_at_full_sized_segments_and_leaves_nothing_behind()
    {
        const int bytes = 100 << 20;
        using var net = new TwoHosts(trackAllocations: false); // a stack trace per skb would take most of the run; the counts are still checked
        var host = net.A;
        var tap = new SegmentTap();
        host.Loopback.AddTap(tap);
        var tcp = TcpConnection.Open(net.Sim, host, host, Ipv4Address.Loopback, 7004);
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, bytes, 3), "client to server");
        int mss = tcp.ClientSock.AdvMss; // 65483: lo's MTU less the headers and the timestamp option
        Assert.Equal(mss, tcp.ClientSock.MssCache);
        Assert.Equal(mss, tap.Lengths.Max());
        Assert.Equal(bytes, tap.Lengths.Sum());
        // Past the first megabyte's growth, nearly every segment is full-sized: skbs are built or refilled at the grown MSS.
        var steady = tap.Lengths.Skip(tap.Lengths.Count / 10).ToList();
        Assert.True(steady.Count(l => l == mss) * 10 >= steady.Count * 9, $"{steady.Count(l => l == mss)} of {steady.Count} segments full-sized");
        Assert.Equal(0, tcp.ClientSock.WmemAlloc);
        Assert.Equal(0, host.Backlog.Dropped);
        tcp.Close();
        Assert.Empty(host.Tcp.Sockets);
    }

    [Fact]
    public void Tcp_small_queues_never_hold_a_loopback_flow_back()
    {
        using var net = new TwoHosts();
        var host = net.A;
        var tcp = TcpConnection.Open(net.Sim, host, host, Ipv4Address.Loopback, 7003);
        var data = new byte[256 * 1024];
        int n = tcp.A.Write(tcp.Client, data);
        Assert.True(n > 0);
        // Every clone handed to lo was orphaned before the write returned: sk_wmem_alloc is 0 even while data is in flight.
        Assert.Equal(0, tcp.ClientSock.WmemAlloc);
        Assert.True(tcp.ClientSock.SndNxt != tcp.ClientSock.SndUna, "data is in flight");
        var buf = new byte[1 << 17];
        int got = 0;
        for (int i = 0; i < 10_000 && got < n; i++)
        {
            int r = tcp.B.Read(tcp.Server, buf);
            if (r > 0) got += r; else net.RunFor(Duration.FromMicroseconds(20));
        }
        Assert.Equal(n, got);
        tcp.Close();
    }

    [Fact]
    public void A_64_KiB_TCP_gso_skb_crosses_lo_whole_with_its_gso_size_truesize_and_verified_checksum()
    {
        using var net = new TwoHosts();
        var lo = net.A.Loopback;
        SkBuff? arrived = null;
        lo.Receiver = (_, skb) => arrived = skb;
        const int payload = 2 * 32741, headers = 14 + 20 + 32;
        var skb = net.Sim.Pool.Alloc(headers + payload);
        var bytes = skb.Put(headers + payload);
        bytes[12] = 0x08; // EtherType IPv4
        bytes[14] = 0x45; // IPv4, IHL 5
        bytes[14 + 9] = (byte)IpProtocol.Tcp;
        bytes[14 + 20 + 12] = 8 << 4; // TCP data offset 8 (timestamps)
        skb.GsoType = GsoType.TcpV4;
        skb.GsoSize = 32741;
        skb.IpSummed = ChecksumState.Partial;
        int truesize = skb.Truesize;
        Assert.Equal(0, lo.QueueXmit(skb));
        Assert.Null(arrived); // netif_rx: not before the backlog runs
        net.RunForMs(1);
        Assert.NotNull(arrived);
        Assert.Equal(headers + payload, arrived!.Len); // one packet, not segmented (lo has TSO)
        Assert.Equal(32741, arrived.GsoSize);
        Assert.Equal(GsoType.TcpV4, arrived.GsoType);
        Assert.Equal(truesize, arrived.Truesize);
        Assert.Equal(ChecksumState.Unnecessary, arrived.IpSummed);
        Assert.Equal(2, arrived.Cb.RxFrags); // the data in 32 KiB page fragments, as tcp_sendmsg built it
        arrived.Free(SkbDropReason.NotSpecified);
        Assert.Equal(1, lo.Stats.TxPackets);
        Assert.Equal(20 + 32 + payload, lo.Stats.TxBytes);
    }

    [Fact]
    public void The_same_seed_gives_the_same_loopback_run()
    {
        static string Run()
        {
            using var net = new TwoHosts(trackAllocations: false);
            var tap = new SegmentTap();
            net.A.Loopback.AddTap(tap);
            var tcp = TcpConnection.Open(net.Sim, net.A, net.A, Ipv4Address.Loopback, 7004);
            Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 300_000, 5));
            tcp.Close();
            return $"{net.Sim.Now} {string.Join(",", tap.Lengths)}";
        }
        Assert.Equal(Run(), Run());
    }
}
