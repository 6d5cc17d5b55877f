using System.Buffers.Binary;
using System.Diagnostics;
using Xmit.Applications;
using Xmit.Hosting;
using Xmit.Link.Drivers;
using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Cli;

/// <summary>
/// `xmit sim`'s story: host A sends UDP to host B as fast as it can — non-blocking with epoll (or blocking) —
/// across one simulated link, and every layer is watched: the socket's wmem_alloc against sndbuf, the
/// qdisc, the driver ring, the wire; each EAGAIN and EPOLLOUT; one-way latency at B.
/// </summary>
public sealed class UdpFlood
{
    private static readonly Ipv4Address AddrA = new(198, 18, 0, 1);
    private static readonly Ipv4Address AddrB = new(198, 18, 0, 2);
    private const ushort Port = 9;
    private const int MaxEvents = 10_000;

    private readonly UdpFloodConfig _c;
    private readonly Simulation.Simulation _sim;
    private readonly Host _a;
    private readonly Host _b;
    private readonly SimulatedConnection _conn;
    private readonly UdpSocket _socket;
    private readonly Transport.Udp.UdpSock _sink;
    private readonly List<Sample> _samples = [];
    private readonly List<Sample> _detail = [];
    private readonly List<SocketEvent> _events = [];
    private readonly List<long> _latencies = [];
    private readonly Dictionary<string, long> _errors = [];
    private readonly byte[] _payload;
    private readonly byte[] _rxBuffer = new byte[65536];
    private readonly Timer _sampler;
    private readonly Timer _detailSampler;
    private Instant _detailEnd;
    private long _detailLastBusy;
    private readonly Timer _appDelay;
    private readonly Action _resumeWritable;
    private Instant _end;
    private long _sent, _delivered, _eagain, _epollout, _bytesSent, _sequence;
    private long _lastWireBytes;
    private EagainExplanation? _firstEagain;
    private EpolloutExplanation? _firstEpollout;
    private Instant _lastEagainAt;
    private long _lastEagainWmem;
    private long _qdiscMaxBytes, _ringMaxBytes;
    private int _qdiscMaxPackets;
    private double _sumQdisc, _sumRing, _sumAwaiting, _sumWmem;
    private int _sumCount;
    private UdpFloodLedger? _ledger;
    private long _blockedSends;
    private Duration _blockedTime;
    private int _corkPart;
    private long _chargePerDatagram;
    private Instant _lastDelivery;
    private long _deliveredByEnd;

    public UdpFlood(UdpFloodConfig config, Stream? pcap = null)
    {
        if (config.Validate() is { } error) throw new ArgumentException(error, nameof(config));
        _c = config;
        _sim = new Simulation.Simulation(config.Seed);
        // A pool each: the kfree_skb reasons (the ledger's, the tracepoint's) are then each host's own.
        _a = _sim.AddHost("A", new Buffers.SkBuffPool());
        _b = _sim.AddHost("B", new Buffers.SkBuffPool());
        var link = new LinkConfig { RateBitsPerSecond = config.RateBitsPerSecond, Propagation = config.Propagation, LossRate = config.LossRate, Faults = config.Faults };
        var ring = DeviceKnobs.Ring(new RingDriverConfig { RxRingSize = config.RxRingSize, RxCoalesceDelay = config.RxUsecs, RxCoalesceFrames = config.RxFrames }, config.Device);
        foreach (var h in new[] { _a, _b })
        {
            h.Sysctls.NetdevBudget = config.NetdevBudget;
            h.Sysctls.NetdevBudgetUsecs = config.NetdevBudgetUsecs;
            h.Sysctls.NetdevMaxBacklog = config.NetdevMaxBacklog;
        }
        _b.RxSoftirq.PacketCost = config.RxCost;
        _conn = _sim.Connect(_a, AddrA, _b, AddrB, 24, link, ring, config.Mtu, config.TxQueues);
        config.Device.Apply(_conn.DeviceA);
        _conn.DeviceA.SetRootQdisc(config.Qdisc.Create(_sim.Scheduler, _conn.DeviceA));
        if (pcap is not null) _sim.Capture(_conn.DeviceA, pcap);

        _socket = new UdpSocket(_a, config.Blocking);
        if (config.SndBuf is { } sndbuf) _socket.SendBufferSize = sndbuf;
        _socket.Connect(AddrB, Port);
        _sink = _b.Udp.Bind(AddrB, Port, rcvBuf: 64 << 20);
        _sink.DataReady += _ => Drain();
        _payload = new byte[config.Payload];
        _sampler = new Timer(_sim.Scheduler, TakeSample, "sampler");
        _detailSampler = new Timer(_sim.Scheduler, TakeDetailSample, "detail-sampler");
        _appDelay = new Timer(_sim.Scheduler, SendLoop, "app");
        _resumeWritable = ResumeWritable;
    }

