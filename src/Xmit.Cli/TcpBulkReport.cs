using System.Globalization;
using System.Text.Json.Serialization;

namespace Xmit.Cli;

/// <summary>Everything `xmit sim tcp` reports, in plain numbers (times in milliseconds of virtual time from the accept) so it serialises as is.</summary>
public sealed record TcpBulkReport
{
    public required string Scenario { get; init; }
    public required ulong Seed { get; init; }
    public required double DurationMs { get; init; }
    public required double WallSeconds { get; init; }
    public required long SimulatedEvents { get; init; }
    public required TcpGoodput Goodput { get; init; }
    /// <summary>`--app rr`: transactions, their rate and latency, the bytes each way (absent for the other applications).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TcpRequestResponse? RequestResponse { get; init; }
    /// <summary>`--app stream`: the rate offered, taken and delivered, what waited in the application, and each message's latencies (absent for the other applications).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TcpStream? Stream { get; init; }
    public required TcpWrites Writes { get; init; }
    public TcpEagainExplanation? FirstEagain { get; init; }
    public required TcpBytesAtEnd AtEnd { get; init; }
    public required TcpRetransmissions Retransmissions { get; init; }
    public required string CongestionControl { get; init; }
    /// <summary>A's non-zero TCP and TcpExt counters.</summary>
    public required IReadOnlyDictionary<string, long> SenderCounters { get; init; }
    /// <summary>B's non-zero TCP and TcpExt counters.</summary>
    public required IReadOnlyDictionary<string, long> ReceiverCounters { get; init; }
    public required IReadOnlyList<WireDirection> Wire { get; init; }
    public required string Qdisc { get; init; }
    /// <summary>`tc -s qdisc show dev` A's device at the end: the root and, under mq, each TX queue's child.</summary>
    public required IReadOnlyList<string> TcQdiscShow { get; init; }
    /// <summary>Every 100 ms of the measured interval, and once at its end.</summary>
    public required IReadOnlyList<TcpSample> Samples { get; init; }
    /// <summary>Every millisecond of the first second (or of the whole run if shorter): slow start and the first EAGAIN, for the plots.</summary>
    public IReadOnlyList<TcpDetailSample> DetailSamples { get; init; } = [];
    /// <summary>
    /// The whole run in <see cref="TcpEnvelopeRecorder.Buckets"/> equal buckets, each with the min and max of every plotted
    /// quantity observed at the end of every simulated instant in it: what the whole-run plots draw, one bucket per pixel column.
    /// </summary>
    public TcpRunEnvelope Envelope { get; init; } = new(0, []);
    /// <summary>Every EAGAIN and write-space wake-up (EPOLLOUT) of A's writer, the first 10,000, with wmem_queued at that moment.</summary>
    public IReadOnlyList<TcpSocketEvent> Events { get; init; } = [];
    /// <summary>Where every segment went, per layer of each host (TcpBulkLedger): in = passed on + Σ drops by reason + still queued.</summary>
    public required IReadOnlyList<Hosting.Accounting.LayerBalance> Ledger { get; init; }
    /// <summary>Each host's TCP counters of losses and drops over the interval (non-zero ones).</summary>
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> TcpCounters { get; init; }
    /// <summary>Each host's end of the connection at the end of the interval, as `ss -tmin` on that host prints it (SsView).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Ss { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
    /// <summary>Each host's non-zero counters at the end of the interval, as `nstat -a` prints them (NstatView).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Nstat { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
    /// <summary>skbs still rented from either host's pool once the network was shut down (0 unless there is a bug).</summary>
    public long LeakedSkbs { get; init; }
}

/// <summary>
/// Bytes B's application read from <see cref="IntervalStartMs"/> (the accept) to <see cref="IntervalEndMs"/>, as a rate, against
/// the payload capacity of the bottleneck (<see cref="Limit"/>: "the wire" or "tbf") for segments of <see cref="Mss"/>.
/// </summary>
public sealed record TcpGoodput(double IntervalStartMs, double IntervalEndMs, long BytesReceived, double BitsPerSecond,
    double CapacityBitsPerSecond, string Limit, long LimitRateBitsPerSecond, int Mss, int FrameBytes, double Utilisation);

