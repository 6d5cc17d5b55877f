using Xmit.Link.Qdiscs;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using static Xmit.Sockets.Api.SockOpt;

namespace Xmit.Tests.Sockets;

/// <summary>
/// sk_priority on every kind of socket: SO_PRIORITY sets it, IP_TOS sets it through rt_tos2priority() when the
/// TOS changes, and every packet the socket sends carries it (skb->priority), which picks its pfifo_fast band.
/// </summary>
public class SocketPriorityTests
{
    private const int NonBlockingStream = SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK;

    private static readonly SockAddrIn Server = new(TwoHosts.AddrB, 5000);

    /// <summary>A non-blocking listener on B's port 5000, with <paramref name="priority"/> set before it listens.</summary>
    private static int Listen(Syscalls sb, int priority = 0)
    {
        int listener = sb.Socket(Af.AF_INET, NonBlockingStream, 0);
        Assert.Equal(0, sb.SetSockOpt(listener, SOL_SOCKET, SO_PRIORITY, priority));
        Assert.Equal(0, sb.Bind(listener, Server));
        Assert.Equal(0, sb.Listen(listener, 8));
        return listener;
    }

    /// <summary>A non-blocking connect to the listener: the SYN is out.</summary>
    private static int StartConnect(Syscalls sa)
    {
        int fd = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
        Assert.Equal(-(int)Errno.EINPROGRESS, sa.Connect(fd, Server));
        return fd;
    }

    private static int Priority(Syscalls sys, int fd)
    {
        Assert.Equal(0, sys.GetSockOpt(fd, SOL_SOCKET, SO_PRIORITY, out int prio));
        return prio;
    }

    private static int Tos(Syscalls sys, int fd)
    {
        Assert.Equal(0, sys.GetSockOpt(fd, IPPROTO_IP, IP_TOS, out int tos));
        return tos;
    }

    /// <summary>
    /// ip_tos2prio[IPTOS_TOS(tos) >> 1] as __ip_sock_set_tos() applies it: IPTOS_LOWDELAY (0x10) is
    /// TC_PRIO_INTERACTIVE (6), IPTOS_THROUGHPUT (0x08) TC_PRIO_BULK (2), IPTOS_RELIABILITY (0x04)
    /// TC_PRIO_BESTEFFORT (0). A stream socket keeps its own ECN bits; a TOS equal to the current one changes
    /// nothing, so an SO_PRIORITY set after it stands.
    /// </summary>
    [Fact]
    public void Ip_tos_on_a_tcp_socket_sets_so_priority_as_linux_does()
    {
        using var net = new TwoHosts();
        var sys = new Syscalls(net.A);
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_STREAM, 0);
        Assert.Equal(0, Priority(sys, fd));
        Assert.Equal(0, sys.SetSockOpt(fd, IPPROTO_IP, IP_TOS, 0x10));
        Assert.Equal(0x10, Tos(sys, fd));
        Assert.Equal(6, Priority(sys, fd));
        Assert.Equal(0, sys.SetSockOpt(fd, IPPROTO_IP, IP_TOS, 0x08));
        Assert.Equal(2, Priority(sys, fd));
        Assert.Equal(0, sys.SetSockOpt(fd, IPPROTO_IP, IP_TOS, 0x04));
        Assert.Equal(0, Priority(sys, fd));
        // The ECN bits of a stream socket's TOS are TCP's: 0x13 sets 0x10.
        Assert.Equal(0, sys.SetSockOpt(fd, IPPROTO_IP, IP_TOS, 0x13));
        Assert.Equal(0x10, Tos(sys, fd));
        Assert.Equal(6, Priority(sys, fd));
        // Setting the TOS it already has leaves the priority alone.
        Assert.Equal(0, sys.SetSockOpt(fd, SOL_SOCKET, SO_PRIORITY, 3));
        Assert.Equal(0, sys.SetSockOpt(fd, IPPROTO_IP, IP_TOS, 0x10));
        Assert.Equal(3, Priority(sys, fd));

