using System.Diagnostics.Tracing;
using Xmit.Buffers;
using Xmit.Hosting;
using Xmit.Hosting.Accounting;
using Xmit.Link;
using Xmit.Link.Qdiscs;
using Xmit.Transport.Tcp;

namespace Xmit.Diagnostics;

/// <summary>
/// One host's tracepoints: the core's hooks (devices, qdiscs, TCP) turned into <see cref="XmitEventSource"/> events
/// with the host's name and virtual time. Each hook first asks whether a session wants its event, so when nobody
/// listens a hook costs a call and a test, and builds nothing.
/// </summary>
internal sealed class HostTracepoints : ILinkTracepoints, ITcpTracepoints
{
    private static readonly XmitEventSource Log = XmitEventSource.Log;
    private readonly Host _host;

    public HostTracepoints(Host host) => _host = host;

    private long Now => _host.Scheduler.Now.Nanoseconds;

    public void NetDevQueue(NetDevice dev, SkBuff skb)
    {
        if (Log.On(XmitEventSource.Keywords.Net)) Log.net_dev_queue(_host.Name, Now, dev.Name, (ulong)skb.Serial, skb.Len);
    }

    public void NetDevXmit(NetDevice dev, SkBuff skb, int len, NetdevTx rc)
    {
        // netdev_tx_t: NETDEV_TX_OK 0, NETDEV_TX_BUSY 0x10
        if (Log.On(XmitEventSource.Keywords.Net)) Log.net_dev_xmit(_host.Name, Now, dev.Name, (ulong)skb.Serial, len, rc == NetdevTx.Ok ? 0 : 0x10);
    }

    public void QdiscDequeue(Qdisc q, NetdevQueue txq, int packets, SkBuff? skb)
    {
        if (!Log.On(XmitEventSource.Keywords.Qdisc)) return;
        // txq->state: __QUEUE_STATE_DRV_XOFF is bit 0, __QUEUE_STATE_STACK_XOFF bit 1.
        ulong state = (txq.DriverStopped ? 1UL : 0) | (txq.StackStopped ? 2UL : 0);
        Log.qdisc_dequeue(_host.Name, Now, txq.Device.IfIndex, (uint)q.Handle << 16, Parent(q, txq.Device), state, skb is null ? 0 : packets,
            skb is null ? 0 : (ulong)skb.Serial);
    }

    /// <summary>The parent handle tc prints: TC_H_ROOT for the root, major:queue+1 for an mq child.</summary>
    private static uint Parent(Qdisc q, NetDevice dev)
    {
        if (dev.RootQdisc is MqQdisc mq)
            for (int i = 0; i < mq.Children.Count; i++)
                if (mq.Children[i] == q) return (uint)mq.Handle << 16 | (uint)(i + 1);
        return 0xFFFFFFFF;
    }

    public void InetSockSetState(TcpSock sk, TcpState oldState, TcpState newState)
    {
        if (Log.On(XmitEventSource.Keywords.Sock))
            Log.inet_sock_set_state(_host.Name, Now, sk.Cookie, "AF_INET", "IPPROTO_TCP", sk.LocalPort, sk.RemotePort, sk.LocalAddress.ToString(),
                sk.RemoteAddress.ToString(), StateName(oldState), StateName(newState));
    }

    public void TcpProbe(TcpSock sk, SkBuff skb, int dataLength)
    {
        if (!Log.On(XmitEventSource.Keywords.Tcp)) return;
        Log.tcp_probe(_host.Name, Now, "AF_INET", $"{sk.LocalAddress}:{sk.LocalPort}", $"{sk.RemoteAddress}:{sk.RemotePort}", skb.Mark, dataLength,
            sk.SndNxt.Value, sk.SndUna.Value, sk.SndCwnd, CurrentSsthresh(sk), sk.SndWnd, (uint)sk.Rtt.SrttUs, sk.RcvWnd, sk.Cookie, (ulong)skb.Serial, sk.Cookie);
    }