/// <summary>
/// `--app rr` over the interval: <see cref="Transactions"/> completed (a response read whole by A); B read
/// <see cref="RequestBytesRead"/> bytes of requests (the completed ones and at most one more), wrote
/// <see cref="ResponseBytesWritten"/> of responses and A read <see cref="ResponseBytesRead"/> of them;
/// <see cref="ResponderEagain"/>: B's writes refused for a full send buffer. Latency: request's first write → response's last read.
/// </summary>
public sealed record TcpRequestResponse(int RequestBytes, int ResponseBytes, long Transactions, double TransactionsPerSecond,
    long RequestBytesRead, long ResponseBytesWritten, long ResponseBytesRead, long ResponderEagain, TcpLatency Latency);

/// <summary>
/// `--app stream` over the interval: <see cref="Messages"/> writes of <see cref="WriteSize"/> bytes fell due, one every
/// <see cref="IntervalUs"/> (<see cref="BytesOffered"/> = Messages × WriteSize); the socket took <see cref="BytesWritten"/>,
/// B read <see cref="BytesRead"/>; <see cref="AppBacklog"/> = offered − written waited in the application at the end
/// (<see cref="AppBacklogMax"/> at worst, right after a message fell due). WriteLatency: due → taken whole by the socket;
/// DeliveryLatency: due → read whole by B (messages B had not read whole by the end are not in it).
/// </summary>
public sealed record TcpStream(long RateBitsPerSecond, int WriteSize, double IntervalUs, long Messages, long BytesOffered, double OfferedBitsPerSecond,
    long BytesWritten, double WrittenBitsPerSecond, long BytesRead, double ReadBitsPerSecond, long AppBacklog, long AppBacklogMax,
    TcpLatency WriteLatency, TcpLatency DeliveryLatency);

/// <summary>A latency distribution in microseconds of virtual time (nearest-rank percentiles); all 0 when <see cref="Count"/> is 0.</summary>
public sealed record TcpLatency(long Count, double MinUs, double MeanUs, double P50Us, double P90Us, double P99Us, double MaxUs)
{
    public static TcpLatency Of(List<long> nanoseconds)
    {
        if (nanoseconds.Count == 0) return new(0, 0, 0, 0, 0, 0, 0);
        var v = nanoseconds.ToArray();
        Array.Sort(v);
        double P(double p) => v[Math.Clamp((int)Math.Ceiling(p * v.Length) - 1, 0, v.Length - 1)] / 1000.0;
        return new(v.Length, v[0] / 1000.0, v.Average() / 1000.0, P(0.5), P(0.9), P(0.99), v[^1] / 1000.0);
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"min {MinUs:0.#} µs, mean {MeanUs:0.#}, p50 {P50Us:0.#}, p90 {P90Us:0.#}, p99 {P99Us:0.#}, max {MaxUs:0.#} ({Count} samples)");
}

public sealed record TcpWrites(int WriteSize, long Calls, long BytesWritten, long Eagain, long WriteSpaceWakeups, IReadOnlyDictionary<string, long> OtherErrors);

public sealed record TcpEagainExplanation(double AtMs, long WmemQueued, int SndBuf, int NotSent, int InFlight, uint Cwnd, uint SndWnd, string Text);

/// <summary>
/// Where the bytes sat at the end of the interval: written but not sent (SIOCOUTQNSD), sent and unacknowledged, charged below TCP
/// (sk_wmem_alloc: qdisc, driver, wire), the qdisc's backlog, and B's receive queue not yet read.
/// </summary>
public sealed record TcpBytesAtEnd(int NotSent, int InFlight, long WmemAlloc, long QdiscBacklog, int ReceiverQueue, long WmemQueued, int SndBuf);

/// <summary>A's retransmission counters, and CwrEntered: the times A entered CWR (an ECE, or the qdisc's congestion answer) — cwnd cut without a retransmission.</summary>
public sealed record TcpRetransmissions(long RetransSegs, long FastRetrans, long Timeouts, long LossProbes, long CwrEntered = 0);

/// <summary>
/// One point of the time series; <see cref="Ssthresh"/> is −1 while it is still infinite. <see cref="InFlight"/> is bytes
/// (snd_nxt − snd_una), <see cref="PacketsInFlight"/> is tcp_packets_in_flight() (what cwnd limits), and <see cref="TsqLimit"/>
/// is tcp_small_queue_check()'s limit on <see cref="WmemAlloc"/> at that moment.
/// </summary>
public sealed record TcpSample(double AtMs, uint Cwnd, long Ssthresh, long SrttUs, int SndBuf, long WmemQueued, long WmemAlloc, uint SndWnd,
    int ReceiverRcvBuf, long QdiscBacklog, int NotSent, int InFlight, long BytesReceived, uint PacketsInFlight, long TsqLimit);

