using System.Diagnostics;
using Xmit.Hosting;
using Xmit.Link.Qdiscs;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Cli;

/// <summary>
/// `xmit sim tcp`'s story: host A runs a TCP application to host B through the syscall façade, both ends
/// non-blocking — by default a bulk writer (A writes until EAGAIN and again at each write-space wake-up, B reads
/// whatever arrives); request/response and a fixed-rate stream are in the other parts of this class — and the
/// sender's congestion window, buffers and queues are sampled in virtual time.
/// </summary>
public sealed partial class TcpBulk
{
    private static readonly Ipv4Address AddrA = new(198, 18, 0, 1);
    private static readonly Ipv4Address AddrB = new(198, 18, 0, 2);
    private const ushort Port = 5001;

    private readonly TcpBulkConfig _c;
    private readonly Simulation.Simulation _sim;
    private readonly ObservedScheduler _scheduler = new();
    private TcpEnvelopeRecorder? _envelope;
    private readonly Host _a;
    private readonly Host _b;
    private readonly SimulatedConnection _conn;
    private readonly Syscalls _sa;
    private readonly Syscalls _sb;
    private readonly byte[] _writeBuffer;
    private readonly byte[] _readBuffer = new byte[1 << 20];
    private readonly List<TcpSample> _samples = [];
    private readonly List<TcpDetailSample> _detail = [];
    private readonly List<TcpSocketEvent> _events = [];
    private const int MaxEvents = 10_000;
    private readonly Dictionary<string, long> _errors = [];
    private int _client = -1, _server = -1;
    private TcpSock? _ska, _skb;
    private Timer? _writer, _reader, _sampler, _detailSampler;
    private Instant _start, _end;
    private bool _ended;
    private long _writes, _bytesWritten, _eagain, _wakeups, _received, _receivedAtEnd;
    private bool _waitingForSpace;
    private TcpEagainExplanation? _firstEagain;
    private TcpBytesAtEnd? _atEnd;
    private readonly Buffers.SkBuffPool _poolA = new(), _poolB = new();
    private TcpBulkLedger? _ledger;

    public TcpBulk(TcpBulkConfig config, Stream? pcap = null)
    {
        if (config.Validate() is { } error) throw new ArgumentException(error, nameof(config));
        _c = config;
        _sim = new Simulation.Simulation(config.Seed, scheduler: _scheduler);
        // A pool each: the kfree_skb counts by reason of the ledger are then each host's own.
        _a = _sim.AddHost("A", _poolA);
        _b = _sim.AddHost("B", _poolB);
        var link = new LinkConfig { RateBitsPerSecond = config.RateBitsPerSecond, Propagation = config.Propagation, LossRate = config.LossRate, Faults = config.Faults };
        var ring = DeviceKnobs.Ring(new Link.Drivers.RingDriverConfig { Tso = config.Tso }, config.Device);
        _conn = _sim.Connect(_a, AddrA, _b, AddrB, 24, link, ring, config.Mtu, config.TxQueues);
        config.Device.Apply(_conn.DeviceA);
        _conn.DeviceA.SetRootQdisc(config.Qdisc.Create(_sim.Scheduler, _conn.DeviceA));
        if (pcap is not null) _sim.Capture(_conn.DeviceA, pcap);
        if (!_a.Sysctls.TrySet("net.ipv4.tcp_congestion_control", config.CongestionControl, out var e)) throw new ArgumentException(e, nameof(config));
        _a.Sysctls.TcpEcn = _b.Sysctls.TcpEcn = config.Ecn;
        _a.Sysctls.TcpAutocorking = config.Autocorking;
        _sa = new Syscalls(_a);
        _sb = new Syscalls(_b);
        _writeBuffer = new byte[config.WriteSize];
        for (int i = 0; i < _writeBuffer.Length; i++) _writeBuffer[i] = (byte)i;
    }

    public TcpBulkConfig Config => _c;