    public UdpFloodConfig Config => _c;
    public Simulation.Simulation Simulation => _sim;

    /// <summary>Runs the scenario; <paramref name="progress"/> gets the fraction done now and then.</summary>
    public UdpFloodReport Run(Action<double>? progress = null)
    {
        var wall = Stopwatch.StartNew();
        // Resolve ARP first, so the story starts with the data path (as a warmed-up host would).
        _a.Icmp.SendEchoRequest(AddrB, 1, 1, 8);
        _sim.RunFor(Duration.FromMilliseconds(10));
        var start = _sim.Now;
        _ledger = new UdpFloodLedger(_a, _b, _conn);
        _end = start + _c.Duration;
        _sampleInterval = Duration.FromNanoseconds(Math.Max(1000, _c.Duration.Nanoseconds / _c.Samples));
        _sampleStart = start;
        _lastWireBytes = WireBusy();
        _busyAtStart = _lastWireBytes;
        // Taken by a timer at the end instant: a blocking send may run time past it inside its wait.
        var endMark = new Timer(_sim.Scheduler, () => { _busyAtEnd = WireBusy(); _deliveredByEnd = _delivered; }, "end");
        endMark.Arm(_end);
        _sampler.Arm(start);
        _detailEnd = start + Duration.Min(_c.Duration, DetailWindow);
        _detailLastBusy = _lastWireBytes;
        _detailSampler.Arm(start);
        var kick = new Timer(_sim.Scheduler, SendLoop, "app-start");
        kick.Arm(start);
        var slice = Duration.FromNanoseconds(Math.Max(1, _c.Duration.Nanoseconds / 100));
        for (var t = start; t < _end; t += slice)
        {
            _sim.RunUntil(Instant.Min(t + slice, _end));
            progress?.Invoke((_sim.Now - start).TotalSeconds / _c.Duration.TotalSeconds);
        }
        _sampler.Disarm();
        _sim.RunFor(Duration.FromMilliseconds(500) + (_c.Propagation + LinkFaultOptions.MaxExtraDelay(_c.Faults)) * 2); // let what is in flight arrive
        wall.Stop();
        var report = BuildReport(start, wall.Elapsed.TotalSeconds);
        var kernel = _socket.Kernel;
        _socket.Dispose();
        _sim.Shutdown();
        _sim.Dispose();
        // Everything charged came back and every skb went back to the pool: the run proves it leaks nothing.
        return report with { LeakedSkbs = _a.Pool.Outstanding + _b.Pool.Outstanding, FinalWmemAlloc = kernel.WmemAlloc };
    }

    private Duration _sampleInterval;
    private Instant _sampleStart;
    private long _busyAtStart, _busyAtEnd;