        // A datagram socket keeps the ECN bits it is given.
        int udp = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(0, sys.SetSockOpt(udp, IPPROTO_IP, IP_TOS, 0x13));
        Assert.Equal(0x13, Tos(sys, udp));
        Assert.Equal(6, Priority(sys, udp));
        sys.CloseAll();
    }

    /// <summary>SO_PRIORITY reads back what was set on a stream socket, and an accepted socket inherits its listener's (sk_clone_lock).</summary>
    [Fact]
    public void So_priority_gets_and_sets_on_a_tcp_socket_and_is_inherited_by_accept()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var sa = new Syscalls(net.A);
        var sb = new Syscalls(net.B);
        int fd = sa.Socket(Af.AF_INET, SockType.SOCK_STREAM, 0);
        Assert.Equal(0, sa.SetSockOpt(fd, SOL_SOCKET, SO_PRIORITY, 5));
        Assert.Equal(5, Priority(sa, fd));
        Assert.Equal(0, sa.SetSockOpt(fd, SOL_SOCKET, SO_PRIORITY, 0));
        Assert.Equal(0, Priority(sa, fd));

        int listener = Listen(sb, priority: 6);
        StartConnect(sa);
        net.RunForMs(20);
        int server = sb.Accept(listener, out _);
        Assert.True(server >= 0, $"accept: {server}");
        Assert.Equal(6, Priority(sb, server));
        sa.CloseAll();
        sb.CloseAll();
        net.RunForMs(50);
    }

    /// <summary>
    /// With A's TX queue stopped, what the sockets send waits in pfifo_fast: each TCP connection's data segment
    /// sits in the band of its socket's priority (priomap 1 2 2 2 1 2 0 0 …): IP_TOS 0x10 (priority 6) in band 0,
    /// the default (0) in band 1, SO_PRIORITY 2 in band 2; pfifo_fast_dequeue() then serves band 0 first. A UDP
    /// datagram sent first takes the requeue slot, which sch_direct_xmit() uses for the packet it could not hand
    /// to a stopped queue.
    /// </summary>
    [Fact]
    public void Tcp_segments_land_in_the_pfifo_fast_band_of_their_priority()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var sa = new Syscalls(net.A);
        var sb = new Syscalls(net.B);
        int listener = Listen(sb);
        int[] clients = [StartConnect(sa), StartConnect(sa), StartConnect(sa)];
        net.RunForMs(20);
        foreach (int c in clients) Assert.Equal(0, sa.Connect(c, Server));
        Assert.Equal(0, sa.SetSockOpt(clients[0], IPPROTO_IP, IP_TOS, 0x10)); // priority 6 → band 0
        Assert.Equal(0, sa.SetSockOpt(clients[2], SOL_SOCKET, SO_PRIORITY, 2)); // band 2

        var txq = net.DevA.TxQueues[0];
        var pfifo = Assert.IsType<PfifoFastQdisc>(txq.Qdisc);
        txq.Stop();
        int udp = sa.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(8, sa.SendTo(udp, new byte[8], Xmit.Network.Ipv4.MsgFlags.None, new SockAddrIn(TwoHosts.AddrB, 9)));
        Assert.Equal(1, pfifo.QLen); // the requeued datagram, in no band
        Assert.Equal(100, sa.Write(clients[2], new byte[100]));
        Assert.Equal([0, 0, 1], Bands(pfifo));
        Assert.Equal(100, sa.Write(clients[1], new byte[100]));
        Assert.Equal([0, 1, 1], Bands(pfifo));
        Assert.Equal(100, sa.Write(clients[0], new byte[100]));
        Assert.Equal([1, 1, 1], Bands(pfifo));

        // Once the queue wakes, the bands go strictly in order: the data leaves in the reverse of the order it
        // was written, the LOWDELAY connection's first, with its TOS.
        var rec = FrameRecorder.On(net.DevA);
        txq.Wake();
        net.RunForMs(20);
        Assert.Equal([0, 0, 0], Bands(pfifo));
        var data = rec.Sent.Where(f => f[14 + 9] == 6 && f.Length > 14 + 20 + 60).ToList(); // TCP, with a payload
        Assert.Equal(clients.Select(c => (int)((TcpSocketFile)sa.File(c)!).Sk.LocalPort), data.Select(f => f[34] << 8 | f[35]));
        Assert.Equal(0x10, data[0][15]);
        for (int i = 0; i < clients.Length; i++)
        {
            int server = sb.Accept(listener, out _);
            Assert.True(server >= 0, $"accept: {server}");
            Assert.Equal(100, sb.Read(server, new byte[200]));
        }
        sa.CloseAll();
        sb.CloseAll();
        net.RunForMs(50);
    }

    private static int[] Bands(PfifoFastQdisc q) => [q.BandLength(0), q.BandLength(1), q.BandLength(2)];
}