    /// <summary>Runs the scenario; <paramref name="progress"/> gets the fraction done now and then.</summary>
    public TcpBulkReport Run(Action<double>? progress = null)
    {
        var wall = Stopwatch.StartNew();
        Open();
        _ledger = new TcpBulkLedger(_a, _poolA, _b, _poolB, _conn);
        _start = _sim.Now;
        _end = _start + _c.Duration;
        _writer = new Timer(_sim.Scheduler, _c.App switch
        {
            TcpApplication.RequestResponse => WriteRequest,
            TcpApplication.Stream => WriteStream,
            _ => Write,
        }, "writer");
        _reader = new Timer(_sim.Scheduler, _c.App == TcpApplication.RequestResponse ? ReadRequest : Read, "reader");
        _sampler = new Timer(_sim.Scheduler, TakeSample, "sampler");
        _detailSampler = new Timer(_sim.Scheduler, TakeDetailSample, "detail sampler");
        _ska!.StreamWriteSpace += _ => { if (_waitingForSpace) { _waitingForSpace = false; _wakeups++; Event("EPOLLOUT"); Soon(_writer); } };
        _skb!.DataReady += _ => Soon(_reader);
        StartApplication();
        var endMark = new Timer(_sim.Scheduler, MarkEnd, "end");
        endMark.Arm(_end);
        _sampler.Arm(_start);
        _detailSampler.Arm(_start);
        if (_c.App == TcpApplication.Bulk) _writer.Arm(_start);
        if (_c.App == TcpApplication.RequestResponse) ReadRequest(); else Read(); // anything that came with the handshake
        _envelope = new TcpEnvelopeRecorder(_c.Duration.TotalMilliseconds);
        Observe();
        _scheduler.AfterInstant = Observe;
        var slice = Duration.FromNanoseconds(Math.Max(1, _c.Duration.Nanoseconds / 100));
        for (var t = _start; t < _end; t += slice)
        {
            _sim.RunUntil(Instant.Min(t + slice, _end));
            progress?.Invoke((_sim.Now - _start).TotalSeconds / _c.Duration.TotalSeconds);
        }
        if (!_ended) MarkEnd();
        _scheduler.AfterInstant = null;
        wall.Stop();
        var report = BuildReport(wall.Elapsed.TotalSeconds);
        _sa.CloseAll();
        _sb.CloseAll();
        _sim.Shutdown();
        _sim.Dispose();
        return report with { LeakedSkbs = _poolA.Outstanding + _poolB.Outstanding };
    }

    /// <summary>Resolves ARP, then connects A to B's listener (options set as the config says) and accepts.</summary>
    private void Open()
    {
        _a.Icmp.SendEchoRequest(AddrB, 1, 1, 8);
        _sim.RunFor(Duration.FromMilliseconds(10) + (_c.Propagation + LinkFaultOptions.MaxExtraDelay(_c.Faults)) * 2);
        int listener = _sb.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        if (_c.RcvBuf is { } rcv) Check(_sb.SetSockOpt(listener, SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, rcv), "setsockopt(SO_RCVBUF)");
        Check(_sb.Bind(listener, new SockAddrIn(AddrB, Port)), "bind");
        Check(_sb.Listen(listener, 8), "listen");
        _client = _sa.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        if (_c.SndBuf is { } snd) Check(_sa.SetSockOpt(_client, SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, snd), "setsockopt(SO_SNDBUF)");
        if (_c.NoDelay) Check(_sa.SetSockOpt(_client, SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY, 1), "setsockopt(TCP_NODELAY)");
        // A bulk stream is one endless message: corked once, never uncorked (rr and stream cork each message).
        if (_c.Cork && _c.App == TcpApplication.Bulk) Cork(true);
        int rc = _sa.Connect(_client, new SockAddrIn(AddrB, Port));
        if (rc != -(int)Errno.EINPROGRESS) Check(rc, "connect");
        var deadline = _sim.Now + Duration.FromSeconds(60);
        while ((_server = _sb.Accept(listener, out _)) < 0 && _sim.Now < deadline) _sim.RunFor(Duration.FromMilliseconds(1));
        if (_server < 0) throw new TcpBulkException("no connection within 60 s of virtual time (is the link losing every SYN?)");
        Check(_sb.Fcntl(_server, Fcntl.F_SETFL, Fcntl.O_RDWR | Fcntl.O_NONBLOCK), "fcntl(O_NONBLOCK)"); // accept() does not inherit O_NONBLOCK
        Check(_sb.Close(listener), "close");
        _ska = ((TcpSocketFile)_sa.File(_client)!).Sk;
        _skb = ((TcpSocketFile)_sb.File(_server)!).Sk;
    }

