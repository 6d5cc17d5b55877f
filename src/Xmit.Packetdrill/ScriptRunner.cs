using System.Globalization;
using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Hosting;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Link.Qdiscs;
using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Packetdrill;

/// <summary>
/// Runs a parsed packetdrill script against a fresh Xmit host in virtual time: local 192.168.0.1 on device
/// tun0 (MTU 1500; like packetdrill's tun, the skb is freed as soon as it is transmitted), the remote
/// 192.0.2.1 scripted. System calls go through the fd façade and are compared with the expected result and
/// errno; outbound packets ('&gt;') are matched against what the stack sent, within the tolerance
/// (max(tolerance_usecs, 12.5 % of the gap)); inbound packets ('&lt;') are injected. What the stack or the
/// runner lacks makes the script UNSUPPORTED with the reason.
/// </summary>
public sealed partial class ScriptRunner
{
    private const ushort DefaultPort = 8080;
    private readonly Script _script;
    private readonly Simulation.Simulation _sim;
    private readonly Host _host;
    private readonly NetDevice _tun;
    private readonly Syscalls _sys;
    private readonly Queue<(Instant Time, byte[] Frame)> _sent = new();
    private readonly MacAddress _remoteMac = MacAddress.LocalAdministered(0xFFFE);
    private Ipv4Address _local = new(192, 168, 0, 1);
    private Ipv4Address _remote = new(192, 0, 2, 1);
    private Duration _tolerance = Duration.FromMicroseconds(4000);
    private ushort _lastLocalPort;
    private int? _mtuOption;
    private byte[]? _lastUdpSent;
    private readonly CooperativeScheduler _scheduler = new();
    private readonly BlockingCall _blocking;
    private Configuration.Sysctls? _sysctlsBefore;
    private int _blockingLine;

    private ScriptRunner(Script script, Stream? pcap)
    {
        _script = script;
        _sim = new Simulation.Simulation(1, trackAllocations: false, _scheduler);
        foreach (var o in script.Options)
        {
            switch (o.Name)
            {
                case "local_ip" when Ipv4Address.TryParse(o.Value, out var a): _local = a; break;
                case "remote_ip" when Ipv4Address.TryParse(o.Value, out var a): _remote = a; break;
                case "tolerance_usecs" when long.TryParse(o.Value, out var us): _tolerance = Duration.FromMicroseconds(us); break;
                case "mtu" when int.TryParse(o.Value, out var m): _mtuOption = m; break;
                case "strict_segments": _strictSegments = true; break;
            }
        }
        _host = _sim.AddHost("local");
        // The kernel's jiffies tick (HZ=250) at no fixed point of a script's time: packetdrill on Linux starts a script
        // anywhere within a 4 ms tick, so a timer whose timeout ends near a tick fires a tick early or late from one run
        // to the next. The runner takes the middle case, the script's time zero half a tick after a tick.
        _host.Jiffies.Phase = _host.Jiffies.Tick / 2;
        _tun = _host.AddDevice("tun0", _mtuOption ?? 1500);
        _tun.TxQueueLen = 500;
        // packetdrill's tun device takes TSO and checksum offload: TCP hands it whole GSO skbs, as the script expects them.
        new ImmediateDriver(_tun, new CapturePort(this)) { Features = DeviceFeatures.ScatterGather | DeviceFeatures.HwChecksum | DeviceFeatures.Tso };
        _host.AddAddress(_tun, _local, 16);
        _host.Routes.Add(new Route(_remote, 32, _tun, PreferredSource: _local));
        _host.Neighbours.AddPermanent(_tun, _remote, _remoteMac);
        if (pcap is not null) _sim.Capture(_tun, pcap);
        _sys = new Syscalls(_host);
        _blocking = new BlockingCall(_scheduler);
    }

    /// <summary>Runs <paramref name="script"/>; never throws for anything the script does.</summary>
    public static ScriptResult Run(Script script, Stream? pcap = null, TextWriter? trace = null)
    {
        var reason = Unsupported(script);
        if (reason is not null) return new ScriptResult(script.Path, ScriptStatus.Unsupported, reason);
        var runner = new ScriptRunner(script, pcap);
        try
        {
            return runner.Execute(trace);
        }
        catch (UnsupportedException e)
        {
            return new ScriptResult(script.Path, ScriptStatus.Unsupported, e.Message);
        }
        catch (ScriptValueException e)
        {
            return new ScriptResult(script.Path, ScriptStatus.Fail, e.Message, e.Line);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or NullReferenceException or KeyNotFoundException)
        {
            // A bug in the stack or the runner must not take the whole run down: this script fails, loudly.
            return new ScriptResult(script.Path, ScriptStatus.Fail, $"internal error: {e.GetType().Name}: {e.Message}", 0, "", e.StackTrace?.Split('\n').FirstOrDefault()?.Trim() ?? "", 0);
        }
        finally
        {
            runner._blocking.Dispose();
            runner._sys.CloseAll();
            runner._sim.Shutdown();
            runner._sim.Dispose();
        }
    }

