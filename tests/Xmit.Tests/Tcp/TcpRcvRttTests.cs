using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Tcp;

/// <summary>
/// The receiver's RTT estimate (tcp_rcv_rtt_update, read as tcpi_rcv_rtt) that paces receive-buffer autotuning: a
/// smaller sample is taken at once, a larger timestamp sample only while the receive queue was empty, so an application
/// slow to read leaves the estimate small and tcp_rcv_space_adjust does not take its backlog for bandwidth (Linux 6.16's
/// "tcp: skip big rtt sample if receive queue is not empty").
/// </summary>
public class TcpRcvRttTests
{
    /// <summary>
    /// The receiver's estimate in µs after 250 ms of bulk data over 5 ms each way plus up to 4 ms of jitter, into a 4 MB
    /// receive buffer (the window stays open): the reader takes all it can every millisecond, or only 2 KB of it, so
    /// the queue never empties.
    /// </summary>
    private static long RcvRttAfterBulk(bool drains)
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMilliseconds(5),
            Faults = new LinkFaults { Jitter = Duration.FromMilliseconds(4) } });
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5001,
            configureListener: (s, fd) => Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, 2 << 20)));
        var chunk = new byte[65536];
        var buf = new byte[65536];
        for (int ms = 0; ms < 250; ms++)
        {
            while (tcp.A.Write(tcp.Client, chunk) > 0) { }
            if (drains) while (tcp.B.Read(tcp.Server, buf) > 0) { }
            else tcp.B.Read(tcp.Server, buf.AsSpan(0, 2048));
            net.RunForMs(1);
        }
        Assert.True(drains || tcp.ServerSock.ReadableBytes > 0, "the slow reader's queue emptied");
        long rtt = tcp.ServerSock.RcvRttUs8 >> 3;
        tcp.Close();
        return rtt;
    }

    [Fact]
    public void A_receiver_slow_to_read_keeps_its_smallest_sample()
    {
        long slow = RcvRttAfterBulk(drains: false);
        long draining = RcvRttAfterBulk(drains: true);
        // Every timestamp sample is a whole number of milliseconds (TCP_TS_HZ = 1000): an estimate that never averaged
        // one in is itself a sample, the smallest the path gave (10 ms of propagation, up to 4 more of jitter).
        Assert.Equal(0, slow % 1000);
        Assert.InRange(slow, 10_000, 11_000);
        // The draining reader's queue is empty as segments arrive: the larger samples are averaged in.
        Assert.True(draining > slow + 1000, $"draining reader's estimate {draining} µs, slow reader's {slow} µs");
    }
}
