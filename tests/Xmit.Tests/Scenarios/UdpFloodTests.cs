using Xmit.Cli;
using Xmit.Link.Qdiscs;
using Xmit.Simulation;
using Xmit.Time;

namespace Xmit.Tests.Scenarios;

public class UdpFloodTests
{
    private static UdpFloodReport Run(UdpFloodConfig c) => new UdpFlood(c).Run();

    [Fact]
    public void Default_story_explains_the_first_eagain_by_where_the_datagrams_are()
    {
        var r = Run(new UdpFloodConfig { Duration = Duration.FromMilliseconds(200) });
        var e = r.FirstEagain!;
        Assert.True(e.WmemAlloc >= e.SndBuf);
        Assert.Equal(212992, e.SndBuf);
        Assert.Equal(2304, e.Truesize);
        Assert.Equal(e.WmemAlloc, (long)e.Datagrams * e.Truesize);
        Assert.Equal(e.Datagrams, e.InQdisc + e.OnRing + e.AwaitingCompletion); // every charged byte is somewhere below the socket
        Assert.True(e.InQdisc > e.OnRing, "at 100 Mbit/s the datagrams pile up in the qdisc");
        Assert.Contains($"wmem_alloc {e.WmemAlloc} ≥ sndbuf 212992", e.Text);
        Assert.Equal(r.Socket.Eagain, r.Socket.EpollOutWakeups);
        Assert.Equal(r.Socket.DatagramsSent, r.Socket.DatagramsDelivered);
        Assert.InRange(r.Link.Utilisation, 0.99, 1.0);
        Assert.Equal(0, r.LeakedSkbs);
        Assert.Equal(0, r.FinalWmemAlloc);
        // Each EAGAIN is counted by Linux as a refused send: SndbufErrors and OutDiscards.
        Assert.Equal(r.Socket.Eagain, r.SenderCounters["Udp:SndbufErrors"]);
        Assert.Equal(r.Socket.Eagain, r.SenderCounters["Ip:OutDiscards"]);
    }

    /// <summary>
    /// The acceptance scenario: a tbf holds the packets, so EAGAIN is caused by datagrams sitting in
    /// the qdisc (none in any socket queue), and EPOLLOUT comes when half the send buffer drained — after
    /// the frames that had to leave, at the tbf rate: frames × frame bytes × 8 / rate.
    /// </summary>
    [Fact]
    public void With_a_tbf_eagain_comes_from_the_qdisc_and_epollout_after_half_drained_at_the_rate()
    {
        var r = Run(new UdpFloodConfig
        {
            Qdisc = new QdiscSpec("tbf", Tbf: new TbfConfig(1_000_000, 1540, 10_000_000)),
            Duration = Duration.FromSeconds(2),
        });
        var e = r.FirstEagain!;
        Assert.Equal(e.Datagrams, e.InQdisc);
        Assert.Equal(0, e.OnRing + e.AwaitingCompletion);
        Assert.Equal(214272, e.WmemAlloc); // linux-truth: wmem at EAGAIN, default sndbuf, 1400-1472 payload → 93 × 2304
        var w = r.FirstEpollout!;
        Assert.Equal(105984, w.WmemAlloc); // 46 × 2304 < 106496
        Assert.Equal(47, w.FramesLeft);
        double frameMs = 1514 * 8 / 1000.0; // a 1514-byte frame at 1 Mbit/s
        Assert.Equal(47 * frameMs, w.ExpectedMs, 3);
        Assert.InRange(w.AfterEagainMs, 46 * frameMs, 47 * frameMs); // less the part of a frame already through
        Assert.Equal(0, r.LeakedSkbs);
    }

    [Fact]
    public void Same_seed_same_report_and_loss_changes_with_the_seed()
    {
        var c = new UdpFloodConfig { Duration = Duration.FromMilliseconds(100), LossRate = 0.05 };
        var a = Run(c);
        var b = Run(c);
        string Json(UdpFloodReport r) => System.Text.Json.JsonSerializer.Serialize(r with { WallSeconds = 0 });
        Assert.Equal(Json(a), Json(b)); // everything but the wall time
        Assert.Equal(a.Link.Lost, b.Link.Lost);
        Assert.NotEqual(a.Link.Lost, Run(c with { Seed = 2 }).Link.Lost);
        Assert.True(a.Socket.DatagramsDelivered < a.Socket.DatagramsSent);
    }

    [Fact]
    public void Blocking_sends_never_see_eagain_and_cork_joins_sends()
    {
        var blocking = Run(new UdpFloodConfig { Duration = Duration.FromMilliseconds(50), Blocking = true });
        Assert.Equal(0, blocking.Socket.Eagain);
        Assert.True(blocking.Socket.DatagramsSent > 300);
        Assert.InRange(blocking.Link.Utilisation, 0.95, 1.0);

        var corked = Run(new UdpFloodConfig { Duration = Duration.FromMilliseconds(50), Payload = 400, Cork = 3 });
        Assert.Equal(1200L * corked.Socket.DatagramsDelivered, corked.Socket.DatagramsDelivered * 1200L);
        Assert.Equal(corked.Socket.DatagramsSent, corked.ReceiverCounters["Udp:InDatagrams"]);
        Assert.Equal(2304, corked.Socket.TruesizePerDatagram);
    }

    [Fact]
    public void Ten_seconds_of_a_saturated_link_keep_the_link_full_and_report_their_own_pace()
    {
        // The pace itself is measured, not asserted (xmit sim prints it; see the closing notes): a timed
        // assertion would only test the machine.
        var r = Run(new UdpFloodConfig { Duration = Duration.FromSeconds(10), Samples = 100 });
        Assert.True(r.Socket.DatagramsDelivered > 80_000, $"{r.Socket.DatagramsDelivered} delivered");
        Assert.InRange(r.Link.Utilisation, 0.99, 1.0);
        Assert.True(r.WallSeconds > 0 && r.SimulatedEvents > 0);
    }

    [Fact]
    public void Invalid_configurations_are_refused_with_a_reason()
    {
        Assert.Contains("payload", new UdpFloodConfig { Payload = 70000 }.Validate());
        Assert.Contains("unknown qdisc", new UdpFloodConfig { Qdisc = new QdiscSpec("fq_codel") }.Validate());
        Assert.Contains("cork", new UdpFloodConfig { Cork = 50, Payload = 2000 }.Validate());
        Assert.Contains("tbf", new UdpFloodConfig { Qdisc = new QdiscSpec("tbf") }.Validate());
        Assert.Null(new UdpFloodConfig().Validate());
    }
}
