using Xmit.Simulation;
using Xmit.Time;

namespace Xmit.Cli;

/// <summary>
/// The knobs of `xmit sim tcp`: host A runs a TCP application to host B across one simulated link — by default a bulk
/// writer, as fast as the socket takes it. Defaults: 100 Mbit/s, 50 µs each way, pfifo_fast, 64 KiB writes, buffers
/// autotuned, CUBIC, autocorking on, a NIC without TSO (the stack segments GSO skbs before the driver).
/// </summary>
public sealed record TcpBulkConfig
{
    /// <summary>What A's application does: bulk (write as fast as the socket takes), rr (request/response) or stream (a fixed rate).</summary>
    public TcpApplication App { get; init; } = TcpApplication.Bulk;
    /// <summary>rr: bytes of each request A writes, and of each response B writes once it has read the whole request.</summary>
    public int RequestSize { get; init; } = 100;
    public int ResponseSize { get; init; } = 10_000;
    /// <summary>stream: the rate A's application writes at — one <see cref="WriteSize"/> write every WriteSize × 8 / rate seconds.</summary>
    public long StreamRateBitsPerSecond { get; init; } = 20_000_000;
    /// <summary>
    /// TCP_CORK on A around each application message: set before its first write, cleared (which pushes the partial
    /// tail) after its last. A message is a request (rr), one interval's write (stream), or — bulk — the whole stream:
    /// set once and never cleared, so only full segments leave.
    /// </summary>
    public bool Cork { get; init; }
    /// <summary>net.ipv4.tcp_autocorking on A: 1 (Linux's default) or 0.</summary>
    public int Autocorking { get; init; } = 1;
    /// <summary>
    /// NETIF_F_TSO on both NICs (B's matters for rr's responses): on, the driver takes whole GSO skbs and its hardware cuts them into segments on the wire
    /// (a capture on A shows the large skbs, as tcpdump on a TSO NIC does); off (the default, and what `xmit sim tcp`
    /// always had), the stack segments them before the driver, as Linux does after `ethtool -K DEV tso off gso off`.
    /// </summary>
    public bool Tso { get; init; }
    /// <summary>The devices and TX drivers: txqueuelen and BQL's limit_max on A's; ring, TX coalescing and BQL on both (as `xmit sim` sets them).</summary>
    public DeviceKnobs Device { get; init; } = new();
    public long RateBitsPerSecond { get; init; } = 100_000_000;
    public Duration Propagation { get; init; } = Duration.FromMicroseconds(50);
    public double LossRate { get; init; }
    /// <summary>Reordering, duplication, corruption, jitter and bursty loss on the wire (both directions).</summary>
    public LinkFaults Faults { get; init; } = new();
    public QdiscSpec Qdisc { get; init; } = new("pfifo_fast");
    /// <summary>TX queues of each device (each with its own ring and BQL; mq as the default root above 1).</summary>
    public int TxQueues { get; init; } = 1;
    public int Mtu { get; init; } = 1500;
    public Duration Duration { get; init; } = Duration.FromSeconds(10);
    /// <summary>Bytes per write() call.</summary>
    public int WriteSize { get; init; } = 65536;
    /// <summary>TCP_NODELAY on A's socket.</summary>
    public bool NoDelay { get; init; }
    /// <summary>SO_SNDBUF on A (doubled by the kernel, autotuning off), or null to let tcp_sndbuf_expand tune it.</summary>
    public int? SndBuf { get; init; }
    /// <summary>SO_RCVBUF on B (doubled by the kernel, autotuning off), or null to let tcp_rcv_space_adjust tune it.</summary>
    public int? RcvBuf { get; init; }
    /// <summary>net.ipv4.tcp_congestion_control on A: cubic or reno.</summary>
    public string CongestionControl { get; init; } = "cubic";
    /// <summary>net.ipv4.tcp_ecn on both hosts: 0, 1 (A asks, B agrees: ECN on) or 2 (Linux's default: neither asks).</summary>
    public int Ecn { get; init; } = 2;
    public ulong Seed { get; init; } = 1;
    /// <summary>Time between two samples of the time series.</summary>
    public Duration SampleInterval { get; init; } = Duration.FromMilliseconds(100);
    /// <summary>The fine series' step, and how long from the accept it runs (the whole run if shorter).</summary>
    public Duration DetailInterval { get; init; } = Duration.FromMilliseconds(1);
    public Duration DetailSpan { get; init; } = Duration.FromSeconds(1);

    public static readonly string[] CongestionControls = ["cubic", "reno"];

    /// <summary>The shortest interval of a stream's writes: a faster pace is a bulk writer.</summary>
    public static readonly Duration MinStreamInterval = Duration.FromMicroseconds(1);

    /// <summary>stream: the time between two writes (WriteSize × 8 / rate).</summary>
    public Duration StreamInterval => Duration.FromNanoseconds((long)Math.Round(WriteSize * 8e9 / StreamRateBitsPerSecond));

    public string? Validate()
    {
        if (RateBitsPerSecond <= 0) return "rate must be positive";
        if (Propagation < Time.Duration.Zero) return "delay must not be negative";
        if (LossRate is < 0 or > 1 || double.IsNaN(LossRate)) return "loss must be between 0 and 1";
        if (Mtu is < 576 or > 65535) return "mtu must be 576 to 65535";
        if (Duration <= Time.Duration.Zero || Duration > Time.Duration.FromSeconds(3600)) return "duration must be positive and at most an hour";
        if (WriteSize is < 1 or > 16 << 20) return "write size must be 1 byte to 16 MiB";
        if (SndBuf is < 0) return "sndbuf must not be negative";
        if (Ecn is < 0 or > 2) return "ecn must be 0, 1 or 2";
        if (RcvBuf is < 0) return "rcvbuf must not be negative";
        if (Array.IndexOf(CongestionControls, CongestionControl) < 0) return $"cc must be cubic or reno, not {CongestionControl}";
        if (RequestSize is < 1 or > 16 << 20) return "request must be 1 byte to 16 MiB";
        if (ResponseSize is < 1 or > 16 << 20) return "response must be 1 byte to 16 MiB";
        if (StreamRateBitsPerSecond is < 1 or > CliOptions.MaxRate) return "stream rate must be 1bit to 10tbit";
        if (App == TcpApplication.Stream && StreamInterval < MinStreamInterval)
            return $"stream writes of {WriteSize} bytes at {Link.Qdiscs.TcUnits.FormatRate(StreamRateBitsPerSecond)}/s come less than 1us apart: raise --write-size or lower --stream-rate";
        if (Autocorking is < 0 or > 1) return "autocorking must be 0 or 1";
        if (Device.Validate() is { } device) return device;
        if (SampleInterval <= Time.Duration.Zero) return "sample interval must be positive";
        if (DetailInterval <= Time.Duration.Zero) return "detail interval must be positive";
        return Faults.Validate() ?? Qdisc.ValidateFor(TxQueues);
    }
}

/// <summary>The application A runs in `xmit sim tcp`.</summary>
public enum TcpApplication
{
    /// <summary>Write as fast as the socket takes it; B reads everything.</summary>
    Bulk,
    /// <summary>A writes a request, B reads all of it and writes a response, A reads all of that; then the next (one outstanding, as netperf TCP_RR).</summary>
    RequestResponse,
    /// <summary>A writes one write-size message every interval (the rate); what the socket does not take waits in the application.</summary>
    Stream,
}
