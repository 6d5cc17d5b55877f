using Xmit.Buffers;
using Xmit.Link;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// Autocorking: with TCP_NODELAY, a small write made while the previous segment is still below TCP (in the
/// qdisc or the driver ring) is held (tcp_should_autocork) and leaves when that segment's TX completion frees
/// its memory — tcp_wfree schedules the push (tcp_tsq_handler) — not a round trip later when the ACK comes.
/// </summary>
public class TcpAutocorkTests
{
    private sealed class Departures : IPacketTap
    {
        public readonly List<(Instant At, int Payload)> Data = [];
        private readonly Simulation.Simulation _sim;
        public Departures(Simulation.Simulation sim) => _sim = sim;

        public void OnPacket(NetDevice device, SkBuff skb, bool outgoing)
        {
            if (!outgoing || !EthernetFrame.TryCreate(skb.Data, out var eth) || !Ipv4Packet.TryCreate(eth.Payload, out var ip)
                || ip.Protocol != IpProtocol.Tcp || !TcpSegment.TryCreate(ip.Payload, out var seg) || seg.Payload.Length == 0) return;
            Data.Add((_sim.Now, seg.Payload.Length));
        }
    }

    [Fact]
    public void A_small_write_behind_a_segment_in_the_ring_leaves_at_that_segments_tx_completion()
    {
        var link = new LinkConfig { RateBitsPerSecond = 1_000_000, Propagation = Duration.FromMilliseconds(50) };
        using var net = new TwoHosts(link);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB,
            configureClient: (s, fd) => Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY, 1)));
        net.RunForMs(300); // the handshake's ACK is long delivered
        var departures = new Departures(net.Sim);
        net.DevA.AddTap(departures);

        var start = net.Sim.Now;
        Assert.Equal(1000, tcp.A.Write(tcp.Client, new byte[1000]));
        Assert.Equal(100, tcp.A.Write(tcp.Client, new byte[100]));
        long corked = net.A.Tcp.Mib.AutoCorking;
        net.RunForMs(300);

        Assert.Equal(1, corked);
        Assert.Equal(2, departures.Data.Count);
        Assert.Equal(1000, departures.Data[0].Payload);
        Assert.Equal(100, departures.Data[1].Payload);
        // The first segment's 1090 bytes take 8.9 ms at 1 Mbit/s (with Ethernet's framing); the second goes
        // when the driver completes it, long before the ACK could come back (100 ms).
        var first = link.SerializationTime(14 + 20 + 32 + 1000);
        var second = departures.Data[1].At - start;
        Assert.True(second >= first && second <= first + Duration.FromMilliseconds(2), $"the 100 bytes left at {second}, the 1000-byte segment took {first} on the wire");
        tcp.Close();
    }
}
