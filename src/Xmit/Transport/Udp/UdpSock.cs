using Xmit.Buffers;
using Xmit.Sockets;
using Xmit.Wire;

namespace Xmit.Transport.Udp;

/// <summary>
/// A UDP socket's kernel side as far as the foundation needs it: its addresses, its receive queue with
/// rcvbuf accounting, and the pending error an ICMP message leaves. The full send path (udp_sendmsg with
/// corking and ip_append_data) and the fd façade come with the UDP-socket work.
/// </summary>
/// <remarks>Linux: include/linux/udp.h struct udp_sock; include/net/inet_sock.h struct inet_sock</remarks>
public sealed class UdpSock : Sock
{
    /// <summary>net.core.wmem_default / rmem_default.</summary>
    public const int DefaultBuffer = 212992;

    internal UdpSock(int sndBuf = DefaultBuffer, int rcvBuf = DefaultBuffer) : base(sndBuf, rcvBuf) { }

    public Ipv4Address LocalAddress { get; internal set; }
    public ushort LocalPort { get; internal set; }
    public Ipv4Address RemoteAddress { get; internal set; }
    public ushort RemotePort { get; internal set; }
    public bool IsConnected => RemotePort != 0;

    /// <summary>IP_RECVERR: report ICMP errors on unconnected sockets too.</summary>
    public bool RecvErr { get; set; }

    /// <summary>sk_err: set by an ICMP error, returned (and cleared) by the next call.</summary>
    public Errno PendingError { get; set; }

    /// <summary>sk_receive_queue.</summary>
    public SkBuffQueue ReceiveQueue { get; } = new();

    /// <summary>sk_drops.</summary>
    public long Drops { get; internal set; }

    /// <summary>Raised when a datagram was queued (EPOLLIN).</summary>
    public event Action<UdpSock>? DataReady;

    internal void RaiseDataReady() => DataReady?.Invoke(this);
}
