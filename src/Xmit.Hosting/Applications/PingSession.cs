using Xmit.Hosting;
using Xmit.Network.Ipv4;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Applications;

/// <summary>One answered echo.</summary>
public readonly record struct PingReply(ushort Sequence, Duration Rtt, int Bytes, byte Ttl);

/// <summary>
/// ping on a host: echo requests every interval, replies matched by identifier and sequence, RTTs measured
/// in the host's time (virtual in a simulation). Results read like iputils ping's.
/// </summary>
public sealed class PingSession
{
    private readonly Host _host;
    private readonly Timer _next;
    private readonly List<PingReply> _replies = [];
    private readonly Dictionary<ushort, Instant> _sent = new();
    private ushort _sequence;

    public PingSession(Host host, Ipv4Address destination, int count, Duration interval, int dataLength = 56, ushort identifier = 0x1234)
    {
        if (count < 1) ThrowHelper.OutOfRange(nameof(count));
        if (dataLength is < 0 or > 65507 - 8) ThrowHelper.OutOfRange(nameof(dataLength));
        _host = host;
        Destination = destination;
        Count = count;
        Interval = interval;
        DataLength = dataLength;
        Identifier = identifier;
        _next = new Timer(host.Scheduler, SendNext, "ping");
        host.Icmp.EchoReplyReceived += OnReply;
    }

    public Ipv4Address Destination { get; }
    public int Count { get; }
    public Duration Interval { get; }
    public int DataLength { get; }
    public ushort Identifier { get; }
    public int Transmitted { get; private set; }
    public IReadOnlyList<PingReply> Replies => _replies;

    /// <summary>Errors returned when sending (e.g. no route), by sequence.</summary>
    public List<(ushort Sequence, int Code)> SendErrors { get; } = [];

    /// <summary>Called for each reply as it arrives.</summary>
    public Action<PingReply>? OnReplyReceived { get; set; }

    public bool Done => Transmitted == Count;

    public void Start() => _next.ArmAfter(Duration.Zero);

    private void SendNext()
    {
        ushort seq = ++_sequence;
        _sent[seq] = _host.Scheduler.Now;
        Transmitted++;
        int rc = _host.Icmp.SendEchoRequest(Destination, Identifier, seq, DataLength);
        if (rc < 0) SendErrors.Add((seq, rc));
        if (Transmitted < Count) _next.ArmAfter(Interval);
    }

    private void OnReply(EchoReply r)
    {
        if (r.Identifier != Identifier || r.From != Destination || !_sent.Remove(r.Sequence, out var sentAt)) return;
        var reply = new PingReply(r.Sequence, r.Received - sentAt, r.DataLength + 8, r.Ttl);
        _replies.Add(reply);
        OnReplyReceived?.Invoke(reply);
    }
}