    /// <summary>tcp_current_ssthresh(): in a cwnd reduction ssthresh itself, else at least ¾ of cwnd.</summary>
    private static uint CurrentSsthresh(TcpSock sk) =>
        sk.CaState is TcpCaState.Cwr or TcpCaState.Recovery ? sk.SndSsthresh : Math.Max(sk.SndSsthresh, (sk.SndCwnd >> 1) + (sk.SndCwnd >> 2));

    public void TcpRetransmitSkb(TcpSock sk, SkBuff skb)
    {
        if (Log.On(XmitEventSource.Keywords.Tcp))
            Log.tcp_retransmit_skb(_host.Name, Now, (ulong)skb.Serial, sk.Cookie, "AF_INET", sk.LocalPort, sk.RemotePort, sk.LocalAddress.ToString(),
                sk.RemoteAddress.ToString(), StateName(sk.State));
    }

    public void SockExceedBufLimit(TcpSock sk, SkMemKind kind)
    {
        if (Log.On(XmitEventSource.Keywords.Sock))
            Log.sock_exceed_buf_limit(_host.Name, Now, "TCP", _host.Sysctls.TcpRmem.Min, sk.RmemAlloc, _host.Sysctls.TcpWmem.Min, sk.WmemAlloc, sk.WmemQueued,
                kind == SkMemKind.Send ? "SK_MEM_SEND" : "SK_MEM_RECV");
    }

    private static readonly string[] StateNames =
        ["0", "TCP_ESTABLISHED", "TCP_SYN_SENT", "TCP_SYN_RECV", "TCP_FIN_WAIT1", "TCP_FIN_WAIT2", "TCP_TIME_WAIT", "TCP_CLOSE", "TCP_CLOSE_WAIT",
         "TCP_LAST_ACK", "TCP_LISTEN", "TCP_CLOSING"];

    /// <summary>show_tcp_state_name(): TCP_ESTABLISHED …, the number itself for one it does not know.</summary>
    internal static string StateName(TcpState s) => (int)s < StateNames.Length ? StateNames[(int)s] : ((int)s).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// skb:kfree_skb for one skb pool. A pool knows no host, so the drop is the host's whose pool it is; when several
/// hosts share one (Simulation.AddHost without a pool of its own), the event names them all, "A+B".
/// </summary>
internal sealed class PoolDropTracepoint : ISkbDropObserver
{
    private static readonly XmitEventSource Log = XmitEventSource.Log;
    private static readonly string[] ReasonNames = Enum.GetValues<SkbDropReason>().Select(DropLayer.LinuxName).ToArray();
    private readonly List<Host> _hosts = [];
    private string _name = "";

    /// <summary>Makes <paramref name="host"/>'s pool tell its drops to the tracepoint (once per pool, whoever else uses it).</summary>
    public static void Attach(Host host)
    {
        if (host.Pool.DropObserver is not PoolDropTracepoint t)
        {
            if (host.Pool.DropObserver is not null) return; // someone else's observer: leave it alone
            host.Pool.DropObserver = t = new PoolDropTracepoint();
        }
        t._hosts.Add(host);
        t._name = string.Join('+', t._hosts.Select(h => h.Name));
    }

    public void OnDrop(SkBuff skb, SkbDropReason reason, string callerFile, string callerMember)
    {
        if (!Log.On(XmitEventSource.Keywords.Skb)) return;
        // %pS would print the kernel function; the C# type (the file's name) and member that freed it stand in.
        string location = Path.GetFileNameWithoutExtension(callerFile) + "." + callerMember;
        // rx_sk (the receiving socket, when a socket-level drop knows it) is not passed down to kfree_skb here: 0.
        Log.kfree_skb(_name, _hosts[0].Scheduler.Now.Nanoseconds, (ulong)skb.Serial, 0, skb.Protocol, location, ReasonNames[(int)reason]);
    }
}
