using Xmit.Buffers;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Support;

/// <summary>A wire port that sends at a fixed rate (no Ethernet overhead) and records what it sent and when.</summary>
public sealed class RecordingPort(long bitsPerSecond) : IWirePort
{
    private Instant _busyUntil;
    public List<(Instant Start, Instant End, int Length, uint Priority)> Sent { get; } = [];

    public Instant Transmit(SkBuff frame, Instant start)
    {
        var begin = Instant.Max(start, _busyUntil);
        var end = begin + Duration.ForBits(frame.Len * 8L, bitsPerSecond);
        _busyUntil = end;
        Sent.Add((begin, end, frame.Len, frame.Priority));
        return end;
    }
}

/// <summary>One device with a ring driver on a recording port, for device-layer tests.</summary>
public sealed class LinkRig : IDisposable
{
    public LinkRig(RingDriverConfig? ring = null, long bitsPerSecond = 1_000_000_000, int mtu = 1500)
    {
        Pool = new SkBuffPool(trackAllocations: true);
        Softirq = new NetTxSoftirq(Scheduler);
        Device = new NetDevice("eth0", 1, MacAddress.LocalAdministered(1), mtu, Scheduler, Softirq, Pool);
        Port = new RecordingPort(bitsPerSecond);
        Driver = new RingDriver(Device, Port, ring ?? new RingDriverConfig());
    }

    public VirtualScheduler Scheduler { get; } = new();
    public SkBuffPool Pool { get; }
    public NetTxSoftirq Softirq { get; }
    public NetDevice Device { get; }
    public RecordingPort Port { get; }
    public RingDriver Driver { get; }
    public NetdevQueue Txq => Device.TxQueues[0];

    /// <summary>A frame of <paramref name="length"/> bytes (Ethernet header included) as neigh_output would hand it over.</summary>
    public SkBuff Frame(int length, uint priority = 0)
    {
        var skb = Pool.Alloc(length + 16);
        skb.Reserve(16);
        skb.Put(length);
        skb.Priority = priority;
        return skb;
    }

    public int Send(int length, uint priority = 0) => Device.QueueXmit(Frame(length, priority));

    public void Run(Duration d) => Scheduler.RunFor(d);

    public void Dispose()
    {
        Scheduler.RunFor(Duration.FromSeconds(10));
        foreach (var q in Device.TxQueues) q.Qdisc.Reset();
        Assert.True(Pool.Outstanding == 0, Pool.DescribeOutstanding());
    }
}
