using System.Globalization;

namespace Xmit.Configuration;

/// <summary>
/// The host's tunables, named and defaulted as in stock Linux (/proc/sys): what `sysctl -w` and
/// packetdrill's set_sysctls.py set. Unknown names are refused, so a script never silently runs with a
/// setting the stack does not have.
/// </summary>
/// <remarks>Linux: net/core/sysctl_net_core.c (wmem_default, wmem_max, rmem_default, rmem_max); net/ipv4/sysctl_net_ipv4.c (ip_default_ttl, ip_local_port_range)</remarks>
public sealed class Sysctls
{
    /// <summary>SK_WMEM_MAX (= SK_RMEM_MAX): stock Linux's net.core.{w,r}mem_{default,max}.</summary>
    public const int SkMemMax = 212992;

    /// <summary>net.core.wmem_default: sndbuf of a new socket.</summary>
    public int WmemDefault { get; set; } = SkMemMax;
    /// <summary>net.core.wmem_max: the cap on SO_SNDBUF (before doubling).</summary>
    public int WmemMax { get; set; } = SkMemMax;
    public int RmemDefault { get; set; } = SkMemMax;
    public int RmemMax { get; set; } = SkMemMax;
    /// <summary>net.core.optmem_max: option memory per socket (sk_omem_alloc), where MSG_ZEROCOPY notifications wait; 128 KiB since Linux 6.9.</summary>
    public int OptmemMax { get; set; } = 131072;
    /// <summary>net.ipv4.ip_default_ttl.</summary>
    public int IpDefaultTtl { get; set; } = 64;
    /// <summary>net.ipv4.ip_nonlocal_bind: every socket may bind an address the host does not have, as with IP_FREEBIND.</summary>
    public int IpNonlocalBind { get; set; }
    /// <summary>net.ipv4.ip_local_port_range.</summary>
    public (ushort Low, ushort High) LocalPortRange { get; set; } = (32768, 60999);

