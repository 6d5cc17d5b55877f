using System.Diagnostics.Tracing;

namespace Xmit.Diagnostics;

/// <summary>
/// Linux's networking tracepoints as an EventSource named <c>Xmit</c>, so dotnet-trace
/// (<c>dotnet-trace collect --providers Xmit</c>), PerfView or an in-process EventListener see them. Each event is
/// named after its tracepoint (net_dev_queue, net_dev_xmit, qdisc_dequeue, kfree_skb, tcp_probe, tcp_retransmit_skb,
/// sock_exceed_buf_limit, inet_sock_set_state) and carries its TP_STRUCT__entry fields under Linux's names, after two
/// of Xmit's own: <c>host</c> (the host's name) and <c>time_ns</c> (its virtual time in nanoseconds).
/// </summary>
/// <remarks>
/// Every event is Verbose, so a tool that enables the provider at Informational (dotnet-counters does, for the
/// counters) gets none; the keywords are Linux's trace systems (net, qdisc, skb, tcp, sock) to pick some.
/// Nothing is computed unless a session listens: each host's tracepoints ask <see cref="EventSource.IsEnabled(EventLevel, EventKeywords)"/>
/// first. Pointers (skbaddr, skaddr) are the objects' identity hashes, so one skb's events can be followed; like
/// ftrace's hashed %p they are not addresses.
/// Linux: include/trace/events/net.h, qdisc.h, skb.h, tcp.h, sock.h
/// </remarks>
[EventSource(Name = SourceName)]
public sealed class XmitEventSource : EventSource
{
    public const string SourceName = "Xmit";

    /// <summary>The one instance every host writes to.</summary>
    public static readonly XmitEventSource Log = new();

    private XmitEventSource()
    {
    }

    /// <summary>The trace systems of Linux's tracepoints, as event keywords.</summary>
    public static class Keywords
    {
        public const EventKeywords Net = (EventKeywords)0x1;
        public const EventKeywords Qdisc = (EventKeywords)0x2;
        public const EventKeywords Skb = (EventKeywords)0x4;
        public const EventKeywords Tcp = (EventKeywords)0x8;
        public const EventKeywords Sock = (EventKeywords)0x10;
    }

    internal bool On(EventKeywords keyword) => IsEnabled(EventLevel.Verbose, keyword);

    // The methods are named as the tracepoints and their parameters as the fields, since EventSource takes the event
    // and payload names from them.
#pragma warning disable IDE1006, CA1707 // Linux's names, underscores and all

    [Event(1, Level = EventLevel.Verbose, Keywords = Keywords.Net)]
    internal void net_dev_queue(string host, long time_ns, string name, ulong skbaddr, int len) =>
        WriteEvent(1, host, time_ns, name, skbaddr, len);

    [Event(2, Level = EventLevel.Verbose, Keywords = Keywords.Net)]
    internal void net_dev_xmit(string host, long time_ns, string name, ulong skbaddr, int len, int rc) =>
        WriteEvent(2, host, time_ns, name, skbaddr, len, rc);

    [Event(3, Level = EventLevel.Verbose, Keywords = Keywords.Qdisc)]
    internal void qdisc_dequeue(string host, long time_ns, int ifindex, uint handle, uint parent, ulong txq_state, int packets, ulong skbaddr) =>
        WriteEvent(3, host, time_ns, ifindex, handle, parent, txq_state, packets, skbaddr);

    [Event(4, Level = EventLevel.Verbose, Keywords = Keywords.Skb)]
    internal void kfree_skb(string host, long time_ns, ulong skbaddr, ulong rx_sk, int protocol, string location, string reason) =>
        WriteEvent(4, host, time_ns, skbaddr, rx_sk, protocol, location, reason);

    [Event(5, Level = EventLevel.Verbose, Keywords = Keywords.Tcp)]
    internal void tcp_probe(string host, long time_ns, string family, string src, string dest, uint mark, int data_len, uint snd_nxt, uint snd_una,
        uint snd_cwnd, uint ssthresh, uint snd_wnd, uint srtt, uint rcv_wnd, ulong sock_cookie, ulong skbaddr, ulong skaddr) =>
        WriteEvent(5, host, time_ns, family, src, dest, mark, data_len, snd_nxt, snd_una, snd_cwnd, ssthresh, snd_wnd, srtt, rcv_wnd, sock_cookie, skbaddr, skaddr);

    [Event(6, Level = EventLevel.Verbose, Keywords = Keywords.Tcp)]
    internal void tcp_retransmit_skb(string host, long time_ns, ulong skbaddr, ulong skaddr, string family, int sport, int dport, string saddr, string daddr, string state) =>
        WriteEvent(6, host, time_ns, skbaddr, skaddr, family, sport, dport, saddr, daddr, state);

    [Event(7, Level = EventLevel.Verbose, Keywords = Keywords.Sock)]
    internal void sock_exceed_buf_limit(string host, long time_ns, string proto, int sysctl_rmem, long rmem_alloc, int sysctl_wmem, long wmem_alloc,
        long wmem_queued, string kind) =>
        WriteEvent(7, host, time_ns, proto, sysctl_rmem, rmem_alloc, sysctl_wmem, wmem_alloc, wmem_queued, kind);

    [Event(8, Level = EventLevel.Verbose, Keywords = Keywords.Sock)]
    internal void inet_sock_set_state(string host, long time_ns, ulong skaddr, string family, string protocol, int sport, int dport, string saddr, string daddr,
        string oldstate, string newstate) =>
        WriteEvent(8, host, time_ns, skaddr, family, protocol, sport, dport, saddr, daddr, oldstate, newstate);

#pragma warning restore IDE1006, CA1707
}
