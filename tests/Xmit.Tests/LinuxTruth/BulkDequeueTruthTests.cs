using System.Text.RegularExpressions;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Link.Qdiscs;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// Bulk dequeue against Linux 6.18, measured by scripts/linux-bulk-dequeue.sh (linux-truth/bulk-dequeue.txt): the
/// qdisc:qdisc_dequeue tracepoint's packets for a backlogged root pfifo on a veth, which reports nothing to BQL.
/// With one TX queue (TCQ_F_ONETXQUEUE) every dequeue took one packet: the byte budget is dql_avail, 0 without BQL.
/// (With four queues the shared root bulked up to 9 through try_bulk_dequeue_skb_slow; Xmit gives every queue its
/// own qdisc, so that path is not modelled.)
/// </summary>
public partial class BulkDequeueTruthTests
{
    [GeneratedRegex(@"^txqueues=(\d+) packets=(\d+) dequeues=(\d+)$", RegexOptions.Multiline)]
    private static partial Regex Line();

    [Fact]
    public void A_single_queue_device_without_bql_dequeues_one_packet_at_a_time_as_measured()
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "bulk-dequeue.txt"));
        var single = Line().Matches(text).Where(m => m.Groups[1].Value == "1").ToList();
        Assert.NotEmpty(single);
        Assert.All(single, m => Assert.Equal("1", m.Groups[2].Value));
        Assert.Contains(Line().Matches(text), m => m.Groups[1].Value == "4" && int.Parse(m.Groups[2].Value) > 1); // the measurement could see bulks

        // Xmit: a backlog of 200 on a single-queue ring device without BQL leaves one packet per dequeue, one doorbell each.
        using var rig = new LinkRig(new RingDriverConfig { Bql = false });
        rig.Device.SetRootQdisc(FifoQdisc.Packets(10_000));
        for (int i = 0; i < 200; i++) rig.Txq.Qdisc.Enqueue(rig.Frame(106));
        QdiscRunner.Run(rig.Txq.Qdisc);
        rig.Run(Duration.FromMilliseconds(10));
        Assert.Equal(200, rig.Port.Sent.Count);
        Assert.Equal(200, rig.Driver.Doorbells);
        Assert.Equal(1, rig.Driver.MaxPacketsPerDoorbell);
    }
}
