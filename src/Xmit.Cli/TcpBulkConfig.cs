using Xmit.Simulation;
using Xmit.Time;

namespace Xmit.Cli;

/// <summary>
/// The knobs of `xmit sim tcp`: host A writes a bulk TCP stream to host B across one simulated link, as fast as
/// the socket takes it. Defaults: 100 Mbit/s, 50 µs each way, pfifo_fast, 64 KiB writes, buffers autotuned, CUBIC.
/// </summary>
public sealed record TcpBulkConfig
{
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
        if (SampleInterval <= Time.Duration.Zero) return "sample interval must be positive";
        if (DetailInterval <= Time.Duration.Zero) return "detail interval must be positive";
        return Faults.Validate() ?? Qdisc.ValidateFor(TxQueues);
    }
}
