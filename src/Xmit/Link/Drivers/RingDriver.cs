using Xmit.Sockets;
using Xmit.Buffers;
using Xmit.Time;

namespace Xmit.Link.Drivers;

/// <summary>
/// A NIC driver and its hardware: one TX ring per queue, a transmitter that sends one frame at a time onto
/// an <see cref="IWirePort"/>, and TX completion by (coalesced) interrupt after frames have left the wire.
/// Completion frees the skb, whose destructor returns the memory to its socket, reports bytes to BQL and
/// wakes a stopped queue once enough descriptors are free.
/// <para>
/// The receive side: one RX ring of <see cref="RingDriverConfig.RxRingSize"/> descriptors. An arriving frame fills the
/// next posted buffer, or is missed when none is (rx_missed_errors); an RX interrupt (coalesced by rx-usecs / rx-frames)
/// masks itself and schedules the ring's NAPI on the host's NET_RX softirq, whose polls hand the frames up (at most
/// the NAPI weight per poll), refill the ring and, once a poll finds it empty, unmask the interrupt.
/// </para>
/// </summary>
/// <remarks>Linux: the ndo_start_xmit / NAPI TX-clean pattern of e.g. drivers/net/vmxnet3 vmxnet3_xmit_frame(), vmxnet3_tq_tx_complete();
/// RX: drivers/net/virtio_net.c skb_recv_done(), virtnet_poll(), virtqueue_napi_complete()</remarks>
public sealed class RingDriver : INetDeviceDriver, IRxHardware
{
    private readonly RxRing _rx;
    private readonly Timer _rxIrq;
    private readonly NetRxSoftirq _rxSoftirq;
    private int _rxPendingIrq;
    private readonly TxRing[] _rings;
    private readonly Timer _txDone;
    private readonly Timer _irq;
    private int _sendingRing = -1;
    private int _nextRing;
    private int _pendingCompletions;

    public RingDriver(NetDevice device, IWirePort port, RingDriverConfig config)
    {
        if (config.Validate() is { } error) ThrowHelper.Argument(error, nameof(config));
        Device = device;
        Port = port;
        Config = config;
        _rings = new TxRing[device.TxQueues.Length];
        for (int i = 0; i < _rings.Length; i++)
        {
            _rings[i] = new TxRing(config.RingSize);
            device.TxQueues[i].BqlEnabled = config.Bql;
        }
        _txDone = new Timer(device.Scheduler, OnFrameSent, device.Name + "-txdone");
        _irq = new Timer(device.Scheduler, Interrupt, device.Name + "-txirq");
        _rx = new RxRing(this, config.RxRingSize, config.NapiWeight);
        _rxIrq = new Timer(device.Scheduler, RxInterrupt, device.Name + "-rxirq");
        _rxSoftirq = device.RxSoftirq ?? new NetRxSoftirq(device.Scheduler); // a device on no host has a CPU of its own
        // netdev_fix_features(): TSO needs checksum offload, so a TSO device has both.
        Features = DeviceFeatures.ScatterGather | (config.ChecksumOffload || config.Tso ? DeviceFeatures.HwChecksum : DeviceFeatures.None)
            | (config.Tso ? DeviceFeatures.Tso : DeviceFeatures.None);
        device.AttachDriver(this);
    }

    public NetDevice Device { get; }
    public IWirePort Port { get; }
    public RingDriverConfig Config { get; }
    public DeviceFeatures Features { get; }

    /// <summary>Frames that reached the NIC from the medium (filled a descriptor or were missed).</summary>
    public long RxArrivals { get; private set; }

    /// <summary>RX interrupts raised (each schedules NAPI; none while NAPI is scheduled, the interrupt being masked).</summary>
    public long RxInterrupts { get; private set; }

    /// <summary>The ring's NAPI polls, and those that used the whole weight (and were polled again in a later round).</summary>
    public long NapiPolls => _rx.Polls;
    public long NapiFullPolls => _rx.FullPolls;