    /// <summary>net.ipv4.tcp_rmem / tcp_wmem: min, default (a new socket's buffer) and max (autotuning cap) in bytes.</summary>
    public (int Min, int Default, int Max) TcpRmem { get; set; } = (4096, 131072, 33554432); // 6.18: tcp_rmem[2] is 32 MiB
    public (int Min, int Default, int Max) TcpWmem { get; set; } = (4096, 16384, 4194304);
    public int TcpTimestamps { get; set; } = 1;
    public int TcpSack { get; set; } = 1;
    /// <summary>net.ipv4.tcp_dsack: report duplicate segments with a D-SACK block (RFC 2883).</summary>
    public int TcpDsack { get; set; } = 1;
    public int TcpWindowScaling { get; set; } = 1;
    public int TcpAutocorking { get; set; } = 1;
    public int TcpTsoWinDivisor { get; set; } = 3;
    public int TcpMinTsoSegs { get; set; } = 2;
    public int TcpSynRetries { get; set; } = 6;
    public int TcpSynackRetries { get; set; } = 5;
    /// <summary>net.ipv4.tcp_syn_linear_timeouts (6.18's default 4): a SYN's first timeouts keep the RTO, and add as many retries to TCP_SYNCNT.</summary>
    public int TcpSynLinearTimeouts { get; set; } = 4;
    /// <summary>net.ipv4.tcp_syncookies: 1 sends cookies when a listener's SYN queue is full, 2 always, 0 never.</summary>
    public int TcpSyncookies { get; set; } = 1;
    /// <summary>
    /// net.ipv4.tcp_max_syn_backlog: Linux sets it to max(128, ehash entries / 128) (tcp_sk_init), and the ehash is
    /// sized from the memory (262,144 entries on the 24 GiB reference machine that linux-truth is measured on):
    /// 2048. It only matters with tcp_syncookies 0 (the last quarter is kept for proven peers).
    /// </summary>
    public int TcpMaxSynBacklog { get; set; } = 2048;
    /// <summary>net.ipv4.tcp_abort_on_overflow: 1 resets a final ACK that finds the accept queue full, 0 drops it and lets the SYN-ACK timer retry.</summary>
    public int TcpAbortOnOverflow { get; set; }
    public int TcpRetries2 { get; set; } = 15;
    /// <summary>net.ipv4.tcp_retries1: after the time this many backed-off retransmissions take, a timeout suspects the path (MTU blackhole detection).</summary>
    public int TcpRetries1 { get; set; } = 3;
    /// <summary>net.ipv4.tcp_mtu_probing: 0 off (Linux's default), 1 after a suspected ICMP blackhole, 2 always (RFC 4821 packetization-layer PMTUD).</summary>
    public int TcpMtuProbing { get; set; }
    /// <summary>net.ipv4.tcp_base_mss, tcp_mtu_probe_floor, tcp_probe_threshold, tcp_probe_interval (s): MTU probing's starting MSS, its lowest, the search width it stops at, and when it starts again.</summary>
    public int TcpBaseMss { get; set; } = 1024;
    public int TcpMtuProbeFloor { get; set; } = 48;
    public int TcpProbeThreshold { get; set; } = 8;
    public int TcpProbeInterval { get; set; } = 600;
    /// <summary>net.ipv4.tcp_orphan_retries: the retransmissions an orphaned connection gets (0, the default: 8 while its RTO is below 120 s).</summary>
    public int TcpOrphanRetries { get; set; }
    public int TcpReordering { get; set; } = 3;
    /// <summary>net.ipv4.tcp_frto: F-RTO (RFC 5682) after a retransmission timeout — new data instead of retransmissions on the first ACK, and undo if the next one shows the RTO was spurious; 0 off (1 and 2 are the same on Linux 6.18).</summary>
    public int TcpFrto { get; set; } = 2;
    /// <summary>net.ipv4.tcp_early_retrans: 3 and 4 enable tail loss probes (TLP); RACK's loss detection runs whatever it says.</summary>
    public int TcpEarlyRetrans { get; set; } = 3;
    /// <summary>net.ipv4.tcp_congestion_control: the algorithm new connections start with (cubic or reno).</summary>
    public string TcpCongestionControl { get; set; } = "cubic";
    /// <summary>net.ipv4.tcp_moderate_rcvbuf: receive-buffer autotuning (tcp_rcv_space_adjust).</summary>
    public int TcpModerateRcvbuf { get; set; } = 1;
    /// <summary>net.ipv4.tcp_invalid_ratelimit (ms): the least time between answers to out-of-window segments.</summary>
    public int TcpInvalidRatelimitMs { get; set; } = 500;
    /// <summary>net.ipv4.tcp_slow_start_after_idle: after an idle RTO, cwnd restarts from the initial window (Linux's default 1).</summary>
    public int TcpSlowStartAfterIdle { get; set; } = 1;
    /// <summary>net.ipv4.tcp_fastopen: the <see cref="Transport.Tcp.FastOpenFlags"/> bits (Linux's default: client only).</summary>
    public int TcpFastopen { get; set; } = Transport.Tcp.FastOpenFlags.ClientEnable;
    /// <summary>net.ipv4.tcp_fastopen_key: the host's cookie keys, or null until set (then a random key is drawn on first use).</summary>
    public Transport.Tcp.FastOpenKeys? TcpFastopenKey { get; set; }
    /// <summary>net.ipv4.tcp_fastopen_blackhole_timeout_sec: how long active Fast Open stays off after a suspected middlebox drop (0: never; 6.18's default).</summary>
    public int TcpFastopenBlackholeTimeoutSec { get; set; }
    /// <summary>
    /// net.ipv4.tcp_ecn: classic ECN (RFC 3168) — 0 off, 1 ask on outgoing connections and agree on incoming ones,
    /// 2 (Linux's default) only agree when asked. 6.18's AccECN modes 3 to 5 are not modelled.
    /// </summary>
    public int TcpEcn { get; set; } = 2;
    /// <summary>tcp_cubic's module parameters (HyStart).</summary>
    public CubicParameters Cubic { get; private set; } = new();
    /// <summary>net.ipv4.tcp_limit_output_bytes: TCP Small Queues' ceiling on bytes below TCP per socket (4 MiB on 6.18).</summary>
    public int TcpLimitOutputBytes { get; set; } = 4194304;
    /// <summary>net.ipv4.tcp_notsent_lowat: a socket is writable only while fewer unsent bytes are queued (no limit by default).</summary>
    public uint TcpNotsentLowat { get; set; } = uint.MaxValue;

