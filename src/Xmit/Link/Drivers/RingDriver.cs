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
        Features = DeviceFeatures.ScatterGather | (config.ChecksumOffload ? DeviceFeatures.HwChecksum : DeviceFeatures.None);
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

    /// <summary>ndo_start_xmit: post the skb on the queue's ring and kick the hardware.</summary>
    public NetdevTx StartXmit(SkBuff skb, NetdevQueue txq)
    {
        var ring = _rings[txq.Index];
        int descs = TxRing.DescriptorsFor(skb);
        if (ring.Free < descs)
        {
            BusyReturns++;
            txq.Stop();
            return NetdevTx.Busy;
        }
        ring.Post(skb, descs);
        txq.BqlSent(skb.Len);
        if (ring.Free < Config.StopThreshold) txq.Stop();
        if (_sendingRing < 0) StartNextFrame();
        return NetdevTx.Ok;
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