    /// <summary>RX descriptors filled by the hardware and not yet handed up (the frame being processed included).</summary>
    public int RxRingFilled => _rx.Filled + (_rx.Holding ? 1 : 0);

    /// <summary>The most RX descriptors ever unavailable to the hardware at once (filled, or used and not yet refilled).</summary>
    public int RxRingFilledMax { get; private set; }

    /// <summary>Empty RX buffers posted for the hardware.</summary>
    public int RxRingPosted => _rx.Posted;

    /// <summary>The softirq this device's RX interrupts schedule NAPI on.</summary>
    public NetRxSoftirq RxSoftirq => _rxSoftirq;

    /// <summary>Times start_xmit found the ring full while the queue was awake ("BUG! Tx Ring full").</summary>
    public long BusyReturns { get; private set; }
    /// <summary>The frames of those refused skbs (a TSO skb is as many frames as it has segments).</summary>
    public long BusyReturnedFrames { get; private set; }

    /// <summary>Frames the NIC's segmentation engine cut from TSO skbs, and those skbs.</summary>
    public long TsoFrames { get; private set; }
    public long TsoSkbs { get; private set; }
    public long Interrupts { get; private set; }

    /// <summary>For the ring accessors: every TX queue's ring, summed.</summary>
    public const int AllQueues = -1;

    public int RingUsed(int queue = AllQueues) => queue == AllQueues ? Sum(r => r.Used) : _rings[queue].Used;
    public long RingBytes(int queue = AllQueues) => queue == AllQueues ? SumLong(r => r.Bytes) : _rings[queue].Bytes;
    public int RingPackets(int queue = AllQueues) => queue == AllQueues ? Sum(r => r.PacketsOnRing) : _rings[queue].PacketsOnRing;

    /// <summary>Frames on the rings that have not started on the wire (a TSO skb counts its segments; the one being sent is on the wire).</summary>
    public long RingFramesUnsent() => SumLong(r => r.FramesOnRing - r.FramesAwaitingCompletion) - (_sendingRing >= 0 ? SkbGso.Frames(_rings[_sendingRing].PeekUnsent()!) : 0);

    private int Sum(Func<TxRing, int> f)
    {
        int n = 0;
        foreach (var r in _rings) n += f(r);
        return n;
    }

    private long SumLong(Func<TxRing, long> f)
    {
        long n = 0;
        foreach (var r in _rings) n += f(r);
        return n;
    }

    /// <summary>A frame is on the wire now (it left the ring for the port but is not marked sent yet).</summary>
    public bool Transmitting => _sendingRing >= 0;

    /// <summary>Packets sent by the hardware, waiting for the TX completion interrupt.</summary>
    public int RingAwaitingCompletion(int queue = AllQueues) => queue == AllQueues ? Sum(r => r.PacketsAwaitingCompletion) : _rings[queue].PacketsAwaitingCompletion;

    /// <summary>Doorbells rung (tail register writes): one per bulk, or per packet without xmit_more.</summary>
    public long Doorbells { get; private set; }

    /// <summary>Packets made known to the hardware by doorbells, and the most one doorbell carried (packets, bytes).</summary>
    public long DoorbellPackets { get; private set; }
    public int MaxPacketsPerDoorbell { get; private set; }
    public long MaxBytesPerDoorbell { get; private set; }

    /// <summary>
    /// ndo_start_xmit: post the skb on the queue's ring, stop the queue when a maximal packet would no longer fit,
    /// and ring the doorbell unless the stack said more follow (netdev_xmit_more) and the queue is still awake:
    /// a stopped queue gets no more, so what is posted must be kicked now.
    /// </summary>
    /// <remarks>Linux: drivers/net/virtio_net.c start_xmit() (check_sq_full_and_disable, then kick = __netdev_tx_sent_queue() or !netdev_xmit_more() || netif_xmit_stopped())</remarks>
    public NetdevTx StartXmit(SkBuff skb, NetdevQueue txq)
    {
        var ring = _rings[txq.Index];
        int descs = TxRing.DescriptorsFor(skb);
        if (ring.Free < descs)
        {
            BusyReturns++;
            BusyReturnedFrames += SkbGso.Frames(skb);
            txq.Stop();
            Doorbell(ring); // the stack requeues and waits for a wake: what this bulk posted must not be stranded
            return NetdevTx.Busy;
        }
        ring.Post(skb, descs);
        TxTimestamps.Snd(skb, Device.Scheduler.Now); // skb_tx_timestamp() once the descriptors are posted; DMA reads the pages, so zerocopy holds
        if (ring.Free < Config.StopThreshold) txq.Stop();
        bool more = txq.XmitMore;
        bool kick = txq.BqlEnabled ? txq.BqlSent(skb.Len, more) : !more || txq.IsStopped;
        if (kick) Doorbell(ring);
        return NetdevTx.Ok;
    }