    /// <summary>net.core.netdev_budget: packets one NET_RX softirq round may process over all its NAPI polls.</summary>
    public int NetdevBudget { get; set; } = 300;

    /// <summary>net.core.netdev_budget_usecs: how long one NET_RX softirq round may run.</summary>
    public int NetdevBudgetUsecs { get; set; } = 2000;

    /// <summary>net.core.netdev_max_backlog: packets netif_rx may queue on a CPU's backlog.</summary>
    public int NetdevMaxBacklog { get; set; } = 1000;

    /// <summary>
    /// TCP knobs of features not modelled here, with the values under which the model is what Linux does (or
    /// where the feature only matters to calls that are refused anyway); any other value is refused.
    /// </summary>
    private static readonly Dictionary<string, string[]?> Unmodelled = new()
    {
        // tcp_ecn_option shapes the AccECN option only (tcp_ecn 3 to 5), which is not modelled: any value is the model's.
        ["net.ipv4.tcp_ecn_option"] = null,
        ["net.ipv4.tcp_pacing_ss_ratio"] = ["200"], ["net.ipv4.tcp_pacing_ca_ratio"] = ["120"],
        // DSACK and FACK are not modelled (RACK and TLP are, with their defaults): scripts that change them fail, visibly.
        ["net.ipv4.tcp_dsack"] = null, ["net.ipv4.tcp_fack"] = null,
        ["net.ipv4.tcp_recovery"] = null,
    };

    private readonly Dictionary<string, string> _unmodelledValues = [];

    /// <summary>A copy of every setting (what packetdrill's set_sysctls.py saves for its restore script).</summary>
    public Sysctls Snapshot()
    {
        var copy = new Sysctls();
        copy.CopyFrom(this);
        return copy;
    }

    /// <summary>Takes every setting from <paramref name="other"/>.</summary>
    public void CopyFrom(Sysctls other)
    {
        foreach (var p in typeof(Sysctls).GetProperties())
            if (p.CanWrite) p.SetValue(this, p.GetValue(other));
        Cubic = other.Cubic.Clone(); // a copy, not the same parameters object
        _unmodelledValues.Clear();
        foreach (var (k, v) in other._unmodelledValues) _unmodelledValues[k] = v;
    }

