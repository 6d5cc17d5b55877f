using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using static Xmit.Sockets.Api.Ev;

namespace Xmit.Tests.Sockets;

/// <summary>EPOLLOUT as linux-truth describes it: when wmem_alloc &lt; sndbuf/2, LT and ET at the same moment, ET again on later frees.</summary>
public class EpollTests
{
    private static (VethTbf Net, Syscalls Sys, int Fd, int Ep) Setup(uint events)
    {
        var net = new VethTbf(16384);
        var sys = new Syscalls(net.A);
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        sys.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, 16384);
        sys.Connect(fd, new SockAddrIn(VethTbf.AddrB, 9));
        int ep = sys.EpollCreate();
        Assert.Equal(0, sys.EpollCtl(ep, EPOLL_CTL_ADD, fd, new EpollEvent(events, 42)));
        return (net, sys, fd, ep);
    }

    private static void FillUntilEagain(VethTbf net, Syscalls sys, int fd)
    {
        while (sys.Send(fd, new byte[1400]) >= 0) net.Sim.RunFor(VethTbf.SyscallCost);
    }

    [Theory]
    [InlineData(EPOLLOUT)]
    [InlineData(EPOLLOUT | EPOLLET)]
    public void Epollout_level_and_edge_fire_when_wmem_drops_below_half(uint events)
    {
        var (net, sys, fd, ep) = Setup(events);
        using (net)
        {
            var evs = new EpollEvent[8];
            Assert.Equal(1, sys.EpollWait(ep, evs, 0)); // writable at first
            Assert.Equal(42UL, evs[0].Data);
            FillUntilEagain(net, sys, fd);
            Assert.Equal(0, sys.EpollWait(ep, evs, 0));
            var t0 = net.Sim.Now;
            Assert.Equal(1, sys.EpollWait(ep, evs, -1));
            Assert.Equal(EPOLLOUT, evs[0].Events); // revents are masked by the registered events
            Assert.Equal(16128, ((UdpSocketFile)sys.File(fd)!).Sk.WmemAlloc); // linux-truth: wmem at EPOLLOUT, sndbuf 32768
            Assert.InRange((net.Sim.Now - t0).TotalMilliseconds, 91, 93);
            sys.CloseAll();
        }
    }

    [Fact]
    public void Level_triggered_reports_again_and_again_edge_only_on_the_next_free()
    {
        var (net, sys, fd, ep) = Setup(EPOLLOUT | EPOLLET);
        using (net)
        {
            var lt = sys.EpollCreate();
            sys.EpollCtl(lt, EPOLL_CTL_ADD, fd, new EpollEvent(EPOLLOUT, 1));
            var evs = new EpollEvent[8];
            Assert.Equal(1, sys.EpollWait(ep, evs, 0));
            Assert.Equal(0, sys.EpollWait(ep, evs, 0)); // ET: nothing new
            Assert.Equal(1, sys.EpollWait(lt, evs, 0));
            Assert.Equal(1, sys.EpollWait(lt, evs, 0)); // LT: still writable, still reported
            sys.Send(fd, new byte[1400]); // the frame leaves at once (tbf burst) and its free wakes the socket
            Assert.Equal(1, sys.EpollWait(ep, evs, 0)); // ET fires again on a later free while writable
            Assert.Equal(0, sys.EpollWait(ep, evs, 0));
            sys.CloseAll();
        }
    }

    [Fact]
    public void Oneshot_fires_once_until_rearmed_with_mod()
    {
        var (net, sys, fd, ep) = Setup(EPOLLOUT | EPOLLONESHOT);
        using (net)
        {
            var evs = new EpollEvent[8];
            Assert.Equal(1, sys.EpollWait(ep, evs, 0));
            sys.Send(fd, new byte[100]);
            Assert.Equal(0, sys.EpollWait(ep, evs, 0));
            Assert.Equal(0, sys.EpollCtl(ep, EPOLL_CTL_MOD, fd, new EpollEvent(EPOLLOUT | EPOLLONESHOT, 43)));
            Assert.Equal(1, sys.EpollWait(ep, evs, 0));
            Assert.Equal(43UL, evs[0].Data);
            Assert.Equal(-(int)Errno.EEXIST, sys.EpollCtl(ep, EPOLL_CTL_ADD, fd, new EpollEvent(EPOLLIN, 0)));
            Assert.Equal(0, sys.EpollCtl(ep, EPOLL_CTL_DEL, fd, default));
            Assert.Equal(-(int)Errno.ENOENT, sys.EpollCtl(ep, EPOLL_CTL_DEL, fd, default));
            sys.CloseAll();
        }
    }

    [Fact]
    public void Epollin_and_poll_see_arriving_datagrams_and_timeouts_pass_in_virtual_time()
    {
        using var net = new VethTbf(null);
        var sysB = new Syscalls(net.B);
        int rx = sysB.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sysB.Bind(rx, new SockAddrIn(VethTbf.AddrB, 7777));
        int ep = sysB.EpollCreate();
        sysB.EpollCtl(ep, EPOLL_CTL_ADD, rx, new EpollEvent(EPOLLIN, 5));
        var evs = new EpollEvent[2];
        var t0 = net.Sim.Now;
        Assert.Equal(0, sysB.EpollWait(ep, evs, 20));
        Assert.Equal(20, (net.Sim.Now - t0).TotalMilliseconds);
        net.A.Udp.SendMsg(net.A.Udp.Create(), new byte[10], (VethTbf.AddrB, (ushort)7777), MsgFlags.None);
        Assert.Equal(1, sysB.EpollWait(ep, evs, 1000));
        Assert.Equal(EPOLLIN, evs[0].Events);
        PollFd[] fds = [new(rx, EPOLLIN), new(99, EPOLLIN)];
        Assert.Equal(2, sysB.Poll(fds, 0));
        Assert.Equal(EPOLLIN, fds[0].REvents);
        Assert.Equal(EPOLLNVAL, fds[1].REvents);
        sysB.CloseAll();
        foreach (var s in net.A.Udp.Sockets.Where(s => s != net.Socket).ToList()) net.A.Udp.Close(s);
    }
}
