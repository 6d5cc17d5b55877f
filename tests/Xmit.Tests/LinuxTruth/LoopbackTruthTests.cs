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
/// what the receiver is charged, lo's counters), ping to self, and the TCP handshake over lo.
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