    /// <summary>
    /// <see cref="Run(Script, Stream?, TextWriter?)"/> with a bound on wall-clock time: a script still running after
    /// <paramref name="limit"/> (a loop in the stack or the runner) is reported as FAIL and its thread abandoned,
    /// so a corpus run always ends.
    /// </summary>
    public static ScriptResult Run(Script script, TimeSpan limit, Stream? pcap = null, TextWriter? trace = null)
    {
        ScriptResult? result = null;
        Exception? failure = null;
        var thread = new System.Threading.Thread(() =>
        {
            try
            {
                result = Run(script, pcap, trace);
            }
            catch (Exception e)
            {
                failure = e; // reported below, or dropped with an abandoned run (its pcap stream may be gone)
            }
        }) { IsBackground = true, Name = "packetdrill-script" };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        thread.Start();
        // A run counts as finished only within the limit as measured: Join rounds a tiny limit down to 0 ms, and a
        // fast script may have ended by then, which would make the limit's outcome depend on thread scheduling.
        if (thread.Join(limit) && clock.Elapsed <= limit)
        {
            if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
            return result!;
        }
        return new ScriptResult(script.Path, ScriptStatus.Fail, $"did not finish within {limit.TotalSeconds:0} s of wall-clock time (a loop in the stack or the runner)",
            0, "the script to end", "still running", 0);
    }

    /// <summary>Reasons found before running: IPv6, Python blocks, other encapsulations.</summary>
    private static string? Unsupported(Script s)
    {
        foreach (var e in s.Events)
        {
            switch (e.Action)
            {
                case PacketAction p when p.Tokens.Any(t => t.Text is "ipv6" or "mpls" or "gre"):
                    return $"line {e.Line}: IPv6, MPLS and GRE encapsulation are not supported";
                case SyscallAction c when c.Arguments.Any(a => a is WordExpr { Name: "AF_INET6" }):
                    return $"line {e.Line}: IPv6 is not implemented yet";
            }
        }
        return null;
    }

    private TextWriter? _trace;

    private ScriptResult Execute(TextWriter? trace)
    {
        _trace = trace;
        var start = _sim.Now;
        var previous = start;
        foreach (var e in _script.Events)
        {
            var (expected, lo, hi) = When(e.Time, start, previous);
            trace?.WriteLine($"{(_sim.Now - start).TotalSeconds:0.000000} line {e.Line}: {Describe(e.Action)}");
            // The time the event really happened: the next relative time counts from it.
            var actual = expected;
            switch (e.Action)
            {
                case CommandAction c:
                    RunCommand(c.Command, e.Line);
                    actual = Instant.Max(expected, _sim.Now);
                    break;
                case CodeAction code:
                    if (expected > _sim.Now) _sim.RunUntil(expected);
                    if (RunPython(code, e, start) is { } pyFail) return pyFail;
                    actual = _sim.Now;
                    break;
                case SyscallAction call:
                    if (FinishBlockingCall() is { } earlier) return earlier;
                    if (expected > _sim.Now) _sim.RunUntil(expected);
                    actual = _sim.Now;
                    if (e.Time.BlockingEndSeconds is { } endS)
                    {
                        // Like the start, the end of a relative event counts from the previous event ("+.1...0.4": start
                        // 0.1 and end 0.4 after it); "+" on the end itself counts from the start of the call.
                        var end = (e.Time.BlockingEndRelative ? expected : e.Time.Kind == TimeKind.Relative ? previous : start) + Duration.FromSeconds(endS);
                        // packetdrill runs a blocking call on a thread of its own: the script goes on while it waits.
                        _blockingLine = e.Line;
                        // run_system_call.c checks the return against the call's start (verify_time with the event's own
                        // time as the last event): the slack is 12.5 % of how long the call blocks, when that is more.
                        var endSlack = Duration.Max(_tolerance, (end - expected) / 8);
                        _blocking.Start(() => Call(call, e, start) ?? (_sim.Now < end - endSlack || _sim.Now > end + endSlack
                            ? Fail(e, "blocking call returned at the wrong time", $"return at {(end - start).TotalSeconds:0.000000} s", $"returned at {(_sim.Now - start).TotalSeconds:0.000000} s", start)
                            : null));
                        _blocking.ThrowIfFailed();
                        if (!_blocking.Pending && _blocking.Result is { } r0) return r0;
                        break;
                    }
                    var fail = Call(call, e, start);
                    if (fail is not null) return fail;
                    actual = _sim.Now;
                    break;
                case PacketAction { Direction: '<' } p:
                    if (expected > _sim.Now) _sim.RunUntil(expected);
                    Inject(p, e.Line);
                    _blocking.Poll();
                    _blocking.ThrowIfFailed();
                    if (!_blocking.Pending && _blocking.Result is { } r1) return r1;
                    actual = _sim.Now;
                    break;
                case PacketAction p:
                    var (r, sentAt) = ExpectOutbound(p, e, expected, lo, hi, start);
                    if (r is not null) return r;
                    actual = sentAt;
                    break;
            }
            previous = actual;
            _blocking.ThrowIfFailed();
            if (!_blocking.Pending && _blocking.Result is { } done) return done;
        }
        if (FinishBlockingCall() is { } last) return last;
        // Outbound packets no line asked for are never looked at, as in packetdrill: it reads the stack's
        // packets only when it handles an outbound line (an unlisted one is compared with the next such line
        // and fails there), and what is still unread at the end does not count. --verbose shows them all.
        return new ScriptResult(_script.Path, ScriptStatus.Pass);
    }