    /// <summary>
    /// The sending application, an epoll loop: sends until EAGAIN, waits for EPOLLOUT, and pays
    /// <see cref="UdpFloodConfig.SyscallCost"/> of virtual time after each send. It is written as callbacks — the
    /// "app" timer after a send's cost, the EPOLLOUT wake-up after EAGAIN — rather than as an async method: an await
    /// per datagram (the state machine's box, its execution context, a value-task source) was ~3 % of a 10 Gbit/s
    /// flood's time. The events are the same: the awaits' continuations also ran inline when the timer or the
    /// wake-up fired. The cork position lives in <see cref="_corkPart"/>.
    /// </summary>
    private void SendLoop()
    {
        var flags = MsgFlags.None;
        while (_sim.Now < _end)
        {
            int part = _corkPart;
            bool more = part < _c.Cork - 1;
            if (part == 0) Stamp();
            long wmemBefore = _socket.Kernel.WmemAlloc;
            var before = _sim.Now;
            var r = _socket.Send(_payload, more ? flags | MsgFlags.More : flags);
            if (_sim.Now > before)
            {
                // Virtual time passed inside the call: a blocking sendto slept in sock_alloc_send_skb.
                _blockedSends++;
                _blockedTime += _sim.Now - before;
            }
            // What one datagram charges (all its fragments' skbs): measured on a send that charged at all, since
            // nothing completes inside the call.
            if (r.Ok && !more && _chargePerDatagram == 0 && _socket.Kernel.WmemAlloc > wmemBefore && part == 0)
                _chargePerDatagram = _socket.Kernel.WmemAlloc - wmemBefore;
            if (r.Ok)
            {
                if (!more)
                {
                    _sent++;
                    _bytesSent += (long)_payload.Length * _c.Cork;
                }
                _corkPart = more ? part + 1 : 0;
            }
            else if (r.WouldBlock)
            {
                _eagain++;
                OnEagain();
                var writable = _socket.WaitWritableAsync().GetAwaiter();
                if (!writable.IsCompleted)
                {
                    writable.UnsafeOnCompleted(_resumeWritable); // runs inline at the wake-up's instant
                    return;
                }
                _epollout++;
                OnEpollout();
                continue; // retry at once, as an epoll loop does
            }
            else
            {
                _errors[r.Error.ToString()] = _errors.GetValueOrDefault(r.Error.ToString()) + 1;
                _corkPart = 0;
            }
            if (_c.SyscallCost != Duration.Zero)
            {
                _appDelay.ArmAfter(_c.SyscallCost); // SendLoop again when it fires
                return;
            }
        }
    }

    private void ResumeWritable()
    {
        _epollout++;
        OnEpollout();
        SendLoop();
    }

    private void Stamp()
    {
        BinaryPrimitives.WriteInt64BigEndian(_payload, _sim.Now.Nanoseconds);
        BinaryPrimitives.WriteInt64BigEndian(_payload.AsSpan(8), ++_sequence);
    }

    private void Drain()
    {
        while (_b.Udp.Receive(_sink, _rxBuffer) is not null)
        {
            _delivered++;
            _lastDelivery = _sim.Now;
            long sent = BinaryPrimitives.ReadInt64BigEndian(_rxBuffer);
            _latencies.Add(_sim.Now.Nanoseconds - sent);
        }
    }

    private int Truesize => Buffers.Truesize.ForAllocSkb(Math.Min(_payload.Length * _c.Cork + 8 + 20, _c.Mtu) + 16 + 15);

    /// <summary>IP packets one datagram becomes: 1, or its fragments (each carrying a multiple of 8 bytes but the last).</summary>
    /// <remarks>Linux: net/ipv4/ip_output.c __ip_append_data() (fragheaderlen, maxfraglen)</remarks>
    public int FramesPerDatagram
    {
        get
        {
            int udpLen = _payload.Length * _c.Cork + 8;
            if (udpLen + 20 <= _c.Mtu) return 1;
            int perFragment = (_c.Mtu - 20) & ~7;
            return (udpLen + perFragment - 1) / perFragment;
        }
    }