/// <summary>An EAGAIN or an EPOLLOUT (the write-space wake-up) of A's writer: wmem_queued at the send buffer's peaks and troughs.</summary>
public sealed record TcpSocketEvent(double AtMs, string Kind, long WmemQueued);

/// <summary>A point of the fine series: only what the plots draw, so a thousand of them stay small in JSON (about 150 bytes each).</summary>
public sealed record TcpDetailSample(double AtMs, uint Cwnd, uint PacketsInFlight, long SrttUs, int SndBuf, long WmemQueued, long WmemAlloc,
    long TsqLimit, long QdiscBacklog);

/// <summary>The report of `xmit sim tcp`, for a person reading a terminal.</summary>
public static class TcpTextReport
{
    /// <summary>The report's title: what A's application was.</summary>
    public static string Title(TcpBulkReport r) =>
        r.RequestResponse is not null ? "xmit sim tcp — request/response over TCP" : r.Stream is not null ? "xmit sim tcp — a fixed-rate TCP stream" : "xmit sim tcp — a bulk TCP transfer";

    /// <summary>rr's and stream's own results, first line the headline, the others indented; none for bulk.</summary>
    public static IReadOnlyList<string> ApplicationLines(TcpBulkReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        string F(FormattableString s) => s.ToString(inv);
        var g = r.Goodput;
        if (r.RequestResponse is { } rr)
            return
            [
                F($"request/response: {rr.Transactions} transactions in {g.IntervalEndMs - g.IntervalStartMs:0.###} ms, {rr.TransactionsPerSecond:0.#} per second ({rr.RequestBytes}-byte requests, {rr.ResponseBytes}-byte responses)"),
                "  latency, request's first write to response's last read: " + rr.Latency.Describe(),
                F($"  B read {rr.RequestBytesRead} bytes of requests, wrote {rr.ResponseBytesWritten} bytes of responses (EAGAIN {rr.ResponderEagain}); A read {rr.ResponseBytesRead}"),
            ];
        if (r.Stream is { } st)
            return
            [
                F($"stream: {st.Messages} writes of {st.WriteSize} bytes fell due, one every {st.IntervalUs:0.###} µs: {st.BytesOffered} bytes, {st.OfferedBitsPerSecond / 1e6:0.###} Mbit/s offered"),
                F($"  the socket took {st.BytesWritten} bytes ({st.WrittenBitsPerSecond / 1e6:0.###} Mbit/s), B read {st.BytesRead} ({st.ReadBitsPerSecond / 1e6:0.###} Mbit/s); {st.AppBacklog} bytes still waited in the application at the end (at most {st.AppBacklogMax})"),
                "  write latency, due to taken by the socket: " + st.WriteLatency.Describe(),
                "  delivery latency, due to read by B: " + st.DeliveryLatency.Describe(),
            ];
        return [];
    }

