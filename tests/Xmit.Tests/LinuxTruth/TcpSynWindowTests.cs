using System.Text.Json;
using Xmit.Buffers;
using Xmit.Link;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Wire;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// The windows, scales and MSS a handshake offers, against Linux 6.18 measured by scripts/linux-tcp-syn-window.sh
/// (linux-truth/tcp-syn-window.json): default and small SO_RCVBUF, set on either end, at MTU 1500 and 9000.
/// </summary>
public class TcpSynWindowTests
{
    private sealed class SynCapture : IPacketTap
    {
        public readonly List<(byte Flags, ushort Window, int WindowScale, int Mss)> Syns = [];

        public void OnPacket(NetDevice device, SkBuff skb, bool outgoing)
        {
            if (!outgoing || !EthernetFrame.TryCreate(skb.Data, out var eth) || !Ipv4Packet.TryCreate(eth.Payload, out var ip)
                || ip.Protocol != IpProtocol.Tcp || !TcpSegment.TryCreate(ip.Payload, out var seg) || (seg.Flags & TcpFlags.Syn) == 0) return;
            var opt = TcpOptions.Parse(seg.Options, syn: true);
            Syns.Add((seg.Flags, seg.Window, opt.WindowScale, opt.Mss));
        }
    }

    public static TheoryData<int> Runs()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Truth.GetProperty("runs").GetArrayLength(); i++) data.Add(i);
        return data;
    }

    private static readonly JsonElement Truth = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "tcp-syn-window.json"))).RootElement;

    [Theory]
    [MemberData(nameof(Runs))]
    public void The_handshake_offers_what_Linux_offers(int index)
    {
        var run = Truth.GetProperty("runs")[index];
        int mtu = run.GetProperty("mtu").GetInt32();
        string setOn = run.GetProperty("set_on").GetString()!;
        int? rcvbuf = run.GetProperty("so_rcvbuf_set").ValueKind == JsonValueKind.Number ? run.GetProperty("so_rcvbuf_set").GetInt32() : null;

        using var net = new TwoHosts(LinkConfig.Veth, mtu: mtu);
        foreach (var host in new[] { net.A, net.B })
            foreach (var name in new[] { "net.ipv4.tcp_rmem", "net.core.rmem_max", "net.ipv4.tcp_wmem", "net.core.wmem_max" })
                Assert.True(host.Sysctls.TrySet(name, Truth.GetProperty("sysctl").GetProperty(name).GetString()!, out var e), e);
        var capA = new SynCapture();
        var capB = new SynCapture();
        net.DevA.AddTap(capA);
        net.DevB.AddTap(capB);
        net.WarmUp();

        var sa = new Syscalls(net.A);
        var sb = new Syscalls(net.B);
        int listener = sb.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        if (rcvbuf is { } v && setOn is "both" or "server_only") Assert.Equal(0, sb.SetSockOpt(listener, SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, v));
        Assert.Equal(0, sb.Bind(listener, new SockAddrIn(TwoHosts.AddrB, 6000)));
        Assert.Equal(0, sb.Listen(listener, 8));
        int client = sa.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        if (rcvbuf is { } w && setOn is "both" or "client_only") Assert.Equal(0, sa.SetSockOpt(client, SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, w));
        sa.Connect(client, new SockAddrIn(TwoHosts.AddrB, 6000));
        net.RunForMs(10);

        var syn = Assert.Single(capA.Syns);
        var synAck = Assert.Single(capB.Syns);
        var what = $"mtu {mtu}, SO_RCVBUF {rcvbuf?.ToString() ?? "default"} on {setOn}";
        Assert.True(run.GetProperty("SYN").GetProperty("window").GetInt32() == syn.Window, $"{what}: SYN window {syn.Window}");
        Assert.True(run.GetProperty("SYN").GetProperty("wscale").GetInt32() == syn.WindowScale, $"{what}: SYN wscale {syn.WindowScale}");
        Assert.True(run.GetProperty("SYN").GetProperty("mss").GetInt32() == syn.Mss, $"{what}: SYN mss {syn.Mss}");
        Assert.True(run.GetProperty("SYN_ACK").GetProperty("window").GetInt32() == synAck.Window, $"{what}: SYN-ACK window {synAck.Window}");
        Assert.True(run.GetProperty("SYN_ACK").GetProperty("wscale").GetInt32() == synAck.WindowScale, $"{what}: SYN-ACK wscale {synAck.WindowScale}");

        var tcpA = ((TcpSocketFile)sa.File(client)!).Sk;
        var linuxClient = run.GetProperty("client_after_handshake");
        Assert.True(linuxClient.GetProperty("advmss").GetInt32() == tcpA.AdvMss, $"{what}: client advmss {tcpA.AdvMss}");
        Assert.True(linuxClient.GetProperty("rcv_ssthresh").GetInt64() == tcpA.RcvSsthresh, $"{what}: client rcv_ssthresh {tcpA.RcvSsthresh}");
        Assert.True(linuxClient.GetProperty("rcv_wnd").GetInt64() == tcpA.RcvWnd, $"{what}: client rcv_wnd {tcpA.RcvWnd}");
    }
}
