namespace Xmit.Cli;

/// <summary>Everything `xmit sim` reports, in plain numbers (times in milliseconds of virtual time) so it serialises as is.</summary>
public sealed record UdpFloodReport
{
    public required string Scenario { get; init; }
    public required ulong Seed { get; init; }
    public required double DurationMs { get; init; }
    public required double WallSeconds { get; init; }
    public required long SimulatedEvents { get; init; }
    public required long SimulatedPackets { get; init; }

    public required SocketSummary Socket { get; init; }
    public required QdiscSummary Qdisc { get; init; }
    /// <summary>`tc -s qdisc show dev` A's device at the end: the root and, under mq, each TX queue's child.</summary>
    public required IReadOnlyList<string> TcQdiscShow { get; init; }
    public required DeviceSummary Device { get; init; }
    /// <summary>B's device and CPU: the RX ring, NAPI and the NET_RX softirq's softnet_stat.</summary>
    public required ReceiverSummary Receiver { get; init; }
    public required LinkSummary Link { get; init; }
    public required LatencySummary Latency { get; init; }
    public required WhereBytesSat BytesSat { get; init; }
    public EagainExplanation? FirstEagain { get; init; }
    public EpolloutExplanation? FirstEpollout { get; init; }
    /// <summary>With --blocking: how often and how long sendto slept.</summary>
    public BlockingSummary? Blocking { get; init; }
    /// <summary>Per layer, from A's socket to B's: in = passed on + Σ drops by reason + still queued.</summary>
    public IReadOnlyList<Xmit.Hosting.Accounting.LayerBalance> Ledger { get; init; } = [];
    /// <summary>Datagrams B read after --duration ended (the drain); goodput does not count them.</summary>
    public long DeliveredAfterEnd { get; init; }
    public required IReadOnlyList<SocketEvent> Events { get; init; }
    public required IReadOnlyList<Sample> Samples { get; init; }
    /// <summary>The first 30 ms (or the whole run if shorter), sampled every 20 µs.</summary>
    public required IReadOnlyList<Sample> DetailSamples { get; init; }
    public required IReadOnlyDictionary<string, long> SenderCounters { get; init; }
    public required IReadOnlyDictionary<string, long> ReceiverCounters { get; init; }
    /// <summary>skbs not returned to the pool after shutdown (must be 0).</summary>
    public int LeakedSkbs { get; init; }
    /// <summary>The sender's wmem_alloc after shutdown (must be 0).</summary>
    public long FinalWmemAlloc { get; init; }
}

public sealed record SocketSummary(int SndBuf, long DatagramsSent, long DatagramsDelivered, long Eagain, long EpollOutWakeups,
    IReadOnlyDictionary<string, long> OtherErrors, long WmemHighWater, int TruesizePerDatagram, long BytesSent);

public sealed record QdiscSummary(string Description, long SentPackets, long SentBytes, long Drops, long Overlimits, long Requeues,
    long BacklogMaxBytes, int QLenMax);

/// <summary>The sending device; <see cref="Doorbells"/> counts the driver's tail-register writes (one per bulk the qdisc
/// dequeued within BQL's budget, xmit_more on all but its last), <see cref="DoorbellPackets"/> the packets they carried.</summary>
public sealed record DeviceSummary(string Name, int RingSize, long TxPackets, long TxBytes, long QueueStops, long QueueWakes,
    long BqlStops, long BqlLimit, long TxInterrupts, long RingBytesMax, long Doorbells, long DoorbellPackets,
    int MaxPacketsPerDoorbell, long MaxBytesPerDoorbell)
{
    /// <summary>Packets per doorbell on average (0 when none rang).</summary>
    public double PacketsPerDoorbell => Doorbells == 0 ? 0 : DoorbellPackets / (double)Doorbells;

    /// <summary>The device's counters as `ip -s link` prints them.</summary>
    public string IpSLink { get; init; } = "";
}

