using Xmit.Buffers;
using Xmit.Time;

namespace Xmit.Link.Drivers;

/// <summary>
/// A NIC driver and its hardware: one TX ring per queue, a transmitter that sends one frame at a time onto
/// an <see cref="IWirePort"/>, and TX completion by (coalesced) interrupt after frames have left the wire.
/// Completion frees the skb, whose destructor returns the memory to its socket, reports bytes to BQL and
/// wakes a stopped queue once enough descriptors are free.
/// </summary>
/// <remarks>Linux: the ndo_start_xmit / NAPI TX-clean pattern of e.g. drivers/net/vmxnet3 vmxnet3_xmit_frame(), vmxnet3_tq_tx_complete()</remarks>
public sealed class RingDriver : INetDeviceDriver
{
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
        Features = DeviceFeatures.ScatterGather | (config.ChecksumOffload ? DeviceFeatures.HwChecksum : DeviceFeatures.None)
            | (config.RxChecksum ? DeviceFeatures.RxChecksum : DeviceFeatures.None);
        device.AttachDriver(this);
    }

    public NetDevice Device { get; }
    public IWirePort Port { get; }
    public RingDriverConfig Config { get; }
    public DeviceFeatures Features { get; }

    /// <summary>Times start_xmit found the ring full while the queue was awake ("BUG! Tx Ring full").</summary>
    public long BusyReturns { get; private set; }
    public long Interrupts { get; private set; }

    public int RingUsed(int queue = 0) => _rings[queue].Used;
    public long RingBytes(int queue = 0) => _rings[queue].Bytes;
    public int RingPackets(int queue = 0) => _rings[queue].PacketsOnRing;

    /// <summary>A frame is on the wire now (it left the ring for the port but is not marked sent yet).</summary>
    public bool Transmitting => _sendingRing >= 0;

    /// <summary>Packets sent by the hardware, waiting for the TX completion interrupt.</summary>
    public int RingAwaitingCompletion(int queue = 0) => _rings[queue].PacketsAwaitingCompletion;

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
            txq.Stop();
            Doorbell(ring); // the stack requeues and waits for a wake: what this bulk posted must not be stranded
            return NetdevTx.Busy;
        }
        ring.Post(skb, descs);
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
            if (skb.IpSummed == ChecksumState.Partial) SkbChecksum.Help(skb); // the offload engine's work
            _txDone.Arm(Port.Transmit(skb, Device.Scheduler.Now));
            return;
        }
        _sendingRing = -1;
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
}
