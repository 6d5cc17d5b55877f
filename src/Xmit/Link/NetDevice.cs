using Xmit.Sockets;
using Xmit.Buffers;
using Xmit.Link.Qdiscs;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Link;

/// <summary>
/// A network device: name, MTU, address, TX queues each with a qdisc, a driver behind ndo_start_xmit,
/// taps (ptype_all) and counters. <see cref="QueueXmit"/> is dev_queue_xmit(); <see cref="Receive"/> is
/// what a driver calls for every received frame (netif_receive_skb).
/// </summary>
/// <remarks>Linux: include/linux/netdevice.h struct net_device; net/core/dev.c</remarks>
public sealed class NetDevice
{
    private readonly List<IPacketTap> _taps = [];
    private readonly NetTxSoftirq _softirq;

    public NetDevice(string name, int ifIndex, MacAddress mac, int mtu, IScheduler scheduler, NetTxSoftirq softirq, SkBuffPool pool, int txQueues = 1)
    {
        if (mtu < 68 || mtu > MaxMtu) ThrowHelper.OutOfRange(nameof(mtu));
        if (txQueues < 1) ThrowHelper.OutOfRange(nameof(txQueues));
        Name = name;
        IfIndex = ifIndex;
        Mac = mac;
        Mtu = mtu;
        Scheduler = scheduler;
        Pool = pool;
        _softirq = softirq;
        TxQueues = new NetdevQueue[txQueues];
        for (int i = 0; i < txQueues; i++) TxQueues[i] = new NetdevQueue(this, i);
        AttachDefaultQdiscs();
    }

    /// <summary>
    /// attach_default_qdiscs(): a single-queue device gets the default qdisc (pfifo_fast, net.core.default_qdisc); a
    /// multi-queue one gets mq with a default qdisc under each queue.
    /// </summary>
    /// <remarks>Linux: net/sched/sch_generic.c attach_default_qdiscs(), attach_one_default_qdisc(); net/sched/sch_mq.c mq_init()</remarks>
    private void AttachDefaultQdiscs() =>
        SetRootQdisc(TxQueues.Length == 1 ? new PfifoFastQdisc(TxQueueLen) : new MqQdisc(TxQueues.Length, _ => new PfifoFastQdisc(TxQueueLen)));

    /// <summary>The largest MTU a device takes here: lo's 65536 (64 KiB); an IPv4 route never uses more than 65535 (IP_MAX_MTU).</summary>
    public const int MaxMtu = 65536;

    public string Name { get; }
    public int IfIndex { get; }

    /// <summary>IFF_LOOPBACK: the host's lo. Its neighbours need no ARP, and only it may carry 127.0.0.0/8.</summary>
    public bool IsLoopback { get; init; }
    public MacAddress Mac { get; }
    public int Mtu { get; set; }
    public IScheduler Scheduler { get; }

    /// <summary>Where the device's driver allocates receive buffers.</summary>
    public SkBuffPool Pool { get; }
    public bool IsUp { get; set; } = true;

    /// <summary>txqueuelen (default 1000, like Ethernet devices).</summary>
    public int TxQueueLen { get; set; } = 1000;

    /// <summary>LL_RESERVED_SPACE: headroom the IP layer leaves for this device's link header (16 for Ethernet).</summary>
    public int LinkReserve => ((HardHeaderLength + 15) & ~15);

    public int HardHeaderLength => EthernetFrame.HeaderLength;

    public NetdevQueue[] TxQueues { get; }
    public DeviceStats Stats { get; } = new();

    public INetDeviceDriver? Driver { get; private set; }

    public DeviceFeatures Features => Driver?.Features ?? DeviceFeatures.None;

    /// <summary>The NET_RX softirq of the CPU this device's receive interrupts go to (its host's); null for a device on no host.</summary>
    public NetRxSoftirq? RxSoftirq { get; init; }

    /// <summary>Where received frames go (the host's protocol demultiplexer).</summary>
    public Action<NetDevice, SkBuff>? Receiver { get; set; }

    public void AttachDriver(INetDeviceDriver driver)
    {
        Driver = driver;
        _rxHardware = driver as IRxHardware;
    }

    /// <summary>The driver as an RX ring, looked up once: every frame from the wire goes there.</summary>
    private IRxHardware? _rxHardware;

    /// <summary>The root qdisc (dev->qdisc): what `tc qdisc show dev X` lists first.</summary>
    public Qdisc RootQdisc { get; private set; } = null!; // set by the constructor

