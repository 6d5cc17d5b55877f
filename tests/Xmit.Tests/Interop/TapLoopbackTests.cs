using System.Security.Cryptography;
using Xmit.Applications;
using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Interop;

/// <summary>A host on a TAP device talks to itself through its lo, on the real-time loop; nothing leaves by the TAP device.</summary>
public class TapLoopbackTests
{
    [Fact]
    public void A_tap_host_pings_itself_and_sends_udp_to_itself()
    {
        using var net = new TapNet(capture: false);
        var host = net.Host.Host;
        long tapFrames = net.Host.Device.Stats.TxPackets;
        foreach (var dst in new[] { Ipv4Address.Loopback, net.Us })
        {
            var ping = new PingSession(host, dst, 3, Duration.FromMilliseconds(10));
            ping.Start();
            Assert.True(net.RunUntil(() => ping.Replies.Count == 3, 3_000), $"{dst}: {ping.Replies.Count} replies");
        }
        var sys = new Syscalls(host);
        int rx = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sys.Bind(rx, new SockAddrIn(Ipv4Address.Loopback, 9000)));
        int tx = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(1000, sys.SendTo(tx, new byte[1000], MsgFlags.None, new SockAddrIn(Ipv4Address.Loopback, 9000)));
        Assert.Equal(0, ((UdpSocketFile)sys.File(tx)!).Sk.WmemAlloc); // orphaned by loopback_xmit
        var buf = new byte[2000];
        int got = -1;
        Assert.True(net.RunUntil(() => (got = sys.RecvFrom(rx, buf, MsgFlags.None, out _)) >= 0, 2_000));
        Assert.Equal(1000, got);
        Assert.Equal(tapFrames, net.Host.Device.Stats.TxPackets); // the TAP device carried none of it
        Assert.Equal(2 * 3 * 2 + 1, host.Loopback.Stats.TxPackets);
        sys.Close(tx);
        sys.Close(rx);
    }

    [Fact]
    public void A_tap_host_moves_a_megabyte_over_tcp_to_itself_byte_exact()
    {
        using var net = new TapNet(capture: false);
        var host = net.Host.Host;
        var sys = new Syscalls(host);
        int listener = sys.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sys.Bind(listener, new SockAddrIn(net.Us, 7001)));
        Assert.Equal(0, sys.Listen(listener, 8));
        int client = sys.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(-(int)Errno.EINPROGRESS, sys.Connect(client, new SockAddrIn(net.Us, 7001)));
        int server = -1;
        Assert.True(net.RunUntil(() => (server = sys.Accept(listener, out _)) >= 0, 2_000), "no accept");
        var data = new byte[1 << 20];
        new Random(9).NextBytes(data);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[1 << 17];
        int sent = 0, received = 0;
        net.RunUntil(() =>
        {
            if (sent < data.Length && sys.Write(client, data.AsSpan(sent)) is > 0 and var n) sent += n;
            int r = sys.Read(server, buf);
            if (r > 0) { hash.AppendData(buf, 0, r); received += r; }
            return received == data.Length;
        }, 20_000);
        Assert.Equal(data.Length, received);
        Assert.Equal(SHA256.HashData(data), hash.GetHashAndReset());
        sys.Close(client);
        sys.Close(server);
        sys.Close(listener);
    }
}
