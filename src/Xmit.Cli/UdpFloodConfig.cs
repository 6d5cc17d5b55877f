using Xmit.Simulation;
using Xmit.Time;

namespace Xmit.Cli;

/// <summary>
/// The knobs of `xmit sim`: host A sends UDP to host B as fast as it can across one simulated link.
/// Defaults make the send buffer matter: 100 Mbit/s, pfifo_fast, txqueuelen 1000, 1472-byte datagrams.
/// </summary>
public sealed record UdpFloodConfig
{
    public int Payload { get; init; } = 1472;
    /// <summary>SO_SNDBUF to set (doubled by the kernel), or null to keep wmem_default (212992).</summary>
    public int? SndBuf { get; init; }
    public long RateBitsPerSecond { get; init; } = 100_000_000;
    public Duration Propagation { get; init; } = Duration.FromMicroseconds(50);
    public double LossRate { get; init; }
    /// <summary>Reordering, duplication, corruption, jitter and bursty loss on the wire (both directions).</summary>
    public LinkFaults Faults { get; init; } = new();
    public QdiscSpec Qdisc { get; init; } = new("pfifo_fast");
    /// <summary>TX queues of each device (each with its own ring and BQL; mq as the default root above 1).</summary>
    public int TxQueues { get; init; } = 1;
    public int Mtu { get; init; } = 1500;
    /// <summary>A's device and driver: txqueuelen, TX ring, TX interrupt coalescing, BQL (shared with `xmit sim tcp`).</summary>
    public DeviceKnobs Device { get; init; } = new();
    /// <summary>B's RX ring (ethtool -G rx): descriptors; a frame arriving when none is free is missed (rx_missed_errors).</summary>
    public int RxRingSize { get; init; } = 256;
    /// <summary>RX interrupt coalescing (ethtool -C rx-usecs / rx-frames); 0 and 1: an interrupt per frame.</summary>
    public Duration RxUsecs { get; init; } = Duration.Zero;
    public int RxFrames { get; init; } = 1;
    /// <summary>CPU time B's NET_RX softirq spends per received packet (driver and stack); 0: the receiver is never slower than the link.</summary>
    public Duration RxCost { get; init; } = Duration.Zero;
    /// <summary>net.core.netdev_budget, netdev_budget_usecs and netdev_max_backlog on both hosts.</summary>
    public int NetdevBudget { get; init; } = 300;
    public int NetdevBudgetUsecs { get; init; } = 2000;
    public int NetdevMaxBacklog { get; init; } = 1000;
    public Duration Duration { get; init; } = Duration.FromSeconds(1);
    /// <summary>Blocking sends instead of non-blocking sends with epoll.</summary>
    public bool Blocking { get; init; }
    /// <summary>Sends per datagram: the first N−1 with MSG_MORE (1 = no corking).</summary>
    public int Cork { get; init; } = 1;
    /// <summary>Time the sending application spends per system call (the pace of its loop).</summary>
    public Duration SyscallCost { get; init; } = Duration.FromMicroseconds(2);
    public ulong Seed { get; init; } = 1;
    /// <summary>Samples taken over the run for the time series (plots, JSON).</summary>
    public int Samples { get; init; } = 1000;

    public string? Validate()
    {
        if (Payload is < 16 or > 65507) return "payload must be 16 to 65507 bytes (16 carry the timestamp and sequence)";
        if (SndBuf is < 0) return "sndbuf must not be negative";
        if (RateBitsPerSecond <= 0) return "rate must be positive";
        if (Propagation < Time.Duration.Zero) return "delay must not be negative";
        if (LossRate is < 0 or > 1 || double.IsNaN(LossRate)) return "loss must be between 0 and 1";
        if (Mtu is < 576 or > 65535) return "mtu must be 576 to 65535";
        if (Device.Validate() is { } device) return device;
        if (RxRingSize is < 1 or > 65536) return "rx ring size must be 1 to 65536 descriptors";
        if (RxUsecs < Time.Duration.Zero || RxUsecs > Time.Duration.FromSeconds(1)) return "rx-usecs must be 0 to 1s";
        if (RxFrames is < 1 or > 65536) return "rx-frames must be 1 to 65536";
        if (RxCost < Time.Duration.Zero || RxCost > Time.Duration.FromSeconds(1)) return "rx-cost must be 0 to 1s";
        if (NetdevBudget < 1) return "netdev_budget must be at least 1";
        if (NetdevBudgetUsecs < 1) return "netdev_budget_usecs must be at least 1";
        if (NetdevMaxBacklog < 0) return "netdev_max_backlog must not be negative";
        if (Duration <= Time.Duration.Zero || Duration > Time.Duration.FromSeconds(3600)) return "duration must be positive and at most an hour";
        if (Cork is < 1 or > 64) return "cork must be 1 to 64 sends per datagram";
        if ((long)Cork * Payload > 65507) return "cork × payload must fit one datagram (65507 bytes)";
        if (SyscallCost < Time.Duration.Zero) return "syscall cost must not be negative";
        if (Samples is < 10 or > 100_000) return "samples must be 10 to 100000";
        return Faults.Validate() ?? Qdisc.ValidateFor(TxQueues);
    }
}
