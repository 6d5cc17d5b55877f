using BenchmarkDotNet.Attributes;
using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Benchmarks;

/// <summary>
/// The public calls besides sendto/recvfrom (HotPathBenchmarks) and write/read (TcpBenchmarks), one datagram per
/// operation through the simulated network: sendmsg with an iovec, epoll_wait and poll before each receive, and
/// ioctl(SIOCINQ). The memory diagnoser's "Allocated" column must read 0 (or "-").
/// </summary>
[MemoryDiagnoser]
public class PublicPathBenchmarks
{
    private const int PacketsPerOp = 100;
    private Simulation.Simulation _sim = null!;
    private Syscalls _sa = null!, _sb = null!;
    private int _fd, _sink, _epfd;
    private readonly byte[] _payload = new byte[1000];
    private readonly byte[] _buffer = new byte[2048];
    private ReadOnlyMemory<byte>[] _iov = null!;
    private readonly EpollEvent[] _events = new EpollEvent[4];
    private readonly PollFd[] _fds = new PollFd[1];
    private static readonly SockAddrIn To = new(BenchNet.AddrB, 9);

    [GlobalSetup]
    public void Setup()
    {
        var net = new BenchNet();
        _sim = net.Sim;
        _sa = net.SysA;
        _sb = net.SysB;
        (_fd, _sink) = net.OpenUdp(To);
        _sa.Connect(_fd, To);
        _epfd = _sb.EpollCreate();
        _sb.EpollCtl(_epfd, Ev.EPOLL_CTL_ADD, _sink, new EpollEvent(Ev.EPOLLIN, 1));
        _iov = [_payload.AsMemory(0, 400), _payload.AsMemory(400)];
        for (int i = 0; i < 10_000; i++) { SendMsg(); EpollWait(); Poll(); Ioctl(); } // ARP resolved, pools warm
    }

    [Benchmark(OperationsPerInvoke = PacketsPerOp)]
    public void SendMsgIovec() { for (int i = 0; i < PacketsPerOp; i++) SendMsg(); }

    [Benchmark(OperationsPerInvoke = PacketsPerOp)]
    public void EpollWaitThenRecv() { for (int i = 0; i < PacketsPerOp; i++) EpollWait(); }

    [Benchmark(OperationsPerInvoke = PacketsPerOp)]
    public void PollThenRecv() { for (int i = 0; i < PacketsPerOp; i++) Poll(); }

    [Benchmark(OperationsPerInvoke = PacketsPerOp)]
    public void IoctlInqThenRecv() { for (int i = 0; i < PacketsPerOp; i++) Ioctl(); }

    private void Deliver()
    {
        _sim.RunFor(Duration.FromMicroseconds(20));
    }

    private void Drain()
    {
        while (_sb.Recv(_sink, _buffer) > 0) { }
    }

    private void SendMsg()
    {
        _sa.SendMsg(_fd, _iov, MsgFlags.None);
        Deliver();
        Drain();
    }

    private void EpollWait()
    {
        _sa.Send(_fd, _payload);
        Deliver();
        _sb.EpollWait(_epfd, _events, 0);
        Drain();
    }

    private void Poll()
    {
        _sa.Send(_fd, _payload);
        Deliver();
        _fds[0] = new PollFd(_sink, Ev.EPOLLIN);
        _sb.Poll(_fds, 0);
        Drain();
    }

    private void Ioctl()
    {
        _sa.Send(_fd, _payload);
        Deliver();
        _sb.Ioctl(_sink, Sockets.Api.Ioctl.SIOCINQ, out _);
        Drain();
    }
}
