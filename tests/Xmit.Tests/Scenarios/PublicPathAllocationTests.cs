using System.Net;
using Xmit.Applications;
using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;
using TcpListener = Xmit.Applications.TcpListener;

namespace Xmit.Tests.Scenarios;

/// <summary>
/// Every public call an application makes per packet allocates nothing once warm: each path is run through the
/// simulated network (sender, wire, receiver, completion) and counted with the runtime's allocation counter.
/// bench/Xmit.Benchmarks (PublicPathBenchmarks) shows the same with BenchmarkDotNet's memory diagnoser.
/// </summary>
public class PublicPathAllocationTests
{
    private static readonly Ipv4Address AddrA = TwoHosts.AddrA;
    private static readonly Ipv4Address AddrB = TwoHosts.AddrB;

    /// <summary>Bytes allocated on this thread by the last of four runs of <paramref name="round"/> (the others warm up).</summary>
    private static long Allocated(Action round)
    {
        long allocated = 0;
        for (int i = 0; i < 4; i++) // the first rounds warm pools, queues and the JIT's tiers; the last one counts
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            round();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return allocated;
    }

    /// <summary>A's UDP socket (blocking, like most senders) and B's non-blocking sink, ARP resolved; the hosts check for leaks when disposed.</summary>
    private sealed class Udp : IDisposable
    {
        public readonly TwoHosts Net = new(new LinkConfig { RateBitsPerSecond = 10_000_000_000 }, trackAllocations: false);
        public readonly Syscalls A, B;
        public readonly int Fd, Sink;
        public static readonly SockAddrIn To = new(AddrB, 9);
        public Simulation.Simulation Sim => Net.Sim;

        public Udp()
        {
            A = new Syscalls(Net.A);
            B = new Syscalls(Net.B);
            Fd = A.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
            Assert.Equal(0, A.Bind(Fd, new SockAddrIn(AddrA, 7000)));
            Sink = B.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
            Assert.Equal(0, B.Bind(Sink, To));
            Net.WarmUp();
        }

        public void Dispose()
        {
            A.CloseAll();
            B.CloseAll();
            Net.Dispose();
        }
    }

    public static TheoryData<string> UdpPaths => ["sendto", "sendmsg", "send", "write", "recvfrom", "recv", "read", "epoll_wait", "poll", "ioctl"];

    [Theory]
    [MemberData(nameof(UdpPaths))]
    public void Udp_call_allocates_nothing_per_datagram(string call)
    {
        using var u = new Udp();
        var payload = new byte[1000];
        var buffer = new byte[2048];
        ReadOnlyMemory<byte>[] iov = [payload.AsMemory(0, 400), payload.AsMemory(400, 600)];
        int epfd = u.B.EpollCreate();
        Assert.Equal(0, u.B.EpollCtl(epfd, Ev.EPOLL_CTL_ADD, u.Sink, new EpollEvent(Ev.EPOLLIN, 1)));
        var events = new EpollEvent[4];
        var fds = new PollFd[1];
        Assert.Equal(0, u.A.Connect(u.Fd, Udp.To));
        int received = 0, failed = 0;

        void Round()
        {
            for (int i = 0; i < 2000; i++)
            {
                int sent = call switch
                {
                    "sendmsg" => u.A.SendMsg(u.Fd, iov, MsgFlags.None),
                    "send" => u.A.Send(u.Fd, payload),
                    "write" => u.A.Write(u.Fd, payload),
                    _ => u.A.SendTo(u.Fd, payload, MsgFlags.None, Udp.To),
                };
                if (sent != payload.Length) failed++;
                u.Sim.RunFor(Duration.FromMicroseconds(2));
                switch (call)
                {
                    // The datagram may still be on the wire: each call must answer, ready or not.
                    case "epoll_wait":
                        if (u.B.EpollWait(epfd, events, 0) < 0) failed++;
                        break;
                    case "poll":
                        fds[0] = new PollFd(u.Sink, Ev.EPOLLIN);
                        if (u.B.Poll(fds, 0) < 0) failed++;
                        break;
                    case "ioctl":
                        if (u.B.Ioctl(u.Sink, Ioctl.SIOCINQ, out int next) < 0 || next is not (0 or 1000)) failed++;
                        break;
                }
                int n;
                while ((n = call switch
                       {
                           "recv" => u.B.Recv(u.Sink, buffer),
                           "read" => u.B.Read(u.Sink, buffer),
                           _ => u.B.RecvFrom(u.Sink, buffer, MsgFlags.None, out _),
                       }) > 0) received++;
            }
            u.Sim.RunFor(Duration.FromMilliseconds(1));
        }

        Assert.Equal(0, Allocated(Round));
        Assert.Equal(0, failed);
        int before = received;
        Round();
        Assert.Equal(2000, received - before); // every datagram of a round arrives
    }