    /// <summary>The application's own timers and wake-ups; bulk's writer is armed by <see cref="Run"/> as it always was.</summary>
    private void StartApplication()
    {
        if (_c.App == TcpApplication.RequestResponse) StartRequestResponse();
        else if (_c.App == TcpApplication.Stream) StartStream();
    }

    private static void Check(int rc, string call)
    {
        if (rc < 0) throw new TcpBulkException($"{call} failed: {(Errno)(-rc)}");
    }

    private void Soon(Timer t)
    {
        if (!t.IsArmed) t.Arm(_sim.Now);
    }

    /// <summary>A's loop: write until EAGAIN, then wait for the write-space wake-up (EPOLLOUT).</summary>
    private void Write()
    {
        if (_ended) return;
        while (true)
        {
            int rc = _sa.Write(_client, _writeBuffer);
            _writes++;
            if (rc > 0)
            {
                _bytesWritten += rc;
                continue;
            }
            if (rc == -(int)Errno.EAGAIN)
            {
                _eagain++;
                Event("EAGAIN");
                _firstEagain ??= ExplainEagain();
                _waitingForSpace = true;
                if (_ska!.StreamWriteable) Soon(_writer!); // room came back already
                return;
            }
            var name = ((Errno)(-rc)).ToString();
            _errors[name] = _errors.GetValueOrDefault(name) + 1;
            return;
        }
    }

    /// <summary>B's loop: read until EAGAIN.</summary>
    private void Read()
    {
        while (true)
        {
            int rc = _sb.Read(_server, _readBuffer);
            if (rc <= 0) return;
            _received += rc;
            if (_c.App == TcpApplication.Stream) StreamDelivered();
        }
    }

    /// <summary>setsockopt(TCP_CORK) on A: clearing it pushes what the cork held (tcp_push_pending_frames).</summary>
    private void Cork(bool on) => Check(_sa.SetSockOpt(_client, SockOpt.IPPROTO_TCP, SockOpt.TCP_CORK, on ? 1 : 0), "setsockopt(TCP_CORK)");

    /// <summary>
    /// One write() of the first <paramref name="count"/> bytes of the buffer for rr and stream, counted as the bulk writer
    /// counts its calls: the bytes taken (maybe fewer than asked), 0 on EAGAIN (then the writer waits for EPOLLOUT), −1 on another error.
    /// </summary>
    private int WriteOnce(int count)
    {
        int rc = _sa.Write(_client, _writeBuffer.AsSpan(0, count));
        _writes++;
        if (rc > 0)
        {
            _bytesWritten += rc;
            return rc;
        }
        if (rc == -(int)Errno.EAGAIN)
        {
            _eagain++;
            Event("EAGAIN");
            _firstEagain ??= ExplainEagain();
            _waitingForSpace = true;
            if (_ska!.StreamWriteable) Soon(_writer!);
            return 0;
        }
        var name = ((Errno)(-rc)).ToString();
        _errors[name] = _errors.GetValueOrDefault(name) + 1;
        return -1;
    }

    private TcpEagainExplanation ExplainEagain()
    {
        var sk = _ska!;
        int notSent = Ioctl(_sa, _client, Sockets.Api.Ioctl.SIOCOUTQNSD);
        int inFlight = (int)(sk.SndNxt - sk.SndUna);
        string text = $"wmem_queued {sk.WmemQueued} >= sndbuf {sk.SndBuf}: {notSent} bytes not yet sent, {inFlight} in flight " +
                      $"(cwnd {sk.SndCwnd} segments, mss {sk.MssCache}, peer's window {sk.SndWnd})";
        return new TcpEagainExplanation(Ms(_sim.Now), sk.WmemQueued, sk.SndBuf, notSent, inFlight, sk.SndCwnd, sk.SndWnd, text);
    }

    private void Event(string kind)
    {
        if (_events.Count < MaxEvents) _events.Add(new TcpSocketEvent(Ms(_sim.Now), kind, _ska!.WmemQueued));
    }

    private static int Ioctl(Syscalls s, int fd, uint request) => s.Ioctl(fd, request, out int v) < 0 ? 0 : v;

