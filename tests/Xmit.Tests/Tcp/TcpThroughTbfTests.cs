using Xmit.Link.Qdiscs;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Tcp;

/// <summary>
/// Bulk TCP from A to B over a veth whose root qdisc is `tbf rate R burst 15140 limit 4000000`: TCP's 64 KB
/// GSO skbs are longer than the bucket, so tbf must cut them into segments at enqueue (tbf_segment) instead of
/// dropping them — which once stalled every such transfer after 46 kB — and the transfer runs at the tbf rate.
/// </summary>
public class TcpThroughTbfTests
{
    [Theory]
    [InlineData(10_000_000L, 2.0)]
    [InlineData(100_000_000L, 1.0)]
    [InlineData(1_000_000_000L, 0.5)]
    public void Bulk_tcp_through_tbf_runs_at_the_tbf_rate_and_nothing_is_dropped_for_its_size(long rate, double seconds)
    {
        using var sim = new Simulation.Simulation(1);
        var a = sim.AddHost("A");
        var b = sim.AddHost("B");
        var link = sim.ConnectVeth(a, TwoHosts.AddrA, b, TwoHosts.AddrB, 24);
        var tbf = new TbfQdisc(sim.Scheduler, new TbfConfig(rate, 15140, 4_000_000));
        link.DeviceA.SetRootQdisc(tbf);
        var tcp = TcpConnection.Open(sim, a, b, TwoHosts.AddrB);
        var (sa, sb, client, server) = (tcp.A, tcp.B, tcp.Client, tcp.Server);

        var chunk = new byte[65536];
        var buf = new byte[65536];
        long received = 0, atHalf = 0;
        var start = sim.Now;
        var half = start + Duration.FromSeconds(seconds / 2);
        var end = start + Duration.FromSeconds(seconds);
        while (sim.Now < end)
        {
            sa.Write(client, chunk);
            int r = sb.Read(server, buf);
            if (r > 0) received += r;
            else sim.RunFor(Duration.FromMicroseconds(50));
            if (atHalf == 0 && sim.Now >= half) atHalf = received;
        }
        // The second half is past slow start. Each 1448-byte payload is a 1514-byte packet to tbf (12 bytes of
        // timestamp option, TCP, IP and Ethernet headers).
        double goodput = (received - atHalf) * 8 / (seconds / 2);
        double share = goodput / rate * 1514 / 1448;
        Assert.True(share > 0.9, $"{goodput / 1e6:F2} Mbit/s of payload through tbf {rate / 1e6} Mbit/s ({share:P1}); received {received}, tbf drops {tbf.Stats.Drops}");
        Assert.Equal(0, tbf.Stats.Drops);
        // The RTT comes from the skbs' send times in microseconds (tcp_ack_update_rtt prefers them to the
        // millisecond timestamp echo): at least what the bytes queued in tbf take to drain, never a few µs.
        var sk = tcp.ClientSock;
        double oneSegmentUs = 1514 * 8 * 1e6 / rate;
        Assert.True(sk.SmoothedRttUs > 4 * oneSegmentUs, $"srtt {sk.SmoothedRttUs} us, one segment takes {oneSegmentUs:F1} us through tbf");
        tcp.Close();
        sim.Shutdown();
    }
}