    /// <summary>Sets <paramref name="name"/> (dotted, like net.core.wmem_max) to <paramref name="value"/>; false with a reason if unknown or invalid.</summary>
    public bool TrySet(string name, string value, out string error)
    {
        error = "";
        bool Int(out int v) => int.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out v) && v >= 0;
        switch (name)
        {
            case "net.core.wmem_default" when Int(out var v): WmemDefault = v; return true;
            case "net.core.wmem_max" when Int(out var v): WmemMax = v; return true;
            case "net.core.rmem_default" when Int(out var v): RmemDefault = v; return true;
            case "net.core.rmem_max" when Int(out var v): RmemMax = v; return true;
            case "net.core.netdev_budget" when Int(out var v) && v >= 1: NetdevBudget = v; return true;
            case "net.core.netdev_budget_usecs" when Int(out var v) && v >= 1: NetdevBudgetUsecs = v; return true;
            case "net.core.netdev_max_backlog" when Int(out var v): NetdevMaxBacklog = v; return true;
            case "net.ipv4.ip_default_ttl" when Int(out var v) && v is >= 1 and <= 255: IpDefaultTtl = v; return true;
            case "net.ipv4.ip_local_port_range":
                var parts = value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && ushort.TryParse(parts[0], out var lo) && ushort.TryParse(parts[1], out var hi) && lo > 0 && lo <= hi)
                {
                    LocalPortRange = (lo, hi);
                    return true;
                }
                break;
            case "net.core.optmem_max" when Int(out var v): OptmemMax = v; return true;
            case "net.ipv4.ip_nonlocal_bind" when Int(out var v) && v <= 1: IpNonlocalBind = v; return true;
            case "net.ipv4.tcp_rmem" when Triple(value, out var t): TcpRmem = t; return true;
            case "net.ipv4.tcp_wmem" when Triple(value, out var t): TcpWmem = t; return true;
            case "net.ipv4.tcp_timestamps" when Int(out var v): TcpTimestamps = v; return true;
            case "net.ipv4.tcp_sack" when Int(out var v): TcpSack = v; return true;
            case "net.ipv4.tcp_dsack" when Int(out var v): TcpDsack = v; return true;
            case "net.ipv4.tcp_window_scaling" when Int(out var v): TcpWindowScaling = v; return true;
            case "net.ipv4.tcp_autocorking" when Int(out var v): TcpAutocorking = v; return true;
            case "net.ipv4.tcp_tso_win_divisor" when Int(out var v): TcpTsoWinDivisor = v; return true;
            case "net.ipv4.tcp_min_tso_segs" when Int(out var v) && v >= 1: TcpMinTsoSegs = v; return true;
            case "net.ipv4.tcp_syn_retries" when Int(out var v): TcpSynRetries = v; return true;
            case "net.ipv4.tcp_synack_retries" when Int(out var v): TcpSynackRetries = v; return true;
            case "net.ipv4.tcp_syn_linear_timeouts" when Int(out var v) && v <= 63: TcpSynLinearTimeouts = v; return true; // MAX_TCP_SYNCNT / 2
            case "net.ipv4.tcp_syncookies" when Int(out var v) && v <= 2: TcpSyncookies = v; return true;
            case "net.ipv4.tcp_max_syn_backlog" when Int(out var v): TcpMaxSynBacklog = v; return true;
            case "net.ipv4.tcp_abort_on_overflow" when Int(out var v) && v <= 1: TcpAbortOnOverflow = v; return true;
            case "net.ipv4.tcp_retries2" when Int(out var v): TcpRetries2 = v; return true;
            case "net.ipv4.tcp_retries1" when Int(out var v) && v <= 255: TcpRetries1 = v; return true;
            case "net.ipv4.tcp_mtu_probing" when Int(out var v) && v <= 2: TcpMtuProbing = v; return true;
            case "net.ipv4.tcp_base_mss" when Int(out var v) && v >= 48: TcpBaseMss = v; return true;
            case "net.ipv4.tcp_mtu_probe_floor" when Int(out var v) && v >= 48: TcpMtuProbeFloor = v; return true;
            case "net.ipv4.tcp_probe_threshold" when Int(out var v): TcpProbeThreshold = v; return true;
            case "net.ipv4.tcp_probe_interval" when Int(out var v): TcpProbeInterval = v; return true;
            case "net.ipv4.tcp_orphan_retries" when Int(out var v): TcpOrphanRetries = v; return true;
            case "net.ipv4.tcp_reordering" when Int(out var v) && v >= 1: TcpReordering = v; return true;
            case "net.ipv4.tcp_frto" when Int(out var v): TcpFrto = v; return true;
            case "net.ipv4.tcp_early_retrans" when Int(out var v) && v <= 4: TcpEarlyRetrans = v; return true;
            case "net.ipv4.tcp_notsent_lowat" when uint.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var u):
                TcpNotsentLowat = u;
                return true;
            case "net.ipv4.tcp_limit_output_bytes" when Int(out var v): TcpLimitOutputBytes = v; return true;
            case "net.ipv4.tcp_slow_start_after_idle" when Int(out var v) && v <= 1: TcpSlowStartAfterIdle = v; return true;
            case "net.ipv4.tcp_invalid_ratelimit" when Int(out var v): TcpInvalidRatelimitMs = v; return true;
            case "net.ipv4.tcp_moderate_rcvbuf" when Int(out var v) && v <= 1: TcpModerateRcvbuf = v; return true;
            case "net.ipv4.tcp_fastopen" when IntBase0(value, out var v): TcpFastopen = v; return true;
            case "net.ipv4.tcp_ecn" when Int(out var v) && v <= 2: TcpEcn = v; return true;
            case "net.ipv4.tcp_ecn" when Int(out var v) && v <= 5:
                error = $"sysctl net.ipv4.tcp_ecn={v} (AccECN) is not modelled (the model is 0, 1 or 2)";
                return false;
            case "net.ipv4.tcp_fastopen_key" when Transport.Tcp.FastOpenKeys.Parse(value) is { } keys: TcpFastopenKey = keys; return true;
            case "net.ipv4.tcp_fastopen_blackhole_timeout_sec" when Int(out var v): TcpFastopenBlackholeTimeoutSec = v; return true;
            case "net.ipv4.tcp_congestion_control" when value.Trim() is "cubic" or "reno":
                TcpCongestionControl = value.Trim();
                return true;
            case var n when Unmodelled.TryGetValue(n, out var allowed):
                if (allowed is null || Array.IndexOf(allowed, value.Trim()) >= 0)
                {
                    _unmodelledValues[n] = value.Trim();
                    return true;
                }
                error = $"sysctl {n}={value.Trim()} is not modelled (the model is {string.Join(" or ", allowed)})";
                return false;
            case "net.core.optmem_max" or "net.ipv4.ip_nonlocal_bind" or "net.core.wmem_default" or "net.core.wmem_max" or "net.core.rmem_default" or "net.core.rmem_max" or "net.ipv4.ip_default_ttl"
                or "net.core.netdev_budget" or "net.core.netdev_budget_usecs" or "net.core.netdev_max_backlog"
                or "net.ipv4.tcp_rmem" or "net.ipv4.tcp_wmem" or "net.ipv4.tcp_timestamps" or "net.ipv4.tcp_sack" or "net.ipv4.tcp_window_scaling"
                or "net.ipv4.tcp_autocorking" or "net.ipv4.tcp_tso_win_divisor" or "net.ipv4.tcp_min_tso_segs" or "net.ipv4.tcp_syn_retries"
                or "net.ipv4.tcp_synack_retries" or "net.ipv4.tcp_syn_linear_timeouts" or "net.ipv4.tcp_retries2" or "net.ipv4.tcp_orphan_retries" or "net.ipv4.tcp_retries1" or "net.ipv4.tcp_mtu_probing" or "net.ipv4.tcp_base_mss" or "net.ipv4.tcp_mtu_probe_floor" or "net.ipv4.tcp_probe_threshold" or "net.ipv4.tcp_probe_interval" or "net.ipv4.tcp_reordering" or "net.ipv4.tcp_frto" or "net.ipv4.tcp_early_retrans" or "net.ipv4.tcp_congestion_control" or "net.ipv4.tcp_moderate_rcvbuf" or "net.ipv4.tcp_invalid_ratelimit" or "net.ipv4.tcp_slow_start_after_idle" or "net.ipv4.tcp_limit_output_bytes" or "net.ipv4.tcp_notsent_lowat"
                or "net.ipv4.tcp_syncookies" or "net.ipv4.tcp_max_syn_backlog" or "net.ipv4.tcp_abort_on_overflow"
                or "net.ipv4.tcp_fastopen" or "net.ipv4.tcp_fastopen_key" or "net.ipv4.tcp_fastopen_blackhole_timeout_sec" or "net.ipv4.tcp_ecn":
                break;
            default:
                error = $"sysctl {name} is not modelled";
                return false;
        }
        error = $"invalid value '{value}' for {name}";
        return false;
    }

    /// <summary>proc_dointvec()'s number: decimal, or hex with 0x (kstrtoul base 0), not negative.</summary>
    private static bool IntBase0(string value, out int v)
    {
        var t = value.Trim();
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return int.TryParse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v) && v >= 0;
        return int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v);
    }

    private static bool Triple(string value, out (int, int, int) t)
    {
        t = default;
        var p = value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (p.Length != 3 || !int.TryParse(p[0], out int a) || !int.TryParse(p[1], out int b) || !int.TryParse(p[2], out int c) || a < 0 || b < a || c < b) return false;
        t = (a, b, c);
        return true;
    }
}