    public static TheoryData<string> TcpPaths => ["write/read", "send/recv", "sendmsg/recvfrom", "epoll_wait"];

    [Theory]
    [MemberData(nameof(TcpPaths))]
    public void Tcp_call_allocates_nothing_per_segment(string calls)
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 10_000_000_000 }, trackAllocations: false);
        net.WarmUp();
        var c = TcpConnection.Open(net.Sim, net.A, net.B, AddrB);
        var segment = new byte[1448];
        ReadOnlyMemory<byte>[] iov = [segment.AsMemory(0, 448), segment.AsMemory(448)];
        var buffer = new byte[65536];
        int epfd = c.B.EpollCreate();
        Assert.Equal(0, c.B.EpollCtl(epfd, Ev.EPOLL_CTL_ADD, c.Server, new EpollEvent(Ev.EPOLLIN, 1)));
        var events = new EpollEvent[4];
        long written = 0, read = 0;

        void Round()
        {
            for (int i = 0; i < 2000; i++)
            {
                int n = calls switch
                {
                    "send/recv" => c.A.Send(c.Client, segment),
                    "sendmsg/recvfrom" => c.A.SendMsg(c.Client, iov, MsgFlags.None),
                    _ => c.A.Write(c.Client, segment),
                };
                if (n > 0) written += n;
                net.RunFor(Duration.FromMicroseconds(20));
                if (calls == "epoll_wait" && c.B.EpollWait(epfd, events, 0) < 0) throw new InvalidOperationException("epoll_wait failed");
                int r;
                while ((r = calls switch
                       {
                           "send/recv" => c.B.Recv(c.Server, buffer),
                           "sendmsg/recvfrom" => c.B.RecvFrom(c.Server, buffer, MsgFlags.None, out _),
                           _ => c.B.Read(c.Server, buffer),
                       }) > 0) read += r;
            }
        }

        Assert.Equal(0, Allocated(Round));
        net.RunFor(Duration.FromMilliseconds(10));
        int rest;
        while ((rest = c.B.Read(c.Server, buffer)) > 0) read += rest;
        Assert.Equal(4 * 2000 * 1448L, written);
        Assert.Equal(written, read);
        c.Close();
    }

    [Fact]
    public void TcpStream_async_write_and_read_allocate_nothing_per_call()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 10_000_000_000 }, trackAllocations: false);
        net.WarmUp();
        var server = new IPEndPoint(IPAddress.Parse("198.18.0.2"), 5000);
        using var listener = new TcpListener(net.B);
        listener.Bind(server);
        listener.Listen();
        var chunk = new byte[4096];
        var buffer = new byte[65536];
        const int Rounds = 5, PerRound = 2000;
        var measured = new long[Rounds];

        async Task Client()
        {
            var stream = await TcpStream.ConnectAsync(net.A, server);
            for (int round = 0; round < Rounds; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < PerRound; i++) await stream.WriteAsync(chunk);
                measured[round] = GC.GetAllocatedBytesForCurrentThread() - before;
            }
            stream.ShutdownWrite();
            stream.Dispose();
        }

        long total = 0;
        async Task Server()
        {
            var stream = await listener.AcceptAsync();
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0) total += n;
            stream.Dispose();
        }

        var both = Task.WhenAll(net.Sim.Start(Client), net.Sim.Start(Server));
        Assert.True(net.Sim.RunUntilCompleted(both, Duration.FromSeconds(30)));
        Assert.True(both.IsCompletedSuccessfully, both.Exception?.ToString());
        Assert.Equal((long)Rounds * PerRound * chunk.Length, total);
        // The reader runs inside the writer's measured window (its awaits resume on the same thread as the
        // simulation delivers): both directions' steady state is in the count. The first rounds warm up: receive
        // autotuning (tcp_rcv_space_adjust) grows B's buffer over about three of them, and the pool with the data in flight.
        Assert.True(measured[^1] == 0, string.Join(" ", measured));
    }
}
