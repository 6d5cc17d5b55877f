using Xmit.Cli;
using Xmit.Link.Qdiscs;
using Xmit.Simulation;
using Xmit.Time;

namespace Xmit.Tests.Scenarios;

/// <summary>
/// Every datagram of `xmit sim` accounted for, per layer: in = passed on + Σ drops by reason + still queued, and each
/// layer's drops under Linux's reason names (issue 11 item 4).
/// </summary>
public class UdpFloodLedgerTests
{
    public static TheoryData<string> Scenarios() => new(Cases.Keys);

    private static readonly Dictionary<string, UdpFloodConfig> Cases = new()
    {
        ["pfifo_fast"] = new() { Duration = Duration.FromMilliseconds(200) },
        ["pfifo limit 0"] = new() { Duration = Duration.FromMilliseconds(200), Qdisc = new QdiscSpec("pfifo", Limit: 0) },
        ["pfifo limit 5, fast link, slow ring"] = new() { Duration = Duration.FromMilliseconds(100), Qdisc = new QdiscSpec("pfifo", Limit: 5), SndBuf = 1 << 20 },
        ["tbf 1mbit"] = new() { Duration = Duration.FromMilliseconds(300), Qdisc = new QdiscSpec("tbf", Tbf: new TbfConfig(1_000_000, 1540, 10_000_000)) },
        ["tbf small limit"] = new() { Duration = Duration.FromMilliseconds(200), Qdisc = new QdiscSpec("tbf", Tbf: new TbfConfig(10_000_000, 1540, 5000)) },
        ["loss 5%"] = new() { Duration = Duration.FromMilliseconds(200), LossRate = 0.05 },
        ["corruption and duplication"] = new() { Duration = Duration.FromMilliseconds(200), Faults = new LinkFaults { CorruptRate = 0.05, DuplicateRate = 0.05 } },
        ["unresolvable neighbour (all lost)"] = new() { Duration = Duration.FromSeconds(4), LossRate = 1.0, SyscallCost = Duration.FromMicroseconds(100) },
        ["fragments"] = new() { Duration = Duration.FromMilliseconds(200), Payload = 4000 },
        ["fragments with loss"] = new() { Duration = Duration.FromMilliseconds(200), Payload = 4000, LossRate = 0.05 },
        ["MTU 65535"] = new() { Duration = Duration.FromMilliseconds(200), Mtu = 65535, Payload = 65507 },
        ["cork 3"] = new() { Duration = Duration.FromMilliseconds(200), Cork = 3 },
        ["blocking"] = new() { Duration = Duration.FromMilliseconds(200), Blocking = true },
    };

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Every_layer_balances(string scenario)
    {
        var r = new UdpFlood(Cases[scenario]).Run();
        Assert.Equal(8, r.Ledger.Count);
        foreach (var layer in r.Ledger) Assert.True(layer.Balanced, $"{scenario}: {layer.Describe()}");
        // Each layer hands on what the next takes in.
        for (int i = 0; i + 1 < r.Ledger.Count; i++)
            if (r.Ledger[i].Unit == r.Ledger[i + 1].Unit && !r.Ledger[i].Layer.StartsWith("neighbour", StringComparison.Ordinal))
                Assert.True(r.Ledger[i].Out == r.Ledger[i + 1].In, $"{scenario}: {r.Ledger[i].Describe()} / {r.Ledger[i + 1].Describe()}");
        Assert.Equal(0, r.LeakedSkbs);
        Assert.DoesNotContain(r.Ledger, l => l.Drops.ContainsKey("NOT_SPECIFIED"));
    }

    [Fact]
    public void Pfifo_limit_0_shows_the_datagrams_in_the_arp_queue_and_its_drops()
    {
        // The qdisc drops the ARP request itself, so the neighbour never resolves: datagrams wait in its queue,
        // the oldest dropped as each new one comes (issue 11: "their drops appear nowhere").
        var r = new UdpFlood(Cases["pfifo limit 0"]).Run();
        var neigh = r.Ledger.Single(l => l.Layer.StartsWith("neighbour", StringComparison.Ordinal));
        Assert.Equal(r.Socket.DatagramsSent, neigh.In);
        Assert.Equal(0, r.Socket.DatagramsDelivered);
        Assert.True(neigh.Drops["NEIGH_QUEUEFULL"] > 0);
        Assert.InRange(neigh.Queued, 1, 92); // unres_qlen_bytes 212992 / 2304
        var text = new StringWriter();
        TextReport.Write(r, text);
        Assert.Contains("NEIGH_QUEUEFULL", text.ToString());
        Assert.DoesNotContain("the send buffer never filled", text.ToString());
    }

