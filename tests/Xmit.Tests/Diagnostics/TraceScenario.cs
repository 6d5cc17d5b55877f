using System.Diagnostics.Tracing;
using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Hosting;
using Xmit.Link.Qdiscs;
using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Diagnostics;

/// <summary>One event of <see cref="XmitEventSource"/> as a listener saw it: the tracepoint and its fields by name.</summary>
public sealed record SeenEvent(string Name, IReadOnlyDictionary<string, object?> Fields)
{
    public object? this[string field] => Fields[field];
}

/// <summary>
/// An EventListener on the Xmit source that keeps the events written on the thread that made it (a simulation runs on
/// one thread; another test's simulation on another thread is not ours).
/// </summary>
public sealed class XmitEvents : EventListener
{
    private readonly int _thread = Environment.CurrentManagedThreadId;
    private readonly List<SeenEvent> _events = [];
    private EventKeywords _keywords = EventKeywords.All;
    private EventSource? _source;

    public IReadOnlyList<SeenEvent> Events => _events;

    public IEnumerable<SeenEvent> Named(string name) => _events.Where(e => e.Name == name);

    /// <summary>Listens only to <paramref name="keywords"/> from now on.</summary>
    public void Only(EventKeywords keywords)
    {
        _keywords = keywords;
        if (_source is not null) EnableEvents(_source, EventLevel.Verbose, keywords);
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name != XmitEventSource.SourceName) return;
        _source = source;
        EnableEvents(source, EventLevel.Verbose, _keywords == 0 ? EventKeywords.All : _keywords);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventSource.Name != XmitEventSource.SourceName || Environment.CurrentManagedThreadId != _thread || _events is null) return;
        var fields = new Dictionary<string, object?>();
        for (int i = 0; i < e.PayloadNames!.Count; i++) fields[e.PayloadNames[i]] = e.Payload![i];
        _events.Add(new SeenEvent(e.EventName!, fields));
    }
}

/// <summary>
/// A small run that makes every tracepoint fire: A (its own pool) connects to B across a lossy 10 Mbit/s link,
/// writes more than its send buffer holds (sock_exceed_buf_limit SK_MEM_SEND), loses segments and resends them
/// (tcp_retransmit_skb), and bursts UDP into a 4-packet pfifo (kfree_skb QDISC_DROP); then both close.
/// </summary>
public static class TraceScenario
{
    public const int Bytes = 300_000;

    public static (Host A, Host B) Run()
    {
        using var sim = new Simulation.Simulation(seed: 7);
        var a = sim.AddHost("A", new SkBuffPool());
        var b = sim.AddHost("B", new SkBuffPool());
        var conn = sim.Connect(a, TwoHosts.AddrA, b, TwoHosts.AddrB, 24, new LinkConfig { RateBitsPerSecond = 10_000_000, LossRate = 0.02 });
        conn.DeviceA.SetRootQdisc(FifoQdisc.Packets(4));
        var c = TcpConnection.Open(sim, a, b, TwoHosts.AddrB);
        var data = new byte[Bytes];
        var buffer = new byte[65536];
        int sent = 0, received = 0;
        var deadline = sim.Now + Duration.FromSeconds(60);
        while (received < Bytes && sim.Now < deadline)
        {
            if (sent < Bytes && c.A.Write(c.Client, data.AsSpan(sent)) is > 0 and var n) sent += n;
            sim.RunFor(Duration.FromMilliseconds(1));
            while (c.B.Read(c.Server, buffer) is > 0 and var r) received += r;
        }
        Assert.Equal(Bytes, received);

        // Forty datagrams at once into a pfifo of four, behind a 10 Mbit/s wire: most are dropped by the qdisc.
        var udp = new Syscalls(a);
        int fd = udp.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0);
        for (int i = 0; i < 40; i++) udp.SendTo(fd, new byte[1000], MsgFlags.None, new SockAddrIn(TwoHosts.AddrB, 9));
        sim.RunFor(Duration.FromMilliseconds(50));
        udp.Close(fd);
        c.Close();
        sim.Shutdown();
        return (a, b);
    }
}