    private void OnEagain()
    {
        var sk = _socket.Kernel;
        _lastEagainAt = _sim.Now;
        _lastEagainWmem = sk.WmemAlloc;
        if (_events.Count < MaxEvents) _events.Add(new SocketEvent(Ms(_sim.Now), "EAGAIN", sk.WmemAlloc, _conn.DeviceA.RootQdiscTotals.Backlog));
        if (_firstEagain is not null) return;
        var q = _conn.DeviceA.RootQdiscTotals;
        int ts = Truesize;
        int k = FramesPerDatagram;
        // A fragmented datagram charges every fragment's skb: count datagrams by what one really charged.
        long perDatagram = _chargePerDatagram > 0 ? _chargePerDatagram : (long)ts * k;
        int datagrams = (int)Math.Round(sk.WmemAlloc / (double)perDatagram);
        int onRing = _conn.RingA.RingPackets() - _conn.RingA.RingAwaitingCompletion();
        int awaiting = _conn.RingA.RingAwaitingCompletion();
        int inNeighbour = _a.Neighbours.QueuedPackets;
        string unit = k == 1 ? "" : " frames";
        string charged = k == 1
            ? $"{datagrams} datagrams of truesize {perDatagram} charged to the socket"
            : $"{datagrams} datagrams of {k} fragments each ({perDatagram} bytes of truesize per datagram, {datagrams * k} frames) charged to the socket";
        string text = $"wmem_alloc {sk.WmemAlloc} ≥ sndbuf {sk.SndBuf}: {charged} — " +
                      $"{q.QLen}{unit} waiting in qdisc {q.Kind}, {onRing}{unit} on the driver ring, {awaiting}{unit} sent and awaiting TX completion" +
                      (inNeighbour > 0 ? $", {inNeighbour}{unit} in the neighbour queue waiting for ARP" : "");
        _firstEagain = new EagainExplanation(Ms(_sim.Now), sk.WmemAlloc, sk.SndBuf, datagrams, (int)perDatagram, q.QLen, onRing, awaiting, q.Kind, text)
            { FramesPerDatagram = k, InNeighbourQueue = inNeighbour };
    }

    private void OnEpollout()
    {
        var sk = _socket.Kernel;
        if (_events.Count < MaxEvents) _events.Add(new SocketEvent(Ms(_sim.Now), "EPOLLOUT", sk.WmemAlloc, _conn.DeviceA.RootQdiscTotals.Backlog));
        if (_firstEpollout is not null || _firstEagain is null) return;
        int ts = Truesize;
        int frames = (int)((_lastEagainWmem - sk.WmemAlloc) / ts);
        int frameBytes = Math.Min(_payload.Length * _c.Cork + 8 + 20, _c.Mtu) + 14;
        // The bottleneck: tbf when it is slower than the wire (it counts frame bytes), else the wire (with overhead).
        long tbfRate = _c.Qdisc.Tbf?.RateBitsPerSecond ?? long.MaxValue;
        bool tbfLimits = _c.Qdisc.Kind == "tbf" && tbfRate < _c.RateBitsPerSecond;
        long bitsPerFrame = tbfLimits ? frameBytes * 8L : new LinkConfig().WireBits(frameBytes);
        long rate = tbfLimits ? tbfRate : _c.RateBitsPerSecond;
        double expected = Duration.ForBits(bitsPerFrame * frames, rate).TotalMilliseconds;
        double after = (_sim.Now - _lastEagainAt).TotalMilliseconds;
        string text = $"EPOLLOUT {after:0.###} ms after EAGAIN, when wmem_alloc fell to {sk.WmemAlloc} < sndbuf/2 = {sk.SndBuf / 2}: " +
                      $"{frames} frames of {frameBytes} bytes had to leave {(tbfLimits ? "the tbf" : "on the wire")} at {Link.Qdiscs.TcUnits.FormatRate(rate)}/s " +
                      $"({frames} × {bitsPerFrame} bits = {expected:0.###} ms)";
        _firstEpollout = new EpolloutExplanation(Ms(_sim.Now), after, sk.WmemAlloc, sk.SndBuf / 2, frames, frameBytes, expected, text);
    }

    private long WireBusy() => _conn.Link.A.BusyTimeAsOf(_sim.Now).Nanoseconds;

    private void TakeSample()
    {
        var x = Snapshot(ref _lastWireBytes, _sampleInterval);
        _samples.Add(x);
        _qdiscMaxBytes = Math.Max(_qdiscMaxBytes, x.QdiscBytes);
        _qdiscMaxPackets = Math.Max(_qdiscMaxPackets, x.QdiscPackets);
        _ringMaxBytes = Math.Max(_ringMaxBytes, x.RingBytes);
        _sumQdisc += x.QdiscBytes; _sumRing += x.RingBytes; _sumAwaiting += x.AwaitingCompletionBytes; _sumWmem += x.WmemAlloc; _sumCount++;
        if (_sim.Now + _sampleInterval <= _end) _sampler.ArmAfter(_sampleInterval);
    }