    /// <summary>Lets a blocking call still running finish (up to 10 s of script time) before the next call, and returns its failure.</summary>
    private ScriptResult? FinishBlockingCall()
    {
        if (_blocking.Pending) _sim.Scheduler.WaitUntil(() => !_blocking.Pending, _sim.Now + Duration.FromSeconds(10));
        _blocking.ThrowIfFailed();
        if (_blocking.Pending)
            return new ScriptResult(_script.Path, ScriptStatus.Fail, "a blocking call did not return within 10 s of script time", _blockingLine, "return", "still blocked", 0);
        var r = _blocking.Result;
        return r;
    }

    private (Instant Expected, Instant Lo, Instant Hi) When(EventTime t, Instant start, Instant previous)
    {
        if (t.Kind == TimeKind.Any) return (_sim.Now, _sim.Now, Instant.Never);
        var expected = (t.Kind == TimeKind.Relative ? previous : start) + Duration.FromSeconds(t.Seconds);
        var lo = expected;
        var hi = expected;
        if (t.RangeEndSeconds is { } endS) hi = (t.RangeEndRelative ? previous : start) + Duration.FromSeconds(endS);
        // packetdrill's tolerance: the larger of tolerance_usecs and 12.5 % of the gap from the previous event.
        var slack = Duration.Max(_tolerance, (expected - previous) / 8);
        return (expected, lo - slack, hi + slack);
    }

    private ScriptResult Fail(Event e, string reason, string expected, string actual, Instant start) =>
        new(_script.Path, ScriptStatus.Fail, reason, e.Line, expected, actual, (_sim.Now - start).TotalSeconds);

    private static string Describe(ScriptAction a) => a switch
    {
        SyscallAction c => $"{c.Name}(…)",
        PacketAction p => p.ToString(),
        CommandAction c => $"`{c.Command.Trim()}`",
        _ => a.GetType().Name,
    };

    private sealed class UnsupportedException(string message) : Exception(message);

    /// <summary>A value of the script the call cannot take (a negative length): the script FAILs at its line.</summary>
    private sealed class ScriptValueException(int line, string message) : Exception(message)
    {
        public int Line { get; } = line;
    }

    private sealed class CapturePort(ScriptRunner runner) : IWirePort
    {
        public Instant Transmit(SkBuff frame, Instant start)
        {
            var bytes = new byte[frame.Len];
            frame.CopyBits(0, bytes);
            runner._sent.Enqueue((start, bytes));
            runner._trace?.WriteLine($"{start.Nanoseconds / 1e9:0.000000} sent: {runner.SentText(bytes)}");
            return start;
        }
    }

    // ---- shell commands: the few that configure what the stack has ----