    /// <summary>
    /// `tc qdisc replace dev X root …`: mq grafts its children one per TX queue; any other qdisc becomes the qdisc of
    /// every TX queue, so on a multi-queue device all queues share it (it then sends each skb to the queue
    /// netdev_pick_tx chose, and bulk dequeue keeps to one queue at a time). Packets held by the old qdiscs are freed.
    /// </summary>
    /// <remarks>Linux: net/sched/sch_api.c qdisc_graft(), dev_graft_qdisc(); net/sched/sch_mq.c mq_attach()</remarks>
    public void SetRootQdisc(Qdisc root)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (root is MqQdisc mq && mq.Children.Count != TxQueues.Length)
            ThrowHelper.Argument($"mq has {mq.Children.Count} children but {Name} has {TxQueues.Length} TX queues (mq needs a multi-queue device)", nameof(root));
        ResetQdiscs();
        if (root is MqQdisc m)
        {
            for (int i = 0; i < TxQueues.Length; i++) Graft(TxQueues[i], m.Children[i], shared: false);
            root.DevQueue = TxQueues[0];
        }
        else
        {
            foreach (var txq in TxQueues) Graft(txq, root, shared: TxQueues.Length > 1);
            root.DevQueue = TxQueues[0]; // a shared root belongs to queue 0, as qdisc_create() gives it
        }
        RootQdisc = root;
    }

    /// <summary>`tc qdisc replace dev X parent :N …`: replaces mq's child of TX queue N-1 (the device's root must be mq).</summary>
    /// <remarks>Linux: net/sched/sch_mq.c mq_graft()</remarks>
    public void SetQueueQdisc(int queue, Qdisc q)
    {
        ArgumentNullException.ThrowIfNull(q);
        if (RootQdisc is not MqQdisc mq) throw new InvalidOperationException($"{Name}'s root qdisc is {RootQdisc.Kind}, not mq: it has no per-queue children");
        if ((uint)queue >= (uint)TxQueues.Length) ThrowHelper.OutOfRange(nameof(queue));
        TxQueues[queue].Qdisc.Reset();
        mq.Graft(queue, q);
        Graft(TxQueues[queue], q, shared: false);
    }

    private static void Graft(NetdevQueue txq, Qdisc q, bool shared)
    {
        q.DevQueue = txq;
        q.SharedByQueues = shared;
        txq.Qdisc = q;
    }

    /// <summary>qdisc_reset() of every qdisc attached (each once, though a shared root sits on every queue).</summary>
    private void ResetQdiscs()
    {
        foreach (var q in Qdiscs()) q.Reset();
    }

    /// <summary>The root qdisc with its counters up to date: under mq, the sums over the queues (what `tc -s` shows for it).</summary>
    public Qdisc RootQdiscTotals
    {
        get
        {
            RootQdisc.UpdateDumpStats();
            return RootQdisc;
        }
    }

    /// <summary>The qdiscs of the device, each once: the root, then (under mq) one child per TX queue.</summary>
    public IEnumerable<Qdisc> Qdiscs()
    {
        if (RootQdisc is not { } root) yield break; // during construction
        yield return root;
        if (root is MqQdisc) foreach (var txq in TxQueues) yield return txq.Qdisc;
    }

    public void AddTap(IPacketTap tap) => _taps.Add(tap);

    /// <summary>The device layer's tracepoints (net_dev_queue, net_dev_xmit, qdisc_dequeue); null: none.</summary>
    public ILinkTracepoints? Trace { get; set; }

    public void RemoveTap(IPacketTap tap) => _taps.Remove(tap);

    /// <summary>The host's flow-dissector seed (hashrnd), which <see cref="FlowHash"/> mixes into skbs without a socket hash.</summary>
    public ulong FlowHashSeed { get; init; }

    /// <summary>
    /// netdev_core_pick_tx() → netdev_pick_tx() with XPS off: one queue needs no choice; otherwise the queue the socket
    /// cached, unless this skb may move (ooo_okay) or the socket has none, in which case the flow hash picks one
    /// (skb_tx_hash: reciprocal_scale(skb_get_hash(), queues)) and a connected socket remembers it.
    /// </summary>
    /// <remarks>Linux: net/core/dev.c netdev_core_pick_tx(), netdev_pick_tx(), skb_tx_hash(); include/net/sock.h sk_tx_queue_set()</remarks>
    public NetdevQueue PickTx(SkBuff skb)
    {
        int n = TxQueues.Length;
        if (n == 1)
        {
            skb.QueueMapping = 0;
            return TxQueues[0];
        }
        var sk = skb.Sk;
        int queue = sk?.TxQueueMapping ?? -1;
        if (queue < 0 || skb.OooOkay || queue >= n)
        {
            int picked = (int)(((ulong)FlowHash.Get(skb, FlowHashSeed) * (ulong)n) >> 32);
            if (sk is not null && picked != queue && sk.CachesTxQueue) sk.TxQueueMapping = picked;
            queue = picked;
        }
        skb.QueueMapping = queue;
        return TxQueues[queue];
    }

    /// <summary>
    /// dev_queue_xmit(): takes ownership of a complete frame (link header pushed). Returns NET_XMIT_*
    /// or a negative errno; whatever happens, the skb is no longer the caller's.
    /// </summary>
    /// <remarks>Linux: net/core/dev.c __dev_queue_xmit(), __dev_xmit_skb()</remarks>
    public int QueueXmit(SkBuff skb)
    {
        if (skb.TxFlags != SkbTxFlags.None) TxTimestamps.Sched(skb, Scheduler.Now);
        Trace?.NetDevQueue(this, skb);
        if (!IsUp)
        {
            Stats.TxDropped++;
            skb.Free(SkbDropReason.DevReady);
            return NetXmit.FromErrno(Errno.ENETDOWN);
        }
        var txq = PickTx(skb);
        var q = txq.Qdisc;

        if (q is NoQueueQdisc)
        {
            // Virtual devices: no queue, straight to the driver; a stopped queue means a drop.
            if (!txq.IsStopped && HardStartXmit(skb, txq) == NetdevTx.Ok) return NetXmit.Success;
            Stats.TxDropped++;
            skb.Free(SkbDropReason.DevReady);
            return NetXmit.FromErrno(Errno.ENETDOWN);
        }

        // __dev_xmit_skb(): an empty qdisc that nobody is running may be bypassed.
        if (q.CanBypass && q.QLen == 0 && !q.Running)
        {
            q.Running = true;
            try
            {
                q.CountBypass(skb);
                if (QdiscRunner.DirectXmit(skb, q, txq)) QdiscRunner.RunLocked(q);
            }
            finally
            {
                q.Running = false;
            }
            return NetXmit.Success;
        }

        int rc = q.Enqueue(skb);
        QdiscRunner.Run(q);
        return rc;
    }

    /// <summary>
    /// dev_hard_start_xmit() of one skb with nothing behind it (xmit_more false): the last step before the driver.
    /// Completes a pending checksum in software when the device cannot (skb_checksum_help), shows the frame to the
    /// taps, and calls ndo_start_xmit. On <see cref="NetdevTx.Busy"/> the caller keeps the skb.
    /// </summary>
    /// <remarks>Linux: net/core/dev.c dev_hard_start_xmit(), xmit_one(), validate_xmit_skb(), dev_queue_xmit_nit()</remarks>
    public NetdevTx HardStartXmit(SkBuff skb, NetdevQueue txq) => HardStartXmit(skb, txq, more: false, out _);

    /// <summary>
    /// dev_hard_start_xmit() of a bulk: each skb goes to the driver told whether more follow (the segments of a
    /// GSO skb the device cannot segment are part of the list), and a driver that stops its queue midway ends the
    /// walk with BUSY. <paramref name="sent"/> is how many skbs of <paramref name="bulk"/> the caller no longer
    /// owns; on BUSY the rest are its to requeue (after any segments already requeued here, so order holds).
    /// </summary>
    /// <remarks>Linux: net/core/dev.c dev_hard_start_xmit(), xmit_one(); include/linux/netdevice.h netdev_start_xmit()</remarks>
    internal NetdevTx HardStartXmitList(List<SkBuff> bulk, NetdevQueue txq, out int sent)
    {
        int n = bulk.Count;
        for (int i = 0; i < n; i++)
        {
            bool more = i < n - 1;
            var rc = HardStartXmit(bulk[i], txq, more, out bool restRequeued);
            if (rc == NetdevTx.Busy)
            {
                sent = i;
                return rc;
            }
            // netif_tx_queue_stopped(): only the driver's stop ends the walk (BQL's was budgeted at dequeue).
            if (more && (restRequeued || txq.DriverStopped))
            {
                sent = i + 1;
                return NetdevTx.Busy;
            }
        }
        sent = n;
        return NetdevTx.Ok;
    }

    private NetdevTx HardStartXmit(SkBuff skb, NetdevQueue txq, bool more, out bool restRequeued)
    {
        restRequeued = false;
        if (skb.GsoType == GsoType.UdpL4 && (Features & DeviceFeatures.GsoUdpL4) == 0) return SegmentAndXmit(skb, txq, more, out restRequeued);
        if (skb.GsoType == GsoType.TcpV4 && (Features & DeviceFeatures.Tso) == 0) return SegmentAndXmit(skb, txq, more, out restRequeued);
        return XmitOne(skb, txq, more);
    }

    private readonly List<SkBuff> _segments = [];

    /// <summary>
    /// validate_xmit_skb() for a GSO skb the device cannot segment: segment in software and send each (xmit_more
    /// set on all but the last of the whole list); if the driver turns busy or stops its queue midway, the rest go
    /// back to the qdisc in order (dev_requeue_skb of the list) and <paramref name="restRequeued"/> says so.
    /// </summary>
    private NetdevTx SegmentAndXmit(SkBuff skb, NetdevQueue txq, bool moreAfter, out bool restRequeued)
    {
        restRequeued = false;
        var segs = _segments;
        segs.Clear();
        if (skb.GsoType == GsoType.TcpV4) SkbGso.SegmentTcp(skb, Pool, (Features & DeviceFeatures.HwChecksum) != 0, segs);
        else SkbGso.SegmentUdp(skb, Pool, (Features & DeviceFeatures.HwChecksum) != 0, segs);
        for (int i = 0; i < segs.Count; i++)
        {
            bool more = moreAfter || i < segs.Count - 1;
            if ((i > 0 && txq.DriverStopped) || XmitOne(segs[i], txq, more) == NetdevTx.Busy)
            {
                for (int j = i; j < segs.Count; j++)
                {
                    if (txq.Qdisc is NoQueueQdisc) { Stats.TxDropped++; segs[j].Free(SkbDropReason.DevReady); }
                    else txq.Qdisc.Requeue(segs[j]);
                }
                ScheduleQueue(txq);
                restRequeued = true;
                break;
            }
        }
        segs.Clear();
        return NetdevTx.Ok;
    }

    /// <summary>xmit_one() → netdev_start_xmit(): taps, then ndo_start_xmit with netdev_xmit_more() set.</summary>
    private NetdevTx XmitOne(SkBuff skb, NetdevQueue txq, bool more)
    {
        if (skb.IpSummed == ChecksumState.Partial && (Features & DeviceFeatures.HwChecksum) == 0)
            SkbChecksum.Help(skb);
        for (int i = 0; i < _taps.Count; i++) _taps[i].OnPacket(this, skb, outgoing: true);
        if (Driver is null)
        {
            Stats.TxDropped++;
            skb.Free(SkbDropReason.DevReady);
            return NetdevTx.Ok;
        }
        txq.XmitMore = more;
        var trace = Trace;
        if (trace is null) return Driver.StartXmit(skb, txq);
        int len = skb.Len; // the driver may free the skb before it returns
        var rc = Driver.StartXmit(skb, txq);
        trace.NetDevXmit(this, skb, len, rc);
        return rc;
    }

    /// <summary>
    /// A frame arrives from the medium: a driver with RX hardware (<see cref="IRxHardware"/>, a NIC's ring) takes it;
    /// for any other the frame goes up at once, as if the driver called netif_receive_skb in its place.
    /// </summary>
    public void ReceiveFromWire(SkBuff skb)
    {
        if (_rxHardware is { } rx) rx.HardwareReceive(skb);
        else Receive(skb);
    }

    /// <summary>netif_receive_skb(): a driver hands up a received frame (ownership passes to the stack).</summary>
    /// <remarks>Linux: net/core/dev.c __netif_receive_skb_core()</remarks>
    public void Receive(SkBuff skb)
    {
        if (!IsUp)
        {
            Stats.RxDropped++;
            skb.Free(SkbDropReason.DevReady);
            return;
        }
        Stats.RxPackets++;
        Stats.RxBytes += skb.Len;
        ReceiveSkb(skb);
    }

    /// <summary>
    /// __netif_receive_skb(): the stack's part of receiving — taps, then the protocol demultiplexer — for a driver
    /// that keeps its own counters (loopback, through the backlog). Takes ownership.
    /// </summary>
    /// <remarks>Linux: net/core/dev.c __netif_receive_skb_core()</remarks>
    public void ReceiveSkb(SkBuff skb)
    {
        if (!IsUp)
        {
            Stats.RxDropped++;
            skb.Free(SkbDropReason.DevReady);
            return;
        }
        skb.MacHeader = skb.DataOffset;
        for (int i = 0; i < _taps.Count; i++) _taps[i].OnPacket(this, skb, outgoing: false);
        if (Receiver is null)
        {
            Stats.RxDropped++;
            skb.Free(SkbDropReason.Unhandled);
            return;
        }
        Receiver(this, skb);
    }

    /// <summary>__netif_schedule() for one TX queue's qdisc.</summary>
    public void ScheduleQueue(NetdevQueue txq) => _softirq.Schedule(txq.Qdisc);

    /// <summary>Backlog bytes of the device's qdiscs (mq's children summed; a shared root counted once).</summary>
    public long QdiscBacklog
    {
        get
        {
            if (RootQdisc is not MqQdisc) return RootQdisc.Backlog;
            long b = 0;
            foreach (var t in TxQueues) b += t.Qdisc.Backlog;
            return b;
        }
    }

    public override string ToString() => $"{Name} (mtu {Mtu}, {Mac})";
}