    /// <summary>The doorbell write: counts it, hands the posted descriptors to the hardware and starts an idle transmitter.</summary>
    private void Doorbell(TxRing ring)
    {
        int packets = ring.PacketsUnnotified;
        if (packets == 0) return;
        Doorbells++;
        DoorbellPackets += packets;
        if (packets > MaxPacketsPerDoorbell) MaxPacketsPerDoorbell = packets;
        if (ring.BytesUnnotified > MaxBytesPerDoorbell) MaxBytesPerDoorbell = ring.BytesUnnotified;
        ring.Notify();
        if (_sendingRing < 0) StartNextFrame();
    }

    /// <summary>
    /// ndo_stop: the device goes down; everything on the rings is freed (sent or not), BQL is reset and
    /// the queues are stopped.
    /// </summary>
    public void Stop()
    {
        _txDone.Disarm();
        _irq.Disarm();
        _rxIrq.Disarm();
        _rxPendingIrq = 0;
        _rx.Purge();
        _sendingRing = -1;
        _pendingCompletions = 0;
        for (int i = 0; i < _rings.Length; i++)
        {
            _rings[i].Notify();
            while (_rings[i].PeekUnsent() is not null) _rings[i].MarkSent();
            while (_rings[i].TakeCleaned() is { } skb) skb.Free(SkbDropReason.DevReady);
            Device.TxQueues[i].Dql.Reset();
            Device.TxQueues[i].Stop();
        }
    }

    /// <summary>The transmitter: serve rings round-robin, one frame at a time.</summary>
    private void StartNextFrame()
    {
        for (int k = 0; k < _rings.Length; k++)
        {
            int i = (_nextRing + k) % _rings.Length;
            var skb = _rings[i].PeekUnsent();
            if (skb is null) continue;
            _nextRing = (i + 1) % _rings.Length;
            _sendingRing = i;
            if (Config.Tso && skb.GsoType == GsoType.TcpV4)
            {
                _txDone.Arm(TransmitSegmented(skb));
                return;
            }
            if (skb.IpSummed == ChecksumState.Partial) SkbChecksum.Help(skb); // the offload engine's work
            _txDone.Arm(Port.Transmit(skb, Device.Scheduler.Now));
            return;
        }
        _sendingRing = -1;
    }

    private readonly List<SkBuff> _tsoFrames = [];

    /// <summary>
    /// TSO: the NIC reads the skb once and puts its segments on the wire back to back — the headers repeated, sequence
    /// numbers and IP IDs advanced, checksums filled, as tcp_gso_segment would cut them. The segments are cut from a
    /// clone (no owner: the socket is charged for the skb alone, as for the real DMA); the skb stays on the ring until
    /// its last frame has left and the completion frees it.
    /// </summary>
    /// <returns>When the last frame's last bit has left.</returns>
    private Instant TransmitSegmented(SkBuff skb)
    {
        var frames = _tsoFrames;
        frames.Clear();
        SkbGso.SegmentTcp(Device.Pool.Clone(skb), Device.Pool, hardwareChecksum: false, frames);
        var end = Device.Scheduler.Now;
        foreach (var f in frames)
        {
            end = Port.Transmit(f, end);
            f.Consume();
        }
        TsoSkbs++;
        TsoFrames += frames.Count;
        frames.Clear();
        return end;
    }