    private static readonly System.Text.RegularExpressions.Regex CubicParameterWrite =
        new(@"^echo\s+(\S+)\s*>\s*/sys/module/tcp_cubic/parameters/(\w+)$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>What `../common/defaults.sh` of the corpus does, for a script whose copy of it is not next to it.</summary>
    private static readonly string[] BuiltInDefaults =
    [
        "sysctl -q net.ipv4.tcp_rmem=\"4096 540000 15728640\"", "sysctl -q net.ipv4.tcp_wmem=\"4096 262144 4194304\"",
        "sysctl -q net.ipv4.tcp_timestamps=1", "sysctl -q net.ipv4.tcp_syn_retries=5", "sysctl -q net.ipv4.tcp_synack_retries=5",
        "sysctl -q net.ipv4.tcp_frto=2", "sysctl -q net.ipv4.tcp_sack=1", "sysctl -q net.ipv4.tcp_dsack=1", "sysctl -q net.ipv4.tcp_fack=0",
        "sysctl -q net.ipv4.tcp_reordering=3", "sysctl -q net.ipv4.tcp_congestion_control=cubic", "sysctl -q net.ipv4.tcp_slow_start_after_idle=0",
        "sysctl -q net.ipv4.tcp_early_retrans=4 net.ipv4.tcp_recovery=1", "sysctl -q net.ipv4.tcp_tso_win_divisor=3",
        "sysctl -q net.ipv4.tcp_ecn=0", "sysctl -q net.ipv4.tcp_ecn_option=2", "sysctl -q net.ipv4.tcp_pacing_ss_ratio=200",
        "sysctl -q net.ipv4.tcp_pacing_ca_ratio=120", "sysctl -q net.ipv4.tcp_notsent_lowat=4294967295",
        "sysctl -q net.ipv4.tcp_fastopen=0x70403", "sysctl -q net.ipv4.tcp_fastopen_key=a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4",
        "sysctl -q net.ipv4.tcp_syncookies=1", "tc qdisc add dev tun0 root pfifo",
    ];

    private void RunCommand(string command, int line)
    {
        // Lines, and the commands a ';' separates on one.
        foreach (var raw in command.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n').SelectMany(l => l.Split(';')))
        {
            if (CubicParameterWrite.Match(raw.Trim()) is { Success: true } echo)
            {
                // `echo N > /sys/module/tcp_cubic/parameters/NAME`: the module's parameters are the host's here.
                if (!_host.Sysctls.Cubic.TrySet(echo.Groups[2].Value, echo.Groups[1].Value))
                    throw new UnsupportedException($"line {line}: tcp_cubic parameter not modelled: {raw.Trim()}");
                continue;
            }
            var cmd = Shell.StripRedirections(raw.Trim());
            if (cmd.Length == 0 || cmd.StartsWith('#')) continue;
            var words = Shell.Words(cmd);
            string first = Path.GetFileName(words[0]);
            if (first == "defaults.sh")
            {
                // Run the corpus's own defaults.sh line by line when it is there; its known contents otherwise.
                var file = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(_script.Path)) ?? ".", words[0]);
                RunCommand(string.Join('\n', File.Exists(file) ? File.ReadAllLines(file) : BuiltInDefaults), line);
                continue;
            }
            if (first.StartsWith("sysctl_restore_", StringComparison.Ordinal) && first.EndsWith(".sh", StringComparison.Ordinal))
            {
                // The restore script set_sysctls.py wrote: back to the settings before its first change.
                if (_sysctlsBefore is { } saved) _host.Sysctls.CopyFrom(saved);
                continue;
            }
            if (first == "set_sysctls.py") _sysctlsBefore ??= _host.Sysctls.Snapshot();
            if (first is "set_sysctls.py" || first == "sysctl")
            {
                foreach (var w in words.Skip(1).Where(w => w.Contains('=', StringComparison.Ordinal)))
                    Sysctl(w.Replace("/proc/sys/", "", StringComparison.Ordinal).Replace('/', '.'), line);
                continue;
            }
            if (first == "tc" && words.Length >= 7 && words[1] == "qdisc" && words[2] is "add" or "replace" && words[3] == "dev" && words[5] == "root")
            {
                _tun.SetRootQdisc(Qdisc(words[6..], line));
                continue;
            }
            if (first == "tc" && words is [_, "qdisc", "delete" or "del", "dev", _, "root"])
            {
                _tun.SetRootQdisc(new PfifoFastQdisc(_tun.TxQueueLen)); // back to the device's default qdisc
                continue;
            }
            if (first == "nstat")
            {
                Nstat(cmd, line);
                continue;
            }
            if (first == "grep")
            {
                ProcGrep(cmd, line);
                continue;
            }
            if (first == "ip" && words is [_, "link", "set", "dev", _, "mtu", var mtu] && int.TryParse(mtu, out int m))
            {
                _tun.Mtu = m;
                continue;
            }
            if (first == "ip" && words is [_, "tcp_metrics", "flush", ..])
            {
                _host.Tcp.FlushFastOpenCache(); // the Fast Open cookies are the part of tcp_metrics kept here
                continue;
            }
            if (first == "ethtool" && words.Length >= 4 && words[1] == "-K")
            {
                // tso/gso off: TCP then builds segments of one MSS, as Linux does when the device cannot segment.
                var driver = (ImmediateDriver)_tun.Driver!;
                for (int i = 3; i + 1 < words.Length; i += 2)
                    if (words[i] is "tso" or "gso")
                        driver.Features = words[i + 1] == "off" ? driver.Features & ~DeviceFeatures.Tso : driver.Features | DeviceFeatures.Tso;
                continue;
            }
            throw new UnsupportedException($"line {line}: shell command not supported: {cmd}");
        }
    }