    private void MarkEnd()
    {
        _ended = true;
        _receivedAtEnd = _received;
        var sk = _ska!;
        var q = _conn.DeviceA.RootQdiscTotals;
        _atEnd = new TcpBytesAtEnd(Ioctl(_sa, _client, Sockets.Api.Ioctl.SIOCOUTQNSD), (int)(sk.SndNxt - sk.SndUna), sk.WmemAlloc, q.Backlog,
            Ioctl(_sb, _server, Sockets.Api.Ioctl.SIOCINQ), sk.WmemQueued, sk.SndBuf);
        _sampler?.Disarm();
        _detailSampler?.Disarm();
        TakeSampleOnly();
        if (_sim.Now - _start <= _c.DetailSpan && (_detail.Count == 0 || _detail[^1].AtMs < Ms(_sim.Now))) TakeDetailSampleOnly(); // a run shorter than the span ends its series too
    }

    private void TakeSample()
    {
        TakeSampleOnly();
        if (_sim.Now + _c.SampleInterval < _end) _sampler!.ArmAfter(_c.SampleInterval);
    }

    private void TakeSampleOnly()
    {
        var a = _ska!;
        var b = _skb!;
        var q = _conn.DeviceA.RootQdiscTotals;
        long ssthresh = a.SndSsthresh >= TcpProtocol.InfiniteSsthresh ? -1 : a.SndSsthresh;
        _samples.Add(new TcpSample(Ms(_sim.Now), a.SndCwnd, ssthresh, a.SmoothedRttUs, a.SndBuf, a.WmemQueued, a.WmemAlloc, a.SndWnd,
            b.RcvBuf, q.Backlog, a.NotSentBytes, (int)(a.SndNxt - a.SndUna), _received, a.PacketsInFlight, _a.Tcp.SmallQueueLimitNow(a)));
        Observe(); // a sample taken amid an instant's events joins the envelope too
    }

    /// <summary>At the end of every instant (and at each sample): what the whole-run plots draw, into their min/max per pixel column (allocates nothing).</summary>
    private void Observe()
    {
        var a = _ska!;
        Span<long> v = stackalloc long[8];
        v[(int)TcpPlotted.Cwnd] = a.SndCwnd;
        v[(int)TcpPlotted.PacketsInFlight] = a.PacketsInFlight;
        v[(int)TcpPlotted.WmemQueued] = a.WmemQueued;
        v[(int)TcpPlotted.SndBuf] = a.SndBuf;
        v[(int)TcpPlotted.WmemAlloc] = a.WmemAlloc;
        v[(int)TcpPlotted.TsqLimit] = _a.Tcp.SmallQueueLimitNow(a);
        v[(int)TcpPlotted.QdiscBacklog] = _conn.DeviceA.RootQdiscTotals.Backlog;
        v[(int)TcpPlotted.SrttUs] = a.SmoothedRttUs;
        _envelope!.Observe(Ms(_sim.Now), v);
    }

    private void TakeDetailSample()
    {
        TakeDetailSampleOnly();
        var next = _sim.Now + _c.DetailInterval;
        if (next <= _start + _c.DetailSpan && next < _end) _detailSampler!.Arm(next);
    }

    private void TakeDetailSampleOnly()
    {
        var a = _ska!;
        _detail.Add(new TcpDetailSample(Ms(_sim.Now), a.SndCwnd, a.PacketsInFlight, a.SmoothedRttUs, a.SndBuf, a.WmemQueued, a.WmemAlloc,
            _a.Tcp.SmallQueueLimitNow(a), _conn.DeviceA.RootQdiscTotals.Backlog));
        Observe();
    }

    private double Ms(Instant t) => (t - _start).TotalMilliseconds;