    /// <summary>The start of the run, sampled finely: the first EAGAIN and EPOLLOUT happen here.</summary>
    public static readonly Duration DetailWindow = Duration.FromMilliseconds(30);
    private static readonly Duration DetailInterval = Duration.FromMicroseconds(20);

    private void TakeDetailSample()
    {
        _detail.Add(Snapshot(ref _detailLastBusy, DetailInterval));
        if (_sim.Now + DetailInterval <= _detailEnd) _detailSampler.ArmAfter(DetailInterval);
    }

    private Sample Snapshot(ref long lastBusy, Duration interval)
    {
        var sk = _socket.Kernel;
        var q = _conn.DeviceA.RootQdiscTotals;
        long ringBytes = _conn.RingA.RingBytes();
        int awaiting = _conn.RingA.RingAwaitingCompletion();
        long busy = WireBusy();
        double util = Math.Min(1, (busy - lastBusy) / (double)interval.Nanoseconds);
        lastBusy = busy;
        long awaitingBytes = awaiting == 0 ? 0 : ringBytes * awaiting / Math.Max(1, _conn.RingA.RingPackets());
        return new Sample(Ms(_sim.Now), sk.WmemAlloc, q.Backlog, q.QLen, ringBytes, awaitingBytes, util);
    }

    private double Ms(Instant t) => (t - _sampleStart).TotalMilliseconds;

    private UdpFloodReport BuildReport(Instant start, double wallSeconds)
    {
        var sk = _socket.Kernel;
        var dev = _conn.DeviceA;
        var txq = dev.TxQueues[Math.Max(0, sk.TxQueueMapping)]; // the flood's queue (the socket is connected: netdev_pick_tx cached it)
        var q = dev.RootQdiscTotals;
        var wire = _conn.Link.A;
        double seconds = _c.Duration.TotalSeconds;
        _latencies.Sort();
        double P(double p) => _latencies.Count == 0 ? 0 : _latencies[Math.Min(_latencies.Count - 1, (int)(p * _latencies.Count))] / 1e6;
        int n = Math.Max(1, _sumCount);
        var ledger = _ledger!.Build(_sent, _corkPart > 0 ? 1 : 0, _delivered, _sink, FramesPerDatagram);
        BlockingSummary? blocking = null;
        if (_c.Blocking)
        {
            string text = _blockedSends == 0
                ? $"blocking sends never slept: wmem_alloc high-water {sk.WmemHighWater} stayed below sndbuf {sk.SndBuf}"
                : $"blocking sends: {_blockedSends} sendto calls slept in sock_alloc_send_skb ({_blockedTime.TotalMilliseconds:0.###} ms in all) because wmem_alloc " +
                  $"(high-water {sk.WmemHighWater}) reached sndbuf {sk.SndBuf}; a blocking socket waits instead of returning EAGAIN";
            blocking = new BlockingSummary(_blockedSends, _blockedTime.TotalMilliseconds, sk.WmemHighWater, sk.SndBuf, text);
        }
        return new UdpFloodReport
        {
            Scenario = Describe(),
            Seed = _c.Seed,
            DurationMs = _c.Duration.TotalMilliseconds,
            WallSeconds = wallSeconds,
            SimulatedEvents = _sim.Scheduler.EventsRun,
            SimulatedPackets = wire.Frames + _conn.Link.B.Frames,
            Socket = new SocketSummary(sk.SndBuf, _sent, _delivered, _eagain, _epollout, _errors, sk.WmemHighWater, _chargePerDatagram > 0 ? (int)_chargePerDatagram : Truesize * FramesPerDatagram, _bytesSent),
            TcQdiscShow = Link.Qdiscs.TcQdiscShow.Lines(dev),
            Qdisc = new QdiscSummary(q.Describe(), q.Stats.Packets, q.Stats.Bytes, q.Stats.Drops, q.Stats.Overlimits, q.Stats.Requeues,
                _qdiscMaxBytes, _qdiscMaxPackets),
            Device = new DeviceSummary(dev.Name, _c.Device.RingSize, dev.Stats.TxPackets, dev.Stats.TxBytes, txq.Stops, txq.Wakes, txq.BqlStops,
                txq.Dql.Limit, _conn.RingA.Interrupts, _ringMaxBytes, _conn.RingA.Doorbells, _conn.RingA.DoorbellPackets,
                _conn.RingA.MaxPacketsPerDoorbell, _conn.RingA.MaxBytesPerDoorbell) { IpSLink = dev.Stats.FormatIpSLink() },
            Receiver = ReceiverSummary.Of(_b, _conn.DeviceB, _conn.RingB, _c.RxCost),
            Link = new LinkSummary(_c.RateBitsPerSecond, _c.Propagation.TotalMilliseconds, _c.LossRate, wire.Frames, wire.Lost,
                (_busyAtEnd - _busyAtStart) / (double)_c.Duration.Nanoseconds, _deliveredByEnd * (double)_payload.Length * _c.Cork * 8 / seconds,
                FaultsSummary.Of(_c.Faults), [WireDirection.Of(wire), WireDirection.Of(_conn.Link.B)]),
            Latency = new LatencySummary(_latencies.Count, P(0.5), P(0.9), P(0.99), _latencies.Count == 0 ? 0 : _latencies[^1] / 1e6,
                _latencies.Count == 0 ? 0 : _latencies[0] / 1e6),
            BytesSat = new WhereBytesSat(_sumQdisc / n, _sumRing / n, _sumAwaiting / n, _sumWmem / n, _qdiscMaxBytes, _ringMaxBytes),
            FirstEagain = _firstEagain,
            FirstEpollout = _firstEpollout,
            Blocking = blocking,
            Ledger = ledger,
            DeliveredAfterEnd = _delivered - _deliveredByEnd,
            Events = _events,
            Samples = _samples,
            DetailSamples = _detail,
            SenderCounters = Counters(_a),
            ReceiverCounters = Counters(_b),
        };
    }