    /// <summary>The TCP counters as the last `nstat` saw them (its history file), by nstat's names.</summary>
    private Dictionary<string, long>? _nstatSeen;

    /// <summary>
    /// `nstat`: the counters that changed since the last nstat, which it then remembers; `nstat | grep NAME` must
    /// find NAME among them (or the line fails, as a shell line that exits non-zero fails a packetdrill script).
    /// Only TCP's counters (Tcp, TcpExt) are modelled.
    /// </summary>
    private void Nstat(string cmd, int line)
    {
        var now = _host.Tcp.Mib.All().ToDictionary(c => Xmit.Transport.Tcp.TcpMib.GroupOf(c.Item1) + c.Item1, c => c.Item2);
        var changed = now.Where(c => c.Value != (_nstatSeen?.GetValueOrDefault(c.Key) ?? 0)).Select(c => c.Key).ToList();
        _nstatSeen = now;
        var pipe = cmd.Split('|', 2);
        if (pipe.Length == 1 && Shell.Words(cmd) is ["nstat"]) return;
        if (pipe.Length == 2 && Shell.Words(pipe[0]) is ["nstat"] && Shell.Words(pipe[1]) is ["grep", var pattern])
        {
            if (!changed.Any(n => n.Contains(pattern, StringComparison.Ordinal)))
                throw new ScriptValueException(line, $"shell command failed: {cmd} (no changed counter matches)");
            return;
        }
        throw new UnsupportedException($"line {line}: shell command not supported: {cmd}");
    }

    /// <summary>
    /// `grep PATTERN /proc/net/tcp [/proc/net/tcp6] | grep PATTERN …`: fixed-string greps over the host's /proc/net/tcp
    /// (ProcNetTcp; tcp6 is empty, there is no IPv6), each file's lines prefixed with its name when several are read,
    /// as grep does. Like the shell line it is, it fails the script when the last grep finds nothing.
    /// </summary>
    private void ProcGrep(string cmd, int line)
    {
        List<string>? lines = null;
        foreach (var stage in cmd.Split('|'))
        {
            var w = Shell.Words(stage.Trim());
            if (w.Length < 2 || w[0] != "grep" || w[1].StartsWith('-')) throw new UnsupportedException($"line {line}: shell command not supported: {cmd}");
            if (lines is null)
            {
                var files = w[2..];
                if (files.Length == 0 || files.Any(f => f is not ("/proc/net/tcp" or "/proc/net/tcp6")))
                    throw new UnsupportedException($"line {line}: shell command not supported: {cmd}");
                lines = [];
                foreach (var f in files)
                {
                    var text = f == "/proc/net/tcp" ? Xmit.Transport.Tcp.ProcNetTcp.Format(_host.Tcp, _sim.Now) : "";
                    foreach (var l in text.Split('\n', StringSplitOptions.RemoveEmptyEntries)) lines.Add(files.Length > 1 ? $"{f}:{l}" : l);
                }
            }
            lines = lines.Where(l => l.Contains(w[1], StringComparison.Ordinal)).ToList();
        }
        _trace?.WriteLine(string.Join('\n', lines!));
        if (lines is not { Count: > 0 }) throw new ScriptValueException(line, $"shell command failed: {cmd} (no line matches)");
    }

    private void Sysctl(string assignment, int line)
    {
        var (key, value) = (assignment.Split('=', 2)[0], assignment.Split('=', 2)[1].Trim('"'));
        if (!_host.Sysctls.TrySet(key, value, out var error)) throw new UnsupportedException($"line {line}: {error}");
    }