    public static void Write(TcpBulkReport r, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        string F(FormattableString s) => s.ToString(inv);
        var g = r.Goodput;
        o.WriteLine(Title(r));
        o.WriteLine("  " + r.Scenario);
        o.WriteLine();
        var app = ApplicationLines(r);
        foreach (var line in app) o.WriteLine(line);
        if (app.Count > 0) o.WriteLine();
        o.WriteLine(F($"goodput {g.BitsPerSecond / 1e6:0.###} Mbit/s: {g.BytesReceived} bytes read by B from {g.IntervalStartMs:0.###} ms (accept) to {g.IntervalEndMs:0.###} ms"));
        o.WriteLine(F($"  path capacity {g.CapacityBitsPerSecond / 1e6:0.###} Mbit/s of payload ({g.Limit} at {Link.Qdiscs.TcUnits.FormatRate(g.LimitRateBitsPerSecond)}/s, {g.Mss}-byte segments in {g.FrameBytes}-byte frames): {g.Utilisation * 100:0.#}% of it"));
        o.WriteLine();
        if (r.FirstEagain is { } e)
        {
            o.WriteLine(F($"why the first EAGAIN (at {e.AtMs:0.###} ms):"));
            o.WriteLine("  " + e.Text);
        }
        else o.WriteLine("no EAGAIN: the send buffer never filled");
        var w = r.Writes;
        o.WriteLine(F($"  writes of {w.WriteSize} bytes: {w.Calls} calls, {w.BytesWritten} bytes taken, EAGAIN {w.Eagain}, write-space wake-ups {w.WriteSpaceWakeups}"));
        foreach (var (k, v) in w.OtherErrors) o.WriteLine(F($"  {k}: {v}"));
        o.WriteLine();
        var b = r.AtEnd;
        o.WriteLine(F($"where the bytes sat at {g.IntervalEndMs:0.###} ms (wmem_queued {b.WmemQueued}, sndbuf {b.SndBuf})"));
        o.WriteLine(F($"  write queue, not sent (SIOCOUTQNSD) {b.NotSent,10} bytes"));
        o.WriteLine(F($"  in flight, unacknowledged          {b.InFlight,10} bytes"));
        o.WriteLine(F($"  below TCP (sk_wmem_alloc)          {b.WmemAlloc,10} bytes"));
        o.WriteLine(F($"  qdisc backlog                      {b.QdiscBacklog,10} bytes"));
        o.WriteLine(F($"  B's receive queue, unread          {b.ReceiverQueue,10} bytes"));
        o.WriteLine("  " + r.Qdisc);
        if (r.TcQdiscShow.Count > 3) // several qdiscs (mq): show each TX queue's as tc does
            foreach (var line in r.TcQdiscShow) o.WriteLine("    " + line);
        o.WriteLine();
        var x = r.Retransmissions;
        o.WriteLine(F($"retransmissions ({r.CongestionControl}): RetransSegs {x.RetransSegs}, TCPFastRetrans {x.FastRetrans}, TCPTimeouts {x.Timeouts}, TCPLossProbes {x.LossProbes}")
            + (x.CwrEntered > 0 ? F($"; CWR entered {x.CwrEntered} times (cwnd cut, nothing resent)") : ""));
        foreach (var dir in r.Wire)
            o.WriteLine(F($"  wire {dir.Name}: {dir.Frames} frames, {dir.Lost} lost, {dir.Reordered} reordered, {dir.Duplicated} duplicated, {dir.Corrupted} corrupted")
                + (dir.CeMarked > 0 ? F($", {dir.CeMarked} CE-marked") : ""));
        o.WriteLine("counters on A: " + string.Join(", ", r.SenderCounters.Select(kv => $"{kv.Key} {kv.Value}")));
        o.WriteLine("counters on B: " + string.Join(", ", r.ReceiverCounters.Select(kv => $"{kv.Key} {kv.Value}")));
        o.WriteLine();
        o.WriteLine("where every segment went (in = passed on + dropped by reason + still queued):");
        foreach (var l in r.Ledger) o.WriteLine("  " + l.Describe());
        foreach (var (host, counters) in r.TcpCounters)
            if (counters.Count > 0) o.WriteLine($"  TCP on {host}: " + string.Join(", ", counters.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var (host, lines) in r.Ss)
        {
            o.WriteLine();
            o.WriteLine(F($"ss -tmin on {host} at {g.IntervalEndMs:0.###} ms:"));
            o.WriteLine("  " + SsView.Header);
            foreach (var line in lines) o.WriteLine("  " + line);
        }
        foreach (var (host, lines) in r.Nstat)
        {
            o.WriteLine();
            o.WriteLine(F($"nstat -a on {host} at {g.IntervalEndMs:0.###} ms (non-zero counters since the host started):"));
            foreach (var line in lines) o.WriteLine("  " + line);
        }
        o.WriteLine();
        o.WriteLine(F($"every {(r.Samples.Count > 1 ? r.Samples[1].AtMs - r.Samples[0].AtMs : 0):0} ms (sender A unless marked B):"));
        o.WriteLine("   t ms   cwnd  ssthresh  srtt µs    sndbuf wmem_queued wmem_alloc   snd_wnd  B rcvbuf  qdisc B");
        foreach (var s in r.Samples)
            o.WriteLine(F($"{s.AtMs,7:0} {s.Cwnd,6} {(s.Ssthresh < 0 ? "inf" : s.Ssthresh.ToString(inv)),9} {s.SrttUs,8} {s.SndBuf,9} {s.WmemQueued,11} {s.WmemAlloc,10} {s.SndWnd,9} {s.ReceiverRcvBuf,9} {s.QdiscBacklog,9}"));
    }
}