    private void OnFrameSent()
    {
        _rings[_sendingRing].MarkSent();
        _sendingRing = -1;
        _pendingCompletions++;
        if (_pendingCompletions >= Config.CoalesceFrames || Config.CoalesceDelay == Duration.Zero) Interrupt();
        else _irq.ArmNoLaterThan(Device.Scheduler.Now + Config.CoalesceDelay);
        StartNextFrame();
    }

    /// <summary>The TX interrupt and NAPI clean: free what the hardware finished, report to BQL, wake the queue.</summary>
    private void Interrupt()
    {
        _irq.Disarm();
        _pendingCompletions = 0;
        Interrupts++;
        for (int i = 0; i < _rings.Length; i++)
        {
            var ring = _rings[i];
            var txq = Device.TxQueues[i];
            int packets = 0, bytes = 0;
            while (ring.TakeCleaned() is { } skb)
            {
                packets++;
                bytes += skb.Len;
                Device.Stats.TxPackets++;
                Device.Stats.TxBytes += skb.Len;
                skb.Consume();
            }
            txq.BqlCompleted(packets, bytes);
            if (txq.DriverStopped && ring.Free >= Config.WakeThreshold) txq.Wake();
        }
    }

    /// <summary>
    /// A frame arrives from the medium: its TCP/UDP checksum checked by the receive checksum engine (rx-checksum), DMA
    /// into the next posted RX buffer, or a miss when the ring has none; then the
    /// RX interrupt, unless NAPI is scheduled (its interrupt masked: the running poll will find the frame) or
    /// coalescing holds it back (rx-frames not reached: an interrupt at most rx-usecs after the first frame).
    /// </summary>
    /// <remarks>Linux: include/uapi/linux/if_link.h rx_missed_errors; drivers/net/virtio_net.c skb_recv_done() (virtqueue_napi_schedule)</remarks>
    public void HardwareReceive(SkBuff skb)
    {
        if (!Device.IsUp)
        {
            Device.Stats.RxDropped++;
            skb.Free(SkbDropReason.DevReady);
            return;
        }
        RxArrivals++;
        if (Config.RxChecksum) SkbChecksum.VerifyInHardware(skb);
        if (!_rx.Fill(skb))
        {
            Device.Stats.RxMissedErrors++;
            skb.Free(SkbDropReason.RxMissed);
            return;
        }
        if (_rx.Size - _rx.Posted > RxRingFilledMax) RxRingFilledMax = _rx.Size - _rx.Posted;
        if (_rx.Scheduled) return;
        _rxPendingIrq++;
        if (_rxPendingIrq >= Config.RxCoalesceFrames || Config.RxCoalesceDelay == Duration.Zero) RxInterrupt();
        else _rxIrq.ArmNoLaterThan(Device.Scheduler.Now + Config.RxCoalesceDelay);
    }

    /// <summary>The RX interrupt handler: mask the interrupt and schedule NAPI (the softirq runs at the interrupt's exit).</summary>
    /// <remarks>Linux: net/core/dev.c napi_schedule(), __napi_schedule()</remarks>
    private void RxInterrupt()
    {
        _rxIrq.Disarm();
        _rxPendingIrq = 0;
        if (_rx.Scheduled) return;
        RxInterrupts++;
        _rxSoftirq.Schedule(_rx, fromIrq: true);
    }

    /// <summary>
    /// napi_complete_done(): the poll found the ring empty and unmasks the interrupt; a frame that arrived meanwhile
    /// raises it at once (virtqueue_napi_complete sees it and reschedules).
    /// </summary>
    internal void NapiCompleted()
    {
        if (_rx.Filled > 0) RxInterrupt();
    }

    /// <summary>napi_gro_receive / netif_receive_skb of one frame the poll took off the ring (timestamped now, as net_timestamp_check does).</summary>
    internal void HandUp(SkBuff skb)
    {
        skb.Timestamp = Device.Scheduler.Now;
        Device.Receive(skb);
    }
}