    private Qdisc Qdisc(string[] spec, int line)
    {
        var clock = _sim.Scheduler;
        long Arg(string name, Func<string, long> parse, long dflt)
        {
            int i = Array.IndexOf(spec, name);
            return i >= 0 && i + 1 < spec.Length ? parse(spec[i + 1]) : dflt;
        }
        return spec[0] switch
        {
            "pfifo" => FifoQdisc.Packets((int)Arg("limit", long.Parse, Math.Max(1, _tun.TxQueueLen))),
            "pfifo_fast" => new PfifoFastQdisc(_tun.TxQueueLen),
            // A TUN device has no link header: psched_mtu is its MTU.
            "fq" => new FqQdisc(clock, new FqConfig((int)Arg("limit", long.Parse, 10000), (int)Arg("flow_limit", long.Parse, 100),
                (int)Arg("quantum", TcUnits.ParseSize, 0), (int)Arg("initial_quantum", TcUnits.ParseSize, 0), Arg("maxrate", TcUnits.ParseRate, 0) / 8), _tun.Mtu),
            "tbf" => new TbfQdisc(clock, new TbfConfig(Arg("rate", TcUnits.ParseRate, 0), Arg("burst", TcUnits.ParseSize, 0),
                Arg("limit", TcUnits.ParseSize, 0), Arg("peakrate", TcUnits.ParseRate, 0), Arg("mtu", TcUnits.ParseSize, 0))),
            _ => throw new UnsupportedException($"line {line}: qdisc {spec[0]} is not modelled"),
        };
    }

    // ---- packets ----

    private void Inject(PacketAction p, int line)
    {
        if (p.Protocol == "tcp")
        {
            InjectTcp(p, line);
            return;
        }
        if (p.Protocol == "icmp")
        {
            InjectIcmp(p, line);
            return;
        }
        var (ports, length) = UdpSpec(p, line);
        ushort sport = ports?.Src ?? DefaultPort;
        ushort dport = ports?.Dst ?? _lastLocalPort;
        int total = 14 + 20 + 8 + length;
        var skb = TunSkb(total);
        var f = skb.Put(total);
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(_tun.Mac, _remoteMac, EtherType.Ipv4).Emit(eth);
        new UdpRepr(sport, dport, length).Emit(f[34..], _remote, _local);
        new Ipv4Repr(_remote, _local, IpProtocol.Udp, 8 + length).Emit(f[14..]);
        _tun.Receive(skb);
    }

    private static readonly Dictionary<string, (byte Type, byte Code)> IcmpKinds = new()
    {
        ["net_unreachable"] = (3, 0), ["host_unreachable"] = (3, 1), ["protocol_unreachable"] = (3, 2),
        ["port_unreachable"] = (3, 3), ["frag_needed"] = (3, 4), ["time_exceeded"] = (11, 0),
    };

    /// <summary>
    /// &lt; icmp unreachable CODE [mtu N] [udp (LEN)]: an ICMP error from the remote about the last datagram the
    /// stack sent (its IP header and first 8 bytes, as a router or host would quote it).
    /// </summary>
    private void InjectIcmp(PacketAction p, int line)
    {
        var words = p.Tokens.Where(t => t.Kind == TokenKind.Word).Select(t => t.Text).ToList();
        int at = words.IndexOf("icmp");
        string type = at + 1 < words.Count ? words[at + 1] : "";
        string code = at + 2 < words.Count ? words[at + 2] : "";
        // CODE is what packetdrill's run_all.py defines with -D for IPv4 (host_unreachable), as TFO_COOKIE is.
        if (code == "CODE") code = "host_unreachable";
        if (type == "unreachable" && code.Length == 0) code = "net_unreachable"; // packetdrill: a missing code is 0
        var key = type == "time_exceeded" ? "time_exceeded" : code;
        if (type is not ("unreachable" or "time_exceeded") || !IcmpKinds.TryGetValue(key, out var kind))
            throw new UnsupportedException($"line {line}: icmp {type} {code} is not supported");
        int mtuAt = p.Tokens.ToList().FindIndex(t => t.Text == "mtu");
        ushort mtu = mtuAt >= 0 && mtuAt + 1 < p.Tokens.Count ? ushort.Parse(p.Tokens[mtuAt + 1].Text, CultureInfo.InvariantCulture) : (ushort)0;
        ReadOnlySpan<byte> quoted;
        if (_conn is { LiveLocalIsn: { } isn } conn && (_lastUdpSent is null || p.Tokens.Any(t => t.Is("["))))
            quoted = QuotedTcp(p, conn, isn, line); // the TCP connection under test
        else if (_lastUdpSent is not null) quoted = _lastUdpSent.AsSpan(14, Math.Min(28, _lastUdpSent.Length - 14));
        else throw new UnsupportedException($"line {line}: an icmp error needs a datagram or a connection before it");
        int icmpLen = IcmpPacket.HeaderLength + quoted.Length;
        int total = 14 + 20 + icmpLen;
        var skb = TunSkb(total);
        var f = skb.Put(total);
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(_tun.Mac, _remoteMac, EtherType.Ipv4).Emit(eth);
        quoted.CopyTo(f[(34 + IcmpPacket.HeaderLength)..]);
        new IcmpRepr(kind.Type, kind.Code, mtu, quoted.Length).Emit(f[34..]);
        new Ipv4Repr(_remote, _local, IpProtocol.Icmp, icmpLen).Emit(f[14..]);
        _tun.Receive(skb);
    }