/// <summary>
/// The receiving device (B's) and its CPU, with Linux's counter names: rx_missed_errors are frames the NIC missed
/// for want of a free RX descriptor (`ip -s link`'s "missed"; the ring overran because the host did not keep up),
/// rx_dropped packets the stack could not take; softnet_stat's processed, dropped (netif_rx over netdev_max_backlog)
/// and time_squeeze (NET_RX rounds that ran out of netdev_budget or netdev_budget_usecs).
/// </summary>
public sealed record ReceiverSummary(string Name, int RxRingSize, double RxUsecs, int RxFrames, int NapiWeight, double RxCostUs,
    long RxPackets, long RxBytes, long RxErrors, long RxDropped, long RxMissedErrors, long RxInterrupts, long NapiPolls, long NapiFullPolls,
    int RxRingFilledMax, int NetdevBudget, int NetdevBudgetUsecs, int NetdevMaxBacklog,
    long SoftnetProcessed, long SoftnetDropped, long TimeSqueeze, long NetRxRounds, string IpSLink)
{
    public static ReceiverSummary Of(Xmit.Hosting.Host host, Xmit.Link.NetDevice dev, Xmit.Link.Drivers.RingDriver ring, Time.Duration cost)
    {
        var s = dev.Stats;
        var sd = host.RxSoftirq;
        return new(dev.Name, ring.Config.RxRingSize, ring.Config.RxCoalesceDelay.TotalMilliseconds * 1000, ring.Config.RxCoalesceFrames,
            ring.Config.NapiWeight, cost.TotalMilliseconds * 1000, s.RxPackets, s.RxBytes, s.RxErrors, s.RxDropped, s.RxMissedErrors,
            ring.RxInterrupts, ring.NapiPolls, ring.NapiFullPolls, ring.RxRingFilledMax, sd.Budget, host.Sysctls.NetdevBudgetUsecs,
            host.Backlog.MaxBacklog, sd.Processed, host.Backlog.Dropped, sd.TimeSqueeze, sd.Rounds, s.FormatIpSLink());
    }
}

/// <summary>The wire; <see cref="Frames"/> and <see cref="Lost"/> are A→B's, <see cref="Directions"/> has both with their fault counts;
/// goodput is the payload B read during --duration, divided by --duration (the drain after it is not counted).</summary>
public sealed record LinkSummary(long RateBitsPerSecond, double PropagationMs, double LossRate, long Frames, long Lost, double Utilisation,
    double GoodputBitsPerSecond, FaultsSummary Faults, IReadOnlyList<WireDirection> Directions);

/// <summary>The faults configured on the wire (probabilities 0 to 1; burst fields null without --loss-burst).</summary>
public sealed record FaultsSummary(string Description, double ReorderRate, double ReorderDelayMs, double DuplicateRate, double CorruptRate,
    double JitterMs, double? BurstP, double? BurstR, double? BurstBadLoss)
{
    public static FaultsSummary Of(Simulation.LinkFaults f) => new(LinkFaultOptions.Describe(f), f.ReorderRate, f.ReorderDelay.TotalMilliseconds,
        f.DuplicateRate, f.CorruptRate, f.Jitter.TotalMilliseconds, f.Burst?.P, f.Burst?.R, f.Burst?.BadLoss);
}

/// <summary>One direction of the wire ("a->b" or "b->a"): frames sent onto it and what the faults did to them.</summary>
public sealed record WireDirection(string Name, long Frames, long Bytes, long Lost, long Reordered, long Duplicated, long Corrupted, long CeMarked = 0)
{
    public static WireDirection Of(Simulation.SimulatedLink.Direction d) =>
        new(d.Name, d.Frames, d.Bytes, d.Faults.Lost, d.Faults.Reordered, d.Faults.Duplicated, d.Faults.Corrupted, d.Faults.CeMarked);
}

public sealed record LatencySummary(long Count, double P50Ms, double P90Ms, double P99Ms, double MaxMs, double MinMs);

/// <summary>Time-averaged and peak bytes charged to the socket by where they were.</summary>
public sealed record WhereBytesSat(double QdiscAvgBytes, double RingAvgBytes, double AwaitingCompletionAvgBytes, double WmemAvgBytes,
    long QdiscMaxBytes, long RingMaxBytes);

/// <summary>Why the first EAGAIN: <see cref="Datagrams"/> counts datagrams; <see cref="InQdisc"/>, <see cref="OnRing"/>,
/// <see cref="AwaitingCompletion"/> and <see cref="InNeighbourQueue"/> count frames (fragments when <see cref="FramesPerDatagram"/> &gt; 1).</summary>
public sealed record EagainExplanation(double AtMs, long WmemAlloc, int SndBuf, int Datagrams, int Truesize, int InQdisc, int OnRing,
    int AwaitingCompletion, string QdiscKind, string Text)
{
    public int FramesPerDatagram { get; init; } = 1;
    public int InNeighbourQueue { get; init; }
}

/// <summary>A blocking sender never sees EAGAIN; it sleeps in sock_alloc_send_skb instead.</summary>
public sealed record BlockingSummary(long BlockedSends, double BlockedMs, long WmemHighWater, int SndBuf, string Text);

public sealed record EpolloutExplanation(double AtMs, double AfterEagainMs, long WmemAlloc, int HalfSndBuf, int FramesLeft, int FrameBytes,
    double ExpectedMs, string Text);

/// <summary>An EAGAIN or an EPOLLOUT, with the socket's wmem_alloc and the qdisc's backlog at that moment (the sawtooth's turning points).</summary>
public sealed record SocketEvent(double AtMs, string Kind, long WmemAlloc, long QdiscBytes = 0);

/// <summary>One point of the time series.</summary>
public sealed record Sample(double AtMs, long WmemAlloc, long QdiscBytes, int QdiscPackets, long RingBytes, long AwaitingCompletionBytes,
    double LinkUtilisation);
