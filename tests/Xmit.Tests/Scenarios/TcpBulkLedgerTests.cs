using Xmit.Cli;
using Xmit.Link.Qdiscs;
using Xmit.Simulation;
using Xmit.Time;

namespace Xmit.Tests.Scenarios;

/// <summary>
/// Every segment of `xmit sim tcp` accounted for, per layer of each host and in both directions: in = passed on +
/// Σ drops by reason + still queued, each drop under Linux's skb_drop_reason name and none NOT_SPECIFIED (issue 11).
/// </summary>
public class TcpBulkLedgerTests
{
    public static TheoryData<string> Scenarios() => new(Cases.Keys);

    private static readonly Duration Run = Duration.FromMilliseconds(500);

    private static readonly Dictionary<string, TcpBulkConfig> Cases = new()
    {
        ["clean"] = new() { Duration = Run },
        ["loss 1%"] = new() { Duration = Run, LossRate = 0.01 },
        ["reorder 5%"] = new() { Duration = Run, Faults = new LinkFaults { ReorderRate = 0.05 } },
        ["corrupt 1%"] = new() { Duration = Run, Faults = new LinkFaults { CorruptRate = 0.01 } },
        ["tbf 10mbit"] = new() { Duration = Run, Qdisc = new QdiscSpec("tbf", Tbf: new TbfConfig(10_000_000, 1540, 30_000)) },
        ["pfifo limit 1"] = new() { Duration = Run, Qdisc = new QdiscSpec("pfifo", Limit: 1) },
        ["TSO on"] = new() { Duration = Run, Tso = true },
        ["TSO on, loss 1%"] = new() { Duration = Run, Tso = true, LossRate = 0.01 },
        ["rr"] = new() { Duration = Run, App = TcpApplication.RequestResponse },
        ["stream, cork"] = new() { Duration = Run, App = TcpApplication.Stream, Cork = true, WriteSize = 1000, StreamRateBitsPerSecond = 50_000_000 },
    };

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Every_layer_of_both_hosts_balances(string scenario)
    {
        var r = new TcpBulk(Cases[scenario]).Run();
        Assert.Equal(14, r.Ledger.Count);
        foreach (var layer in r.Ledger) Assert.True(layer.Balanced, $"{scenario}: {layer.Describe()}");
        foreach (var host in new[] { "A", "B" })
        {
            var l = r.Ledger.Where(x => x.Layer.EndsWith($"({host})", StringComparison.Ordinal) || x.Layer.StartsWith($"wire {host}", StringComparison.Ordinal)).ToList();
            Assert.Equal(7, l.Count);
            // Down the transmit path each layer hands on what the next takes in (the qdisc may count tbf's segments).
            Assert.Equal(l[0].Out, l[1].In);
            if (!l[2].Layer.StartsWith("qdisc tbf", StringComparison.Ordinal)) Assert.Equal(l[1].Out, l[2].In);
            Assert.Equal(l[3].Out, l[4].In);
            Assert.Equal(l[5].Out - ArpIn(r, host), l[6].In);
        }
        // What one host's wire delivered is what the other's IP input took in.
        Assert.Equal(r.Ledger.Single(x => x.Layer == "wire A→B").Out, r.Ledger.Single(x => x.Layer == "ip input (B)").In);
        Assert.Equal(r.Ledger.Single(x => x.Layer == "wire B→A").Out, r.Ledger.Single(x => x.Layer == "ip input (A)").In);
        Assert.DoesNotContain(r.Ledger, l => l.Drops.ContainsKey("NOT_SPECIFIED"));
        Assert.Equal(0, r.LeakedSkbs);
    }

    private static long ArpIn(TcpBulkReport r, string host) =>
        r.Ledger.Single(x => x.Layer == $"ip input ({host})").Out - r.Ledger.Single(x => x.Layer == $"tcp input ({host})").In;

    [Fact]
    public void Each_fault_shows_under_its_own_reason_and_counter()
    {
        var loss = new TcpBulk(Cases["loss 1%"]).Run();
        Assert.True(loss.Ledger.Single(x => x.Layer == "wire A→B").Drops["wire loss"] > 0);
        Assert.True(loss.TcpCounters["A"].GetValueOrDefault("RetransSegs") > 0);

        var corrupt = new TcpBulk(Cases["corrupt 1%"]).Run();
        var tcpB = corrupt.Ledger.Single(x => x.Layer == "tcp input (B)");
        Assert.True(tcpB.Drops.GetValueOrDefault("TCP_CSUM") > 0, tcpB.Describe());
        Assert.Equal(corrupt.TcpCounters["B"]["InErrs"], tcpB.Drops["TCP_CSUM"] + tcpB.Drops.GetValueOrDefault("PKT_TOO_SMALL"));

        var pfifo = new TcpBulk(Cases["pfifo limit 1"]).Run();
        Assert.True(pfifo.Ledger.Single(x => x.Layer == "qdisc pfifo (A)").Drops["QDISC_DROP"] > 0);
        // B's ACKs are not charged with A's qdisc drops: each host's pool counts its own.
        Assert.Equal(0, pfifo.Ledger.Single(x => x.Layer == "qdisc pfifo_fast (B)").Dropped);

        var text = new StringWriter();
        TcpTextReport.Write(pfifo, text);
        Assert.Contains("where every segment went", text.ToString(), StringComparison.Ordinal);
        Assert.Contains("QDISC_DROP", text.ToString(), StringComparison.Ordinal);
    }
}