    /// <summary>
    /// What an inbound ICMP error quotes about the connection under test, as packetdrill builds it: an IP header
    /// from the local to the remote address and the first 8 bytes of a TCP header with the connection's ports and
    /// the sequence number the script gives in [start:end(len)] (relative to the local ISN; 0 without one).
    /// </summary>
    private byte[] QuotedTcp(PacketAction p, TcpConnection conn, uint isn, int line)
    {
        var toks = p.Tokens.ToList();
        int open = toks.FindIndex(t => t.Is("["));
        uint start = 0;
        int len = 0;
        if (open >= 0)
        {
            // [start:end(len)]
            if (open + 6 >= toks.Count || !uint.TryParse(toks[open + 1].Text, CultureInfo.InvariantCulture, out start)
                || !int.TryParse(toks[open + 5].Text, CultureInfo.InvariantCulture, out len))
                throw new UnsupportedException($"line {line}: cannot read the quoted TCP segment of '{p}'");
        }
        var q = new byte[28];
        new Ipv4Repr(_local, _remote, IpProtocol.Tcp, TcpSegment.MinHeaderLength + len).Emit(q);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(20), conn.LocalPort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(22), conn.RemotePort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(q.AsSpan(24), isn + start);
        return q;
    }

    private (ScriptResult? Failure, Instant SentAt) ExpectOutbound(PacketAction p, Event e, Instant expected, Instant lo, Instant hi, Instant start)
    {
        if (p.Protocol == "tcp") return ExpectTcp(p, e, expected, lo, hi, start);
        if (p.Protocol == "icmp") return ExpectIcmp(p, e, expected, lo, hi, start);
        if (p.Protocol != "udp") throw new UnsupportedException($"line {e.Line}: outbound {p.Protocol} packets are not supported");
        var (ports, length) = UdpSpec(p, e.Line);
        // Wait for the packet: until the end of its window, or 2 s after it for one that is late.
        var deadline = hi == Instant.Never ? _sim.Now + Duration.FromSeconds(2) : hi + Duration.FromSeconds(2);
        _sim.Scheduler.WaitUntil(() => _sent.Count > 0, deadline);
        string want = $"udp ({length}) {_local}:{(ports?.Src.ToString(CultureInfo.InvariantCulture) ?? "*")} > {_remote}:{(ports?.Dst.ToString(CultureInfo.InvariantCulture) ?? "*")} at {(expected - start).TotalSeconds:0.000000} s";
        if (_sent.Count == 0) return (Fail(e, "the stack sent no packet", want, "nothing within 2 s", start), default);
        var (time, frame) = _sent.Dequeue();
        _lastUdpSent = frame;
        if (!Ipv4Packet.TryCreate(frame.AsSpan(14), out var ip) || ip.Protocol != IpProtocol.Udp || !UdpDatagram.TryCreate(ip.Payload, out var udp))
            return (Fail(e, "the stack sent a different packet", want, Summarize(frame), start), time);
        bool ok = udp.Length - 8 == length && ip.Source == _local && ip.Destination == _remote &&
                  (ports is null || udp.SourcePort == ports.Value.Src && udp.DestinationPort == ports.Value.Dst);
        if (!ok) return (Fail(e, "the stack sent a different packet", want, Summarize(frame), start), time);
        if (time < lo || time > hi)
            return (Fail(e, "packet sent at the wrong time", $"between {(lo - start).TotalSeconds:0.000000} and {(hi - start).TotalSeconds:0.000000} s",
                $"sent at {(time - start).TotalSeconds:0.000000} s", start), time);
        return (null, time);
    }

