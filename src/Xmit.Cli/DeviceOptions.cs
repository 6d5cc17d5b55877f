using System.CommandLine;
using Xmit.Link.Drivers;
using Xmit.Time;

namespace Xmit.Cli;

/// <summary>
/// The sender's device and TX driver as options, shared by `xmit sim` and `xmit sim tcp`: `--txqueuelen`, `--ring`,
/// `--tx-usecs`, `--tx-frames` (as `ip link set txqueuelen`, `ethtool -G tx` and `ethtool -C tx-usecs/tx-frames`), and
/// byte queue limits (`--bql on|off`, `--bql-limit-max` as /sys/class/net/DEV/queues/tx-N/byte_queue_limits/limit_max).
/// Each option is a property so a command can list them among its own in the order its help shows.
/// </summary>
public sealed class DeviceOptions
{
    public Option<int> TxQueueLen { get; } = CliOptions.Int("--txqueuelen", "-q", "Device txqueuelen (pfifo_fast's per-band limit)", 1000, 0, 1_000_000);
    public Option<int> Ring { get; } = CliOptions.Int("--ring", "-r", "TX ring descriptors", 256, 32, 65536);
    public Option<Duration> TxUsecs { get; } = CliOptions.Duration("--tx-usecs", "TX interrupt coalescing: at most this long after the first completion (ethtool -C tx-usecs)", "8us");
    public Option<int> TxFrames { get; } = CliOptions.Int("--tx-frames", null, "TX interrupt coalescing: an interrupt once this many frames completed (ethtool -C tx-frames)", 16, 1, 65536);
    public Option<string> Bql { get; } = OnOff("--bql", "Byte queue limits on every TX queue: the driver reports bytes sent and completed (on, as real NICs' drivers do) or not (off)", "on");
    public Option<long?> BqlLimitMax { get; } = CliOptions.OptionalLong("--bql-limit-max",
        "BQL's limit_max in bytes (byte_queue_limits/limit_max): the most the dynamic limit grows to; default: unbounded (DQL_MAX_LIMIT)", 0, Link.Dql.MaxLimitCap);

    /// <summary>The BQL options, which the UDP command lists after its older device options.</summary>
    public IEnumerable<Option> BqlOptions => [Bql, BqlLimitMax];

    /// <summary>An `on|off` option, as ethtool spells features.</summary>
    public static Option<string> OnOff(string name, string description, string defaultValue)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        CliOptions.OneOf(o, ["on", "off"]);
        return o;
    }

    /// <summary>The TX side of the driver as the options say; <paramref name="baseConfig"/> gives everything else (the RX side).</summary>
    public RingDriverConfig RingConfig(ParseResult r, RingDriverConfig? baseConfig = null) => DeviceKnobs.Ring(baseConfig ?? new RingDriverConfig(), Read(r));

    /// <summary>The values given (or defaulted).</summary>
    public DeviceKnobs Read(ParseResult r) => new()
    {
        TxQueueLen = r.GetValue(TxQueueLen),
        RingSize = r.GetValue(Ring),
        TxUsecs = r.GetValue(TxUsecs),
        TxFrames = r.GetValue(TxFrames),
        Bql = r.GetValue(Bql) == "on",
        BqlLimitMax = r.GetValue(BqlLimitMax),
    };
}

/// <summary>The sender's device knobs <see cref="DeviceOptions"/> reads, with Linux's (and e1000e's) defaults.</summary>
public sealed record DeviceKnobs
{
    public int TxQueueLen { get; init; } = 1000;
    public int RingSize { get; init; } = 256;
    /// <summary>TX interrupt coalescing (ethtool -C tx-usecs / tx-frames): completions per interrupt set how far BQL's
    /// limit grows, and with it how many packets one bulk dequeue may hand the driver per doorbell.</summary>
    public Duration TxUsecs { get; init; } = Duration.FromMicroseconds(8);
    public int TxFrames { get; init; } = 16;
    /// <summary>Whether the driver reports to BQL (netdev_tx_sent_queue / netdev_tx_completed_queue).</summary>
    public bool Bql { get; init; } = true;
    /// <summary>BQL's limit_max in bytes, or null for DQL_MAX_LIMIT.</summary>
    public long? BqlLimitMax { get; init; }

    public string? Validate()
    {
        if (TxQueueLen < 0) return "txqueuelen must not be negative";
        if (RingSize is < 32 or > 65536) return "ring size must be 32 to 65536 descriptors";
        if (TxUsecs < Duration.Zero || TxUsecs > Duration.FromSeconds(1)) return "tx-usecs must be 0 to 1s";
        if (TxFrames is < 1 or > 65536) return "tx-frames must be 1 to 65536";
        if (BqlLimitMax is { } m && (m < 0 || m > Link.Dql.MaxLimitCap)) return $"bql-limit-max must be 0 to {Link.Dql.MaxLimitCap} bytes";
        if (BqlLimitMax is not null && !Bql) return "--bql-limit-max needs --bql on";
        return null;
    }

    /// <summary><paramref name="baseConfig"/> with the TX ring, its wake threshold and coalescing, and BQL as these knobs say.</summary>
    public static RingDriverConfig Ring(RingDriverConfig baseConfig, DeviceKnobs k) => baseConfig with
    {
        RingSize = k.RingSize, WakeThreshold = Math.Min(64, k.RingSize / 2),
        CoalesceDelay = k.TxUsecs, CoalesceFrames = k.TxFrames, Bql = k.Bql,
    };

    /// <summary>After the devices exist: txqueuelen (before the root qdisc is made: pfifo_fast reads it) and BQL's limit_max on every TX queue.</summary>
    public void Apply(Link.NetDevice device)
    {
        device.TxQueueLen = TxQueueLen;
        if (BqlLimitMax is { } max)
            foreach (var q in device.TxQueues) q.Dql.MaxLimit = max;
    }

    /// <summary>What differs from the defaults, for a scenario line ("txqueuelen 100, ring 64"); empty when nothing does.</summary>
    public string Describe()
    {
        var d = new DeviceKnobs();
        var parts = new List<string>();
        if (TxQueueLen != d.TxQueueLen) parts.Add($"txqueuelen {TxQueueLen}");
        if (RingSize != d.RingSize) parts.Add($"ring {RingSize}");
        if (TxUsecs != d.TxUsecs) parts.Add($"tx-usecs {TxUsecs}");
        if (TxFrames != d.TxFrames) parts.Add($"tx-frames {TxFrames}");
        if (!Bql) parts.Add("BQL off");
        if (BqlLimitMax is { } m) parts.Add($"BQL limit_max {m}");
        return string.Join(", ", parts);
    }
}
