using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;
using static Xmit.Sockets.Api.Ev;
using static Xmit.Sockets.Api.SockOpt;

namespace Xmit.Tests.Sockets;

public class SyscallTests
{
    private static int E(Errno e) => -(int)e;

    [Fact]
    public void Bad_arguments_get_linux_errnos()
    {
        using var net = new TwoHosts();
        var sys = new Syscalls(net.A);
        Assert.Equal(E(Errno.EAFNOSUPPORT), sys.Socket(Af.AF_INET6, SockType.SOCK_DGRAM, 0));
        Assert.Equal(E(Errno.EPROTONOSUPPORT), sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 6));
        Assert.Equal(E(Errno.EBADF), sys.Send(42, new byte[1]));
        Assert.Equal(E(Errno.EBADF), sys.Close(42));
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.True(fd >= 3);
        Assert.Equal(E(Errno.EFAULT), sys.Bind(fd, null));
        Assert.Equal(E(Errno.EAFNOSUPPORT), sys.Bind(fd, new SockAddrIn(TwoHosts.AddrA, 5000, Af.AF_INET6)));
        Assert.Equal(E(Errno.EADDRNOTAVAIL), sys.Bind(fd, new SockAddrIn(new Ipv4Address(198, 18, 9, 9), 5000)));
        // send() autobinds before it finds no destination (inet_send_prepare), as in Linux.
        Assert.Equal(E(Errno.EDESTADDRREQ), sys.Send(fd, new byte[1]));
        Assert.NotEqual(0, ((UdpSocketFile)sys.File(fd)!).Sk.LocalPort);
        Assert.Equal(E(Errno.EINVAL), sys.SendTo(fd, new byte[1], MsgFlags.None, new SockAddrIn(TwoHosts.AddrB, 0)));
        Assert.Equal(E(Errno.ENETUNREACH), sys.SendTo(fd, new byte[1], MsgFlags.None, new SockAddrIn(new Ipv4Address(203, 0, 113, 1), 9)));
        Assert.Equal(E(Errno.EMSGSIZE), sys.SendTo(fd, new byte[65508], MsgFlags.None, new SockAddrIn(TwoHosts.AddrB, 9)));
        Assert.Equal(E(Errno.ENOPROTOOPT), sys.SetSockOpt(fd, SOL_SOCKET, 999, 1));
        Assert.Equal(E(Errno.EINVAL), sys.SetSockOpt(fd, IPPROTO_IP, IP_TTL, 256));
        Assert.Equal(E(Errno.EINVAL), sys.SetSockOpt(fd, IPPROTO_IP, IP_MTU_DISCOVER, 9));
        Assert.Equal(E(Errno.ENOTTY), sys.Ioctl(fd, 0x1234, out _));
        Assert.Equal(E(Errno.EINVAL), sys.Fcntl(fd, 99));
        Assert.Equal(E(Errno.EAGAIN), sys.Recv(fd, new byte[10], MsgFlags.DontWait));
        int other = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(0, sys.Bind(other, new SockAddrIn(Ipv4Address.Any, 5000)));
        int third = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(E(Errno.EADDRINUSE), sys.Bind(third, new SockAddrIn(TwoHosts.AddrA, 5000)));
        Assert.Equal(E(Errno.EINVAL), sys.Bind(fd, new SockAddrIn(TwoHosts.AddrA, 5002))); // autobound already
        Assert.Equal(E(Errno.EINVAL), sys.Bind(other, new SockAddrIn(Ipv4Address.Any, 5001))); // already bound
        Assert.Equal(0, sys.Close(fd));
        Assert.Equal(E(Errno.EBADF), sys.Close(fd));
        sys.CloseAll();
    }

    [Fact]
    public void Options_round_trip_as_linux_reports_them()
    {
        using var net = new TwoHosts();
        var sys = new Syscalls(net.A);
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(0, sys.GetSockOpt(fd, SOL_SOCKET, SO_SNDBUF, out int sndbuf));
        Assert.Equal(212992, sndbuf); // wmem_default, not doubled
        sys.SetSockOpt(fd, SOL_SOCKET, SO_SNDBUF, 4096);
        sys.GetSockOpt(fd, SOL_SOCKET, SO_SNDBUF, out sndbuf);
        Assert.Equal(8192, sndbuf);
        sys.SetSockOpt(fd, SOL_SOCKET, SO_SNDBUF, 2048);
        sys.GetSockOpt(fd, SOL_SOCKET, SO_SNDBUF, out sndbuf);
        Assert.Equal(4608, sndbuf);
        sys.SetSockOpt(fd, SOL_SOCKET, SO_RCVBUF, 1000);
        sys.GetSockOpt(fd, SOL_SOCKET, SO_RCVBUF, out int rcvbuf);
        Assert.Equal(2304, rcvbuf);
        sys.SetSockOpt(fd, IPPROTO_IP, IP_TOS, 0x10); // IPTOS_LOWDELAY → TC_PRIO_INTERACTIVE
        sys.GetSockOpt(fd, SOL_SOCKET, SO_PRIORITY, out int prio);
        Assert.Equal(6, prio);
        sys.GetSockOpt(fd, IPPROTO_IP, IP_TTL, out int ttl);
        Assert.Equal(64, ttl);
        sys.SetSockOpt(fd, IPPROTO_IP, IP_TTL, 7);
        sys.GetSockOpt(fd, IPPROTO_IP, IP_TTL, out ttl);
        Assert.Equal(7, ttl);
        sys.GetSockOpt(fd, IPPROTO_IP, IP_MTU_DISCOVER, out int pmtu);
        Assert.Equal((int)PmtuDisc.Want, pmtu);
        Assert.Equal(Fcntl.O_RDWR, sys.Fcntl(fd, Fcntl.F_GETFL));
        sys.Fcntl(fd, Fcntl.F_SETFL, Fcntl.O_NONBLOCK);
        Assert.Equal(Fcntl.O_RDWR | Fcntl.O_NONBLOCK, sys.Fcntl(fd, Fcntl.F_GETFL));
        Assert.Equal(E(Errno.EAGAIN), sys.Recv(fd, new byte[1])); // O_NONBLOCK applies to every call
        sys.CloseAll();
    }

    [Fact]
    public void Tos_priority_selects_the_pfifo_fast_band_on_the_wire()
    {
        using var net = new TwoHosts();
        var sys = new Syscalls(net.A);
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sys.SetSockOpt(fd, IPPROTO_IP, IP_TOS, 0x10);
        var rec = FrameRecorder.On(net.DevA);
        net.WarmUp();
        sys.SendTo(fd, new byte[10], MsgFlags.None, new SockAddrIn(TwoHosts.AddrB, 9));
        var frame = rec.Sent.Last();
        Assert.Equal(0x10, frame[15]); // the TOS byte
        sys.CloseAll();
    }

    /// <summary>
    /// The way iperf3's UDP server accepts a stream: its socket on the port connects to the client and a new one binds
    /// the same port, both with SO_REUSEADDR (without it on both, EADDRINUSE); the client's datagrams go to the connected
    /// socket, another client's to the new one.
    /// </summary>
    [Fact]
    public void Udp_sockets_that_both_set_so_reuseaddr_share_a_port_and_the_connected_one_gets_its_peers_datagrams()
    {
        using var net = new TwoHosts();
        var sysA = new Syscalls(net.A);
        var sysB = new Syscalls(net.B);
        int first = sysB.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sysB.SetSockOpt(first, SOL_SOCKET, SO_REUSEADDR, 1));
        Assert.Equal(0, sysB.Bind(first, new SockAddrIn(TwoHosts.AddrB, 5201)));
        int plain = sysB.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(E(Errno.EADDRINUSE), sysB.Bind(plain, new SockAddrIn(TwoHosts.AddrB, 5201))); // sk_reuse on one side only
        int c1 = sysA.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0), c2 = sysA.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sysA.Connect(c1, new SockAddrIn(TwoHosts.AddrB, 5201));
        sysA.Connect(c2, new SockAddrIn(TwoHosts.AddrB, 5201));
        sysA.Send(c1, new byte[4]);
        net.RunForMs(5);
        var buf = new byte[100];
        Assert.Equal(4, sysB.RecvFrom(first, buf, MsgFlags.None, out var peer));
        Assert.Equal(0, sysB.Connect(first, peer));
        int second = sysB.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sysB.SetSockOpt(second, SOL_SOCKET, SO_REUSEADDR, 1));
        Assert.Equal(0, sysB.GetSockOpt(second, SOL_SOCKET, SO_REUSEADDR, out int reuse));
        Assert.Equal(1, reuse);
        Assert.Equal(0, sysB.Bind(second, new SockAddrIn(TwoHosts.AddrB, 5201)));
        sysA.Send(c1, new byte[10]);
        sysA.Send(c2, new byte[20]);
        net.RunForMs(5);
        Assert.Equal(10, sysB.Recv(first, buf));
        Assert.Equal(20, sysB.Recv(second, buf));
        Assert.Equal(E(Errno.EAGAIN), sysB.Recv(first, buf));
        Assert.Equal(E(Errno.EAGAIN), sysB.Recv(second, buf));
        sysA.CloseAll();
        sysB.CloseAll();
    }

    [Fact]
    public void Siocoutq_reports_wmem_and_siocinq_the_next_datagram()
    {
        using var net = new VethTbf(null);
        var sys = new Syscalls(net.A);
        var sysB = new Syscalls(net.B);
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        int rx = sysB.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sysB.Bind(rx, new SockAddrIn(VethTbf.AddrB, 5555));
        sys.Connect(fd, new SockAddrIn(VethTbf.AddrB, 5555));
        for (int i = 0; i < 5; i++) sys.Send(fd, new byte[1400]);
        Assert.Equal(0, sys.Ioctl(fd, Ioctl.SIOCOUTQ, out int outq));
        Assert.Equal(4 * 2304, outq); // one left through the tbf burst, four wait in the qdisc charged to the socket
        net.Sim.RunFor(Duration.FromSeconds(1));
        Assert.Equal(0, sysB.Ioctl(rx, Ioctl.SIOCINQ, out int inq));
        Assert.Equal(1400, inq);
        var buf = new byte[2000];
        Assert.Equal(1400, sysB.RecvFrom(rx, buf, MsgFlags.None, out var from));
        Assert.Equal(VethTbf.AddrA, from.Address);
        Assert.Equal(100, sysB.Recv(rx, buf.AsSpan(0, 100))); // truncated to the buffer
        Assert.Equal(1400, sysB.Recv(rx, buf.AsSpan(0, 100), MsgFlags.Trunc)); // MSG_TRUNC: the real length
        sys.CloseAll();
        sysB.CloseAll();
    }

    [Fact]
    public void Blocking_recv_waits_in_virtual_time_and_rcvtimeo_gives_eagain()
    {
        using var net = new TwoHosts();
        var sysB = new Syscalls(net.B);
        int rx = sysB.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sysB.Bind(rx, new SockAddrIn(TwoHosts.AddrB, 9));
        sysB.SetSockOptTimeout(rx, SO_RCVTIMEO, Duration.FromMilliseconds(30));
        Assert.Equal(0, sysB.GetSockOptTimeout(rx, SO_RCVTIMEO, out var got));
        Assert.Equal(Duration.FromMilliseconds(30), got);
        Assert.Equal(0, sysB.GetSockOptTimeout(rx, SO_SNDTIMEO, out got));
        Assert.Equal(Duration.Zero, got); // 0: block forever
        var t0 = net.Sim.Now;
        Assert.Equal(E(Errno.EAGAIN), sysB.Recv(rx, new byte[10]));
        Assert.Equal(30, (net.Sim.Now - t0).TotalMilliseconds);
        var sysA = new Syscalls(net.A);
        int tx = sysA.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sysA.SendTo(tx, new byte[5], MsgFlags.None, new SockAddrIn(TwoHosts.AddrB, 9));
        Assert.Equal(5, sysB.Recv(rx, new byte[10])); // blocks until the datagram (and ARP) came
        sysA.CloseAll();
        sysB.CloseAll();
    }

    [Fact]
    public void Connected_socket_learns_econnrefused_from_port_unreachable_and_disconnect_forgets_the_peer()
    {
        using var net = new TwoHosts();
        var sys = new Syscalls(net.A);
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(0, sys.Connect(fd, new SockAddrIn(TwoHosts.AddrB, 9)));
        Assert.Equal(3, sys.Send(fd, new byte[3]));
        net.RunForMs(5);
        var ep = sys.EpollCreate();
        sys.EpollCtl(ep, EPOLL_CTL_ADD, fd, new EpollEvent(EPOLLIN, 7));
        var evs = new EpollEvent[4];
        Assert.Equal(1, sys.EpollWait(ep, evs, 0));
        Assert.Equal(EPOLLERR, evs[0].Events & EPOLLERR); // errors are always reported
        Assert.Equal(E(Errno.ECONNREFUSED), sys.Send(fd, new byte[3])); // reported once, by the next call
        Assert.Equal(3, sys.Send(fd, new byte[3]));
        Assert.Equal(0, sys.Connect(fd, new SockAddrIn(Ipv4Address.Any, 0, Af.AF_UNSPEC)));
        Assert.Equal(E(Errno.EDESTADDRREQ), sys.Send(fd, new byte[3]));
        sys.CloseAll();
    }

    [Fact]
    public void Sendmsg_iovecs_make_one_datagram_and_port_zero_binds_an_ephemeral_port()
    {
        using var net = new TwoHosts();
        var sys = new Syscalls(net.A);
        var sysB = new Syscalls(net.B);
        int rx = sysB.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sysB.Bind(rx, new SockAddrIn(Ipv4Address.Any, 9));
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(0, sys.Bind(fd, new SockAddrIn(Ipv4Address.Any, 0)));
        ushort port = ((UdpSocketFile)sys.File(fd)!).Sk.LocalPort;
        Assert.InRange(port, (ushort)32768, (ushort)60999);
        ReadOnlyMemory<byte>[] iov = ["ab"u8.ToArray(), "cde"u8.ToArray()];
        Assert.Equal(5, sys.SendMsg(fd, iov, MsgFlags.Confirm, new SockAddrIn(TwoHosts.AddrB, 9)));
        var buf = new byte[10];
        Assert.Equal(5, sysB.RecvFrom(rx, buf, MsgFlags.None, out var from));
        Assert.Equal("abcde"u8.ToArray(), buf[..5]);
        Assert.Equal(port, from.Port);
        sys.CloseAll();
        sysB.CloseAll();
    }
}