    /// <summary>
    /// &gt; icmp TYPE [CODE]: the next packet the stack sent must be an ICMP message of that type and code (an
    /// unreachable or time exceeded error, or an echo reply), in the time window.
    /// </summary>
    private (ScriptResult? Failure, Instant SentAt) ExpectIcmp(PacketAction p, Event e, Instant expected, Instant lo, Instant hi, Instant start)
    {
        var (parsed, error) = PacketSpecParser.Parse(p);
        if (parsed is not IcmpSpec spec) throw new UnsupportedException($"line {e.Line}: cannot read the icmp packet '{p}': {error}");
        (byte Type, byte? Code) want = spec.Type switch
        {
            "unreachable" when spec.Code is { } c && IcmpKinds.TryGetValue(c, out var k) => (k.Type, k.Code),
            "time_exceeded" => ((byte)11, spec.Code is null ? null : (byte)0),
            "echo_reply" => ((byte)0, (byte)0),
            "echo_request" => ((byte)8, (byte)0),
            _ => throw new UnsupportedException($"line {e.Line}: outbound icmp {spec.Type} {spec.Code} is not supported"),
        };
        string wantText = $"icmp {spec.Type} {spec.Code} at {(expected - start).TotalSeconds:0.000000} s";
        var deadline = hi == Instant.Never ? _sim.Now + Duration.FromSeconds(2) : hi + Duration.FromSeconds(2);
        _sim.Scheduler.WaitUntil(() => _sent.Count > 0, deadline);
        if (_sent.Count == 0) return (Fail(e, "the stack sent no packet", wantText, "nothing within 2 s", start), default);
        var (time, frame) = _sent.Dequeue();
        bool ok = Ipv4Packet.TryCreate(frame.AsSpan(14), out var ip) && ip.Protocol == IpProtocol.Icmp && ip.Payload.Length >= 2
                  && ip.Payload[0] == want.Type && (want.Code is null || ip.Payload[1] == want.Code);
        string got = ip.Protocol == IpProtocol.Icmp && ip.Payload.Length >= 2 ? $"icmp type {ip.Payload[0]} code {ip.Payload[1]}" : Summarize(frame);
        if (!ok) return (Fail(e, "the stack sent a different packet", wantText, got, start), time);
        if (time < lo || time > hi)
            return (Fail(e, "packet sent at the wrong time", $"between {(lo - start).TotalSeconds:0.000000} and {(hi - start).TotalSeconds:0.000000} s",
                $"sent at {(time - start).TotalSeconds:0.000000} s: {got}", start), time);
        return (null, time);
    }

    /// <summary>udp [SPORT>DPORT] (LEN), read by <see cref="PacketSpecParser"/>.</summary>
    private static ((ushort Src, ushort Dst)? Ports, int Length) UdpSpec(PacketAction p, int line)
    {
        var (spec, error) = PacketSpecParser.Parse(p);
        if (spec is not Packetdrill.UdpSpec udp) throw new UnsupportedException($"line {line}: cannot read the udp packet '{p}': {error}");
        return (udp.Ports is { } ports ? ((ushort)ports.Src, (ushort)ports.Dst) : null, udp.Length);
    }

    private static string Summarize(byte[] frame)
    {
        if (!Ipv4Packet.TryCreate(frame.AsSpan(14), out var ip)) return $"{frame.Length}-byte non-IPv4 frame";
        string l4 = ip.Protocol switch
        {
            IpProtocol.Udp when UdpDatagram.TryCreate(ip.Payload, out var u) => $"udp {u.SourcePort}>{u.DestinationPort} ({u.Length - 8})",
            IpProtocol.Icmp => "icmp",
            IpProtocol.Tcp when TcpSegment.TryCreate(ip.Payload, out var t) => $"tcp {t.SourcePort}>{t.DestinationPort} flags 0x{t.Flags:x2} seq {t.Seq} ack {t.Ack} ({t.Payload.Length})",
            _ => $"protocol {ip.Protocol}",
        };
        return $"{ip.Source} > {ip.Destination}: {l4}";
    }

    /// <summary>
    /// The skb an injected packet arrives in. packetdrill writes it to a tun device, whose driver copies it
    /// into one linear buffer from alloc_skb (not a NIC's netdev_alloc_skb), so its truesize — which TCP's
    /// scaling_ratio and window follow — is alloc_skb's, for the packet plus the NET_SKB_PAD headroom tun
    /// reserves (tun->align). What is left at the end is the tailroom that coalescing may copy a next segment into.
    /// </summary>
    /// <remarks>Linux: drivers/net/tun.c tun_get_user(), tun_alloc_skb(); net/core/sock.c sock_alloc_send_pskb()</remarks>
    private SkBuff TunSkb(int length)
    {
        var skb = _sim.Pool.Alloc(Truesize.NetSkbPad + length);
        skb.Reserve(Truesize.NetSkbPad);
        return skb;
    }

}