    [Fact]
    public void The_html_page_has_the_books_per_layer_and_each_layers_drops_by_reason()
    {
        var r = new UdpFlood(Cases["pfifo limit 0"]).Run();
        var html = HtmlReport.Render(r);
        Assert.Contains("<h2>Where every datagram went</h2><table class=\"ledger\">", html, StringComparison.Ordinal);
        foreach (var layer in r.Ledger)
        {
            Assert.Contains($"<tr><th>{System.Net.WebUtility.HtmlEncode(layer.Layer)}</th><td>{layer.Unit}</td><td class=\"n\">{layer.In}</td><td class=\"n\">{layer.Out}</td>" +
                $"<td class=\"n\">{layer.Dropped}</td><td class=\"n\">{layer.Queued}</td><td>balance</td></tr>", html, StringComparison.Ordinal);
            foreach (var (reason, n) in layer.Drops.Where(d => d.Value != 0))
                Assert.Contains($"<tr><td>{System.Net.WebUtility.HtmlEncode(reason)}</td><td class=\"n\">{n}</td></tr>", html, StringComparison.Ordinal);
        }
        var neigh = r.Ledger.Single(l => l.Layer.StartsWith("neighbour", StringComparison.Ordinal));
        Assert.Contains($"<h3>{neigh.Layer}: drops by reason</h3>", html, StringComparison.Ordinal);
        Assert.Contains("NEIGH_QUEUEFULL", html, StringComparison.Ordinal);
        // Well-formed enough for a browser: every table closed.
        Assert.Equal(System.Text.RegularExpressions.Regex.Count(html, "<table"), System.Text.RegularExpressions.Regex.Count(html, "</table>"));
    }

    [Fact]
    public void Unresolvable_neighbour_fails_and_drops_its_queue()
    {
        var r = new UdpFlood(Cases["unresolvable neighbour (all lost)"]).Run();
        var neigh = r.Ledger.Single(l => l.Layer.StartsWith("neighbour", StringComparison.Ordinal));
        Assert.True(neigh.Drops.GetValueOrDefault("NEIGH_FAILED") > 0, neigh.Describe());
    }

    [Fact]
    public void Goodput_counts_only_what_arrived_during_the_run()
    {
        // tbf at 1 Mbit/s: the drain after --duration must not lift goodput over the rate (it said 1.46 Mbit/s).
        var r = new UdpFlood(Cases["tbf 1mbit"] with { Duration = Duration.FromSeconds(1) }).Run();
        Assert.InRange(r.Link.GoodputBitsPerSecond, 0.9e6, 1.0e6);
        Assert.True(r.DeliveredAfterEnd > 0);
        // 1 ns: nothing can have arrived (it said 11,776,000 Mbit/s).
        var tiny = new UdpFlood(new UdpFloodConfig { Duration = Duration.FromNanoseconds(1) }).Run();
        Assert.Equal(0, tiny.Link.GoodputBitsPerSecond);
    }

    [Fact]
    public void Blocking_is_told_as_blocking()
    {
        var r = new UdpFlood(Cases["blocking"]).Run();
        Assert.Null(r.FirstEagain);
        Assert.True(r.Blocking!.BlockedSends > 0);
        Assert.True(r.Socket.WmemHighWater >= r.Socket.SndBuf);
        var text = new StringWriter();
        TextReport.Write(r, text);
        Assert.Contains("slept in sock_alloc_send_skb", text.ToString());
        Assert.DoesNotContain("never filled", text.ToString());
    }

    [Theory]
    [InlineData("fragments", 3)]
    [InlineData("MTU 65535", 1)]
    public void First_eagain_counts_datagrams_and_frames(string scenario, int framesPerDatagram)
    {
        var r = new UdpFlood(Cases[scenario]).Run();
        var e = r.FirstEagain!;
        Assert.Equal(framesPerDatagram, e.FramesPerDatagram);
        // The datagrams charged are the frames they became, wherever those frames were.
        Assert.Equal(e.Datagrams * framesPerDatagram, e.InQdisc + e.OnRing + e.AwaitingCompletion + e.InNeighbourQueue);
        Assert.Equal(e.WmemAlloc, (long)e.Datagrams * e.Truesize);
    }
}