    private TcpBulkReport BuildReport(double wallSeconds)
    {
        var a = _ska!;
        int mss = a.MssCache;
        int ipLen = mss + 40 + (a.TimestampOk ? 12 : 0);
        int frameBytes = ipLen + 14;
        double wireCapacity = _c.RateBitsPerSecond * (mss * 8.0 / new LinkConfig().WireBits(frameBytes));
        string limit = "the wire";
        double capacity = wireCapacity;
        long limitRate = _c.RateBitsPerSecond;
        if (_c.Qdisc.Tbf is { } tbf && tbf.RateBitsPerSecond * (double)mss / frameBytes < wireCapacity)
        {
            capacity = tbf.RateBitsPerSecond * (double)mss / frameBytes; // tbf counts frame bytes
            limit = "tbf";
            limitRate = tbf.RateBitsPerSecond;
        }
        double seconds = _c.Duration.TotalSeconds;
        double goodput = _receivedAtEnd * 8 / seconds;
        var mib = _a.Tcp.Mib;
        return new TcpBulkReport
        {
            Scenario = Describe(),
            Seed = _c.Seed,
            DurationMs = _c.Duration.TotalMilliseconds,
            WallSeconds = wallSeconds,
            SimulatedEvents = _sim.Scheduler.EventsRun,
            Goodput = new TcpGoodput(0, _c.Duration.TotalMilliseconds, _receivedAtEnd, goodput, capacity, limit, limitRate, mss, frameBytes,
                capacity > 0 ? goodput / capacity : 0),
            Writes = new TcpWrites(_c.WriteSize, _writes, _bytesWritten, _eagain, _wakeups, _errors),
            FirstEagain = _firstEagain,
            AtEnd = _atEnd!,
            Retransmissions = new TcpRetransmissions(mib.RetransSegs, mib.FastRetrans, mib.Timeouts, mib.LossProbes, _a.Tcp.CwrEntered),
            CongestionControl = a.CongestionOps.Name,
            SenderCounters = NonZero(mib),
            ReceiverCounters = NonZero(_b.Tcp.Mib),
            Wire = [WireDirection.Of(_conn.Link.A), WireDirection.Of(_conn.Link.B)],
            Qdisc = _conn.DeviceA.RootQdiscTotals.Describe(),
            TcQdiscShow = Link.Qdiscs.TcQdiscShow.Lines(_conn.DeviceA),
            Samples = _samples,
            DetailSamples = _detail,
            Envelope = _envelope!.Build(),
            Events = _events,
            Ledger = _ledger!.Build(),
            TcpCounters = _ledger.TcpCounters(),
            RequestResponse = _c.App == TcpApplication.RequestResponse ? BuildRequestResponse(seconds) : null,
            Stream = _c.App == TcpApplication.Stream ? BuildStream(seconds) : null,
            Ss = new Dictionary<string, IReadOnlyList<string>> { [_a.Name] = SsView.Lines(_a, a), [_b.Name] = SsView.Lines(_b, _skb!) },
            Nstat = new Dictionary<string, IReadOnlyList<string>> { [_a.Name] = NstatView.Lines(_a), [_b.Name] = NstatView.Lines(_b) },
        };
    }

    private static Dictionary<string, long> NonZero(TcpMib mib)
    {
        var d = new Dictionary<string, long>();
        foreach (var (name, v) in mib.All()) if (v != 0) d[name] = v;
        return d;
    }

    public string Describe() =>
        $"A ({AddrA}) → B ({AddrB}) :{Port}, {DescribeApp()}, non-blocking {_c.WriteSize}-byte writes{(_c.NoDelay ? ", TCP_NODELAY" : "")}{(_c.Cork ? ", TCP_CORK" : "")}{(_c.Autocorking == 0 ? ", tcp_autocorking 0" : "")}, " +
        $"sndbuf {(_c.SndBuf is { } s ? $"{s} (set)" : "autotuned")}, rcvbuf {(_c.RcvBuf is { } r ? $"{r} (set)" : "autotuned")}, {_c.CongestionControl}; " +
        $"link {TcUnits.FormatRate(_c.RateBitsPerSecond)}/s, delay {_c.Propagation}, loss {_c.LossRate:0.###}{(_c.Faults.Any ? ", " + LinkFaultOptions.Describe(_c.Faults) : "")}, MTU {_c.Mtu}{DescribeDevice()}; " +
        $"qdisc {_c.Qdisc}; {_c.Duration} of virtual time, seed {_c.Seed}";

    private string DescribeApp() => _c.App switch
    {
        TcpApplication.RequestResponse => $"request/response ({_c.RequestSize}-byte requests, {_c.ResponseSize}-byte responses)",
        TcpApplication.Stream => $"a {TcUnits.FormatRate(_c.StreamRateBitsPerSecond)}/s stream (a write every {_c.StreamInterval})",
        _ => "bulk TCP",
    };

    /// <summary>Device knobs that differ from the defaults (nothing for a default run, whose scenario line stays as it was).</summary>
    private string DescribeDevice()
    {
        var d = _c.Device.Describe();
        if (_c.Tso) d = d.Length == 0 ? "TSO on" : d + ", TSO on";
        return d.Length == 0 ? "" : ", " + d;
    }
}

/// <summary>The scenario could not run (the connection never came up, a call failed): a message for the user.</summary>
public sealed class TcpBulkException(string message) : Exception(message);
