using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Wire;

namespace Xmit.Tests.Loopback;

/// <summary>UDP between sockets of one host, to 127.0.0.1 and to the host's own address: both cross lo.</summary>
public class LoopbackUdpTests
{
    public static TheoryData<string> Destinations => new() { "127.0.0.1", "198.18.0.1", "127.0.0.5" };

    [Theory]
    [MemberData(nameof(Destinations))]
    public void A_datagram_to_self_is_orphaned_at_sendto_and_delivered_after_the_call_returns(string destination)
    {
        using var net = new TwoHosts();
        var host = net.A;
        var to = Ipv4Address.Parse(destination);
        var sys = new Syscalls(host);
        int rx = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sys.Bind(rx, new SockAddrIn(to, 9000)));
        int tx = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        var payload = new byte[1000];
        new Random(3).NextBytes(payload);

        Assert.Equal(1000, sys.SendTo(tx, payload, MsgFlags.None, new SockAddrIn(to, 9000)));
        // skb_orphan in loopback_xmit: nothing is charged to the sender once sendto returns.
        Assert.Equal(0, sys.Ioctl(tx, Ioctl.SIOCOUTQ, out int outq));
        Assert.Equal(0, outq);
        Assert.Equal(0, ((UdpSocketFile)sys.File(tx)!).Sk.WmemAlloc);
        // netif_rx: the datagram waits in the backlog; the receiver has nothing yet.
        Assert.Equal(1, host.Backlog.Count);
        var buf = new byte[2000];
        Assert.Equal(-(int)Errno.EAGAIN, sys.RecvFrom(rx, buf, MsgFlags.None, out _));

        net.RunForMs(1);
        Assert.Equal(1000, sys.RecvFrom(rx, buf, MsgFlags.None, out var from));
        Assert.Equal(payload, buf[..1000]);
        var expectedSource = to.IsLoopback ? Ipv4Address.Loopback : to;
        Assert.Equal(expectedSource, from.Address);
        // lo's counters: one packet each way, the IP length (1028) without the Ethernet header.
        Assert.Equal(1, host.Loopback.Stats.TxPackets);
        Assert.Equal(1028, host.Loopback.Stats.TxBytes);
        Assert.Equal(1, host.Loopback.Stats.RxPackets);
        Assert.Equal(1028, host.Loopback.Stats.RxBytes);
        Assert.Equal(0, net.DevA.Stats.TxPackets); // nothing went out of eth0
        sys.Close(tx);
        sys.Close(rx);
    }
}
