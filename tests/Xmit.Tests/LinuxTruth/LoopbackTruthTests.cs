using System.Text.Json;
using Xmit.Applications;
using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// lo against Linux 6.18 measured by scripts/linux-loopback.sh (linux-truth/loopback.json) in a namespace with lo up and
/// 198.18.0.1/24 on a veth: the device, `ip route get` for local addresses, a UDP datagram to self (orphaned at sendto,
/// what the receiver is charged, lo's counters), ping to self, the TCP handshake over lo and a 1 MB transfer each way.
/// </summary>
public class LoopbackTruthTests
{
    private static readonly JsonElement Truth = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "loopback.json"))).RootElement;

    private static TheoryData<int> Indexes(string name)
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Truth.GetProperty(name).GetArrayLength(); i++) data.Add(i);
        return data;
    }

    public static TheoryData<int> UdpRuns() => Indexes("udp");
    public static TheoryData<int> PingRuns() => Indexes("ping");
    public static TheoryData<int> TcpRuns() => Indexes("tcp");

    private static (long RxPackets, long RxBytes, long TxPackets, long TxBytes) Lo(JsonElement e) =>
        (e.GetProperty("rx_packets").GetInt64(), e.GetProperty("rx_bytes").GetInt64(), e.GetProperty("tx_packets").GetInt64(), e.GetProperty("tx_bytes").GetInt64());

    private static (long, long, long, long) Lo(Xmit.Link.DeviceStats s) => (s.RxPackets, s.RxBytes, s.TxPackets, s.TxBytes);

    [Fact]
    public void Lo_is_the_device_Linux_registers()
    {
        using var net = new TwoHosts();
        var lo = net.A.Loopback;
        var linux = Truth.GetProperty("lo");
        Assert.Equal(linux.GetProperty("mtu").GetInt32(), lo.Mtu);
        Assert.Equal(linux.GetProperty("ifindex").GetInt32(), lo.IfIndex);
        Assert.Equal(linux.GetProperty("qdisc").GetString(), lo.TxQueues[0].Qdisc.Kind);
        Assert.Equal(linux.GetProperty("address").GetString(), lo.Mac.ToString());
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.5")]
    [InlineData("198.18.0.1")]
    public void Ip_route_get_gives_what_Linux_gives(string destination)
    {
        using var net = new TwoHosts();
        var dst = Ipv4Address.Parse(destination);
        var route = net.A.Routes.Lookup(dst)!;
        string xmit = $"{(route.IsLocal ? "local" : "unicast")} {dst} dev {route.Device.Name} src {net.A.Output.SourceFor(route, dst)}";
        string linux = Truth.GetProperty("route_get").GetProperty(destination).GetString()!;
        Assert.Equal(linux.Replace(" uid 0", ""), xmit);
    }

    [Theory]
    [MemberData(nameof(UdpRuns))]
    public void A_udp_datagram_to_self_is_charged_as_on_Linux(int index)
    {
        var run = Truth.GetProperty("udp")[index];
        var dst = Ipv4Address.Parse(run.GetProperty("dst").GetString()!);
        int size = run.GetProperty("payload").GetInt32();
        using var net = new TwoHosts();
        var sys = new Syscalls(net.A);
        int rx = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sys.Bind(rx, new SockAddrIn(dst, 9000)));
        int tx = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(run.GetProperty("sent").GetInt32(), sys.SendTo(tx, new byte[size], MsgFlags.None, new SockAddrIn(dst, 9000)));
        sys.Ioctl(tx, Ioctl.SIOCOUTQ, out int outq);
        Assert.Equal(run.GetProperty("sender_SIOCOUTQ_after_sendto").GetInt32(), outq);
        Assert.Equal(run.GetProperty("sender_wmem_alloc_after_sendto").GetInt64(), ((UdpSocketFile)sys.File(tx)!).Sk.WmemAlloc);
        net.RunForMs(1);
        Assert.Equal(run.GetProperty("receiver_rmem_alloc").GetInt64(), ((UdpSocketFile)sys.File(rx)!).Sk.RmemAlloc);
        sys.Ioctl(rx, Ioctl.SIOCINQ, out int inq);
        Assert.Equal(run.GetProperty("receiver_SIOCINQ").GetInt32(), inq);
        Assert.Equal(size, sys.RecvFrom(rx, new byte[65536], MsgFlags.None, out var from));
        Assert.Equal(run.GetProperty("source_seen").GetString(), from.Address.ToString());
        Assert.Equal(Lo(run.GetProperty("lo")), Lo(net.A.Loopback.Stats));
        sys.Close(tx);
        sys.Close(rx);
    }

    [Theory]
    [MemberData(nameof(PingRuns))]
    public void Pings_to_self_count_on_lo_as_on_Linux(int index)
    {
        var run = Truth.GetProperty("ping")[index];
        using var net = new TwoHosts();
        int count = run.GetProperty("count").GetInt32();
        var ping = new PingSession(net.A, Ipv4Address.Parse(run.GetProperty("dst").GetString()!), count, Duration.FromMilliseconds(10), run.GetProperty("payload").GetInt32());
        ping.Start();
        net.RunFor(Duration.FromMilliseconds(10L * count + 100));
        Assert.Equal(count, ping.Replies.Count);
        Assert.Equal(Lo(run.GetProperty("lo")), Lo(net.A.Loopback.Stats));
    }

    [Theory]
    [MemberData(nameof(TcpRuns))]
    public void The_tcp_handshake_over_lo_is_Linux_s(int index)
    {
        var run = Truth.GetProperty("tcp")[index];
        var dst = Ipv4Address.Parse(run.GetProperty("dst").GetString()!);
        using var net = new TwoHosts();
        var syns = new List<(ushort Window, int Mss, int Wscale)>();
        net.A.Loopback.AddTap(new SynTap(syns));
        var tcp = TcpConnection.Open(net.Sim, net.A, net.A, dst, 7001);
        Assert.Equal(2, syns.Count);
        foreach (var (name, got) in new[] { ("syn", syns[0]), ("synack", syns[1]) })
        {
            var linux = run.GetProperty(name);
            Assert.True((linux.GetProperty("window").GetInt32(), linux.GetProperty("mss").GetInt32(), linux.GetProperty("wscale").GetInt32())
                == (got.Window, got.Mss, got.Wscale), $"{name}: Xmit window {got.Window} mss {got.Mss} wscale {got.Wscale}");
        }
        var hs = run.GetProperty("handshake");
        Assert.Equal(hs.GetProperty("client_local_address").GetString(), tcp.ClientSock.LocalAddress.ToString());
        foreach (var (side, sk) in new[] { ("client", tcp.ClientSock), ("server", tcp.ServerSock) })
        {
            var l = hs.GetProperty(side);
            var linux = (l.GetProperty("snd_mss").GetInt32(), l.GetProperty("advmss").GetInt32(), l.GetProperty("pmtu").GetInt32(),
                l.GetProperty("snd_wscale").GetInt32(), l.GetProperty("rcv_wscale").GetInt32(), l.GetProperty("snd_wnd").GetInt64(),
                l.GetProperty("rcv_wnd").GetInt64(), l.GetProperty("rcv_ssthresh").GetInt64());
            var xmit = (sk.MssCache, sk.AdvMss, sk.PmtuCookie, (int)sk.SndWscale, (int)sk.RcvWscale, (long)sk.SndWnd, (long)sk.RcvWnd, (long)sk.RcvSsthresh);
            Assert.True(linux == xmit, $"{side}: Linux (snd_mss, advmss, pmtu, snd_wscale, rcv_wscale, snd_wnd, rcv_wnd, rcv_ssthresh) {linux}, Xmit {xmit}");
        }
        tcp.Close();
    }

    /// <summary>
    /// The script's bulk run: 1 MB client→server, then 1 MB back, each read by recv(1 MB) as it comes. The data segments
    /// grow as Linux's do — from half the first window (tcp_bound_to_half_wnd) to the largest lo carries, once the
    /// receivers' autotuning (tcp_rcv_space_adjust on tcp_rcv_rtt_measure's samples) has opened windows beyond twice the
    /// MSS and tcp_grow_skb has refilled the skbs queued at the old size. Linux's segment sizes in between follow its
    /// reader thread's timing against the writer (29749, 47616, 62491… bytes: whatever window the reader had freed), and
    /// so does the number of window updates; Xmit's reader runs in lockstep with the simulation, so the packet count
    /// is held to within a quarter of Linux's rather than exactly.
    /// </summary>
    [Theory]
    [MemberData(nameof(TcpRuns))]
    public void A_tcp_bulk_transfer_over_lo_grows_its_segments_as_Linux_s(int index)
    {
        var run = Truth.GetProperty("tcp")[index];
        var dst = Ipv4Address.Parse(run.GetProperty("dst").GetString()!);
        int bytes = run.GetProperty("bytes_each_way").GetInt32();
        var linuxLengths = run.GetProperty("data_segment_lengths");
        int linuxLargest = linuxLengths.EnumerateObject().SelectMany(d => d.Value.EnumerateObject()).Max(p => int.Parse(p.Name));
        using var net = new TwoHosts();
        var lengths = new Dictionary<string, List<int>> { ["client_to_server"] = [], ["server_to_client"] = [] };
        var (_, _, txBefore, _) = Lo(net.A.Loopback.Stats);
        long rxBefore = net.A.Loopback.Stats.RxPackets;
        var tap = new DataTap(lengths, 7001);
        net.A.Loopback.AddTap(tap);
        var tcp = TcpConnection.Open(net.Sim, net.A, net.A, dst, 7001);
        Assert.True(Bulk(net, tcp.A, tcp.Client, tcp.B, tcp.Server, bytes, 1), "client to server");
        Assert.True(Bulk(net, tcp.B, tcp.Server, tcp.A, tcp.Client, bytes, 2), "server to client");
        var after = run.GetProperty("after_transfer");
        Assert.Equal((after.GetProperty("client_wmem_alloc").GetInt64(), after.GetProperty("server_wmem_alloc").GetInt64()),
            (tcp.ClientSock.WmemAlloc, tcp.ServerSock.WmemAlloc));
        tcp.Close();
        var s = net.A.Loopback.Stats;
        long packets = s.TxPackets - txBefore;
        Assert.Equal(packets, s.RxPackets - rxBefore);
        Assert.Equal(packets, tap.Packets);
        foreach (var (direction, got) in lengths)
        {
            Assert.Equal(bytes, got.Sum());
            Assert.True(got.Max() == linuxLargest, $"{direction}: largest data segment {got.Max()}, Linux {linuxLargest}; Xmit's: {string.Join(' ', got)}");
        }
        long linuxPackets = run.GetProperty("lo").GetProperty("tx_packets").GetInt64();
        Assert.True(Math.Abs(packets - linuxPackets) <= linuxPackets / 4,
            $"lo carried {packets} packets, Linux {linuxPackets}; data segments {string.Join(' ', lengths["client_to_server"])} | {string.Join(' ', lengths["server_to_client"])}");
    }

    /// <summary>sendall() of <paramref name="bytes"/> against a reader taking up to 1 MB a call, as the script's threads do; whether the bytes arrived intact.</summary>
    private static bool Bulk(TwoHosts net, Syscalls from, int fromFd, Syscalls to, int toFd, int bytes, int seed) =>
        TcpConnection.Transfer(net, from, fromFd, to, toFd, bytes, seed, readSize: 1 << 20);

    /// <summary>Every TCP packet lo sends, and the payload lengths of the data segments by direction (from the server's port).</summary>
    private sealed class DataTap(Dictionary<string, List<int>> lengths, ushort serverPort) : Xmit.Link.IPacketTap
    {
        public long Packets { get; private set; }

        public void OnPacket(Xmit.Link.NetDevice device, Xmit.Buffers.SkBuff skb, bool outgoing)
        {
            if (!outgoing || !EthernetFrame.TryCreate(skb.Data, out var eth) || !Ipv4Packet.TryCreate(eth.Payload, out var ip)
                || ip.Protocol != IpProtocol.Tcp || !TcpSegment.TryCreate(ip.Payload, out var seg)) return;
            Packets++;
            int len = ip.TotalLength - ip.HeaderLength - seg.HeaderLength;
            if (len > 0) lengths[seg.SourcePort == serverPort ? "server_to_client" : "client_to_server"].Add(len);
        }
    }

    private sealed class SynTap(List<(ushort Window, int Mss, int Wscale)> syns) : Xmit.Link.IPacketTap
    {
        public void OnPacket(Xmit.Link.NetDevice device, Xmit.Buffers.SkBuff skb, bool outgoing)
        {
            if (outgoing || !EthernetFrame.TryCreate(skb.Data, out var eth) || !Ipv4Packet.TryCreate(eth.Payload, out var ip)
                || ip.Protocol != IpProtocol.Tcp || !TcpSegment.TryCreate(ip.Payload, out var seg) || (seg.Flags & TcpFlags.Syn) == 0) return;
            var opt = TcpOptions.Parse(seg.Options, syn: true);
            syns.Add((seg.Window, opt.Mss, opt.WindowScale));
        }
    }
}
