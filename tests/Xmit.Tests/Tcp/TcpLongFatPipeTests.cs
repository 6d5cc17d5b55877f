using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.Tcp;

/// <summary>
/// A long fat pipe — 1 Gbit/s, 10 ms each way, a bandwidth-delay product of 2.5 MB: only autotuning lets a
/// connection that starts with a 64 KiB window and a 46 kB send buffer fill it (a fixed 64 KiB window would
/// cap it at ~26 Mbit/s).
/// </summary>
public class TcpLongFatPipeTests
{
    [Fact]
    public void Hundred_megabytes_over_a_gigabit_with_ten_ms_each_way_run_at_the_link_rate_after_slow_start()
    {
        const long rate = 1_000_000_000;
        const int total = 100_000_000;
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = rate, Propagation = Duration.FromMilliseconds(10) }, trackAllocations: false);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        var (sa, sb, client, server) = (tcp.A, tcp.B, tcp.Client, tcp.Server);
        var a = tcp.ClientSock;
        var b = tcp.ServerSock;

        var chunk = new byte[65536];
        var buf = new byte[65536];
        long sent = 0, received = 0;
        var start = net.Sim.Now;
        Instant? halfway = null;
        var deadline = start + Duration.FromSeconds(30);
        while (received < total && net.Sim.Now < deadline)
        {
            if (sent < total)
            {
                int n = sa.Write(client, chunk.AsSpan(0, (int)Math.Min(chunk.Length, total - sent)));
                if (n > 0) sent += n;
            }
            int r = sb.Read(server, buf);
            if (r > 0)
            {
                received += r;
                if (halfway is null && received >= total / 2) halfway = net.Sim.Now;
            }
            else net.RunFor(Duration.FromMicroseconds(100));
        }
        Assert.Equal(total, received);
        // The second half of the transfer is well past slow start: its goodput against the link's rate.
        double seconds = (net.Sim.Now - halfway!.Value).TotalSeconds;
        double goodput = (total - total / 2) * 8 / seconds;
        // Each 1448-byte payload costs 1448 + 12 (timestamp option) + 20 + 20 + 14 + 24 (Ethernet framing) bytes on the wire.
        double wireShare = goodput / rate * (1448.0 + 12 + 20 + 20 + 14 + 24) / 1448;
        Assert.True(wireShare >= 0.90, $"the second half ran at {goodput / 1e6:F0} Mbit/s of payload, {wireShare:P1} of the link; "
            + $"cwnd {a.SndCwnd} sndbuf {a.SndBuf} snd_wnd {a.SndWnd}, receiver rcvbuf {b.RcvBuf} clamp {b.WindowClamp} rcv_ssthresh {b.RcvSsthresh}");
        Assert.True(b.RcvBuf > 2 * 2_500_000, $"rcvbuf {b.RcvBuf}: the receive buffer grew to hold the bandwidth-delay product");
        tcp.Close();
    }
}