    private static Dictionary<string, long> Counters(Host h)
    {
        var d = new Dictionary<string, long>();
        foreach (var (g, name, v) in h.Mib.All()) if (v != 0) d[$"{g}:{name}"] = v;
        return d;
    }

    /// <summary>The receive side's knobs, when any differs from its default (so the default scenario reads as before).</summary>
    private string RxDescription()
    {
        var d = new UdpFloodConfig();
        if (_c.RxRingSize == d.RxRingSize && _c.RxUsecs == d.RxUsecs && _c.RxFrames == d.RxFrames && _c.RxCost == d.RxCost
            && _c.NetdevBudget == d.NetdevBudget && _c.NetdevBudgetUsecs == d.NetdevBudgetUsecs && _c.NetdevMaxBacklog == d.NetdevMaxBacklog) return "";
        return $"; B: rx ring {_c.RxRingSize}, rx-usecs {_c.RxUsecs}, rx-frames {_c.RxFrames}, rx cost {_c.RxCost} per packet, " +
               $"netdev_budget {_c.NetdevBudget}, netdev_budget_usecs {_c.NetdevBudgetUsecs}, netdev_max_backlog {_c.NetdevMaxBacklog}";
    }

    public string Describe() =>
        $"A ({AddrA}) → B ({AddrB}) :{Port}, {(_c.Blocking ? "blocking sends" : "non-blocking sends with epoll")}, " +
        $"{_c.Payload}-byte datagrams{(_c.Cork > 1 ? $" corked ×{_c.Cork}" : "")}, sndbuf {(_c.SndBuf is { } s ? $"{s} (set)" : "default")}; " +
        $"link {Link.Qdiscs.TcUnits.FormatRate(_c.RateBitsPerSecond)}/s, delay {_c.Propagation}, loss {_c.LossRate:0.###}{(_c.Faults.Any ? ", " + LinkFaultOptions.Describe(_c.Faults) : "")}, MTU {_c.Mtu}; " +
        $"qdisc {_c.Qdisc}, txqueuelen {_c.Device.TxQueueLen}, ring {_c.Device.RingSize}{(_c.Device.Bql ? "" : ", BQL off")}{(_c.Device.BqlLimitMax is { } bqlMax ? $", BQL limit_max {bqlMax}" : "")}{RxDescription()}; {_c.Duration} of virtual time, seed {_c.Seed}";
}
