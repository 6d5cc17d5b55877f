using System.Globalization;

namespace Xmit.Cli;

/// <summary>The per-layer report of `xmit sim`, for a person reading a terminal.</summary>
public static class TextReport
{
    public static void Write(UdpFloodReport r, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        string F(FormattableString s) => s.ToString(inv);
        var s = r.Socket;
        o.WriteLine("xmit sim — the story of an EAGAIN");
        o.WriteLine("  " + r.Scenario);
        o.WriteLine();
        if (r.FirstEagain is { } e)
        {
            o.WriteLine(F($"why the first EAGAIN (at {e.AtMs:0.###} ms):"));
            o.WriteLine("  " + e.Text);
        }
        else if (r.Blocking is { } blk) o.WriteLine(blk.Text);
        else if (r.Ledger.Where(x => x.Dropped > 0).ToList() is { Count: > 0 } dropping)
            o.WriteLine($"no EAGAIN: the send buffer never stayed full — every drop returned its datagram's charge at once ({string.Join("; ", dropping.Select(x => $"{x.Layer} dropped {x.Dropped}"))}; see below)");
        else o.WriteLine("no EAGAIN: the send buffer never filled (the link kept up, or the sender was slow)");
        if (r.FirstEpollout is { } w)
        {
            o.WriteLine("and then:");
            o.WriteLine("  " + w.Text);
        }
        o.WriteLine();
        o.WriteLine("socket (A)");
        o.WriteLine(F($"  datagrams sent {s.DatagramsSent}, delivered to B {s.DatagramsDelivered}, EAGAIN {s.Eagain}, EPOLLOUT wake-ups {s.EpollOutWakeups}"));
        foreach (var (k, v) in s.OtherErrors) o.WriteLine(F($"  {k}: {v}"));
        o.WriteLine(F($"  sndbuf {s.SndBuf}, wmem_alloc high-water {s.WmemHighWater}, truesize per datagram {s.TruesizePerDatagram}"));
        o.WriteLine("where the charged bytes sat (time average / peak)");
        var b = r.BytesSat;
        o.WriteLine(F($"  wmem_alloc {b.WmemAvgBytes,10:0} / {s.WmemHighWater} bytes"));
        o.WriteLine(F($"  qdisc      {b.QdiscAvgBytes,10:0} / {b.QdiscMaxBytes} bytes"));
        o.WriteLine(F($"  ring       {b.RingAvgBytes,10:0} / {b.RingMaxBytes} bytes  (of which sent, awaiting TX completion: {b.AwaitingCompletionAvgBytes:0} avg)"));
        var q = r.Qdisc;
        o.WriteLine("qdisc");
        o.WriteLine("  " + q.Description);
        o.WriteLine(F($"  peak backlog {q.BacklogMaxBytes} bytes / {q.QLenMax} packets"));
        if (r.TcQdiscShow.Count > 3) // several qdiscs (mq): show each TX queue's as tc does
            foreach (var line in r.TcQdiscShow) o.WriteLine("    " + line);
        var d = r.Device;
        o.WriteLine(F($"device {d.Name} (ring {d.RingSize})"));
        o.WriteLine(F($"  tx {d.TxPackets} packets {d.TxBytes} bytes; queue stops {d.QueueStops} wakes {d.QueueWakes}; BQL stops {d.BqlStops}, limit {d.BqlLimit} bytes; TX interrupts {d.TxInterrupts}"));
        o.WriteLine(F($"  doorbells {d.Doorbells} for {d.DoorbellPackets} packets: {d.PacketsPerDoorbell:0.##} per doorbell, at most {d.MaxPacketsPerDoorbell} ({d.MaxBytesPerDoorbell} bytes; bulk dequeue within BQL's limit, xmit_more on all but the last)"));
        var rx = r.Receiver;
        o.WriteLine(F($"device {rx.Name} of B (rx ring {rx.RxRingSize}, rx-usecs {rx.RxUsecs:0.###}, rx-frames {rx.RxFrames}, NAPI weight {rx.NapiWeight}; NET_RX cost {rx.RxCostUs:0.###} µs per packet)"));
        o.WriteLine(F($"  rx {rx.RxPackets} packets {rx.RxBytes} bytes; missed {rx.RxMissedErrors} (rx_missed_errors: no free RX descriptor, the ring overran), dropped {rx.RxDropped} (rx_dropped), errors {rx.RxErrors}"));
        o.WriteLine(F($"  RX interrupts {rx.RxInterrupts}, NAPI polls {rx.NapiPolls} ({rx.NapiFullPolls} used the whole weight), ring peak {rx.RxRingFilledMax} of {rx.RxRingSize} descriptors in use (filled, or awaiting refill)"));
        o.WriteLine(F($"  softnet_stat: processed {rx.SoftnetProcessed}, dropped {rx.SoftnetDropped} (netdev_max_backlog {rx.NetdevMaxBacklog}), time_squeeze {rx.TimeSqueeze} of {rx.NetRxRounds} NET_RX rounds (netdev_budget {rx.NetdevBudget}, netdev_budget_usecs {rx.NetdevBudgetUsecs})"));
        o.WriteLine($"ip -s link: A {d.Name}");
        o.WriteLine(d.IpSLink);
        o.WriteLine($"ip -s link: B {rx.Name}");
        o.WriteLine(rx.IpSLink);
        var l = r.Link;
        o.WriteLine("link");
        o.WriteLine(F($"  {l.Frames} frames ({l.Lost} lost), utilisation {l.Utilisation * 100:0.#}%, goodput {l.GoodputBitsPerSecond / 1e6:0.##} Mbit/s (payload B read during the {r.DurationMs / 1000:0.#########} s run; {r.DeliveredAfterEnd} more datagrams arrived in the drain after it)"));
        if (l.Faults.Description.Length > 0) o.WriteLine("  faults: " + l.Faults.Description);
        foreach (var dir in l.Directions)
            o.WriteLine(F($"  {dir.Name}: {dir.Frames} frames, {dir.Lost} lost, {dir.Reordered} reordered, {dir.Duplicated} duplicated, {dir.Corrupted} corrupted"));
        if (l.Directions.FirstOrDefault(x => x.Name == "a->b") is { Corrupted: > 0 } ab)
            o.WriteLine(F($"  B's header and checksum checks dropped the {ab.Corrupted} corrupted frames: {ChecksumDrops(r.ReceiverCounters)}"));
        var lat = r.Latency;
        o.WriteLine(F($"one-way latency A→B socket to socket ({lat.Count} datagrams)"));
        o.WriteLine(F($"  min {lat.MinMs:0.###} ms, p50 {lat.P50Ms:0.###} ms, p90 {lat.P90Ms:0.###} ms, p99 {lat.P99Ms:0.###} ms, max {lat.MaxMs:0.###} ms"));
        o.WriteLine("where every datagram went (in = passed on + dropped by reason + still queued)");
        foreach (var layer in r.Ledger) o.WriteLine("  " + layer.Describe());
        o.WriteLine("counters");
        o.WriteLine("  A: " + string.Join(", ", r.SenderCounters.Where(c => Interesting(c.Key)).Select(c => $"{c.Key} {c.Value}")));
        o.WriteLine("  B: " + string.Join(", ", r.ReceiverCounters.Where(c => Interesting(c.Key)).Select(c => $"{c.Key} {c.Value}")));
        o.WriteLine(F($"simulated {r.DurationMs / 1000:0.###} s in {r.WallSeconds:0.###} s of wall time ({r.SimulatedPackets / Math.Max(r.WallSeconds, 1e-9):N0} packets/s, {r.SimulatedEvents} events)"));
    }

    private static bool Interesting(string key) => key.StartsWith("Udp:", StringComparison.Ordinal) ||
        key is "Ip:OutRequests" or "Ip:OutDiscards" or "Ip:FragCreates" or "Ip:FragFails" or "Ip:InReceives" or "Ip:ReasmOKs"
            or "Ip:InHdrErrors" or "Ip:InCsumErrors" or "Ip:InTruncatedPkts" or "Ip:ReasmFails";

    /// <summary>The receive-side counters a flipped bit ends up in (IP header checksum, UDP checksum or length), zeros included.</summary>
    public static readonly string[] ChecksumCounters = ["Ip:InHdrErrors", "Ip:InCsumErrors", "Udp:InCsumErrors", "Udp:InErrors"];

    public static string ChecksumDrops(IReadOnlyDictionary<string, long> counters) =>
        string.Join(", ", ChecksumCounters.Select(k => $"{k} {counters.GetValueOrDefault(k)}"));
}
