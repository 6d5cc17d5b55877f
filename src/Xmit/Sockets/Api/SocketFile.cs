using Xmit.Transport.Tcp;
using Xmit.Transport.Udp;

namespace Xmit.Sockets.Api;

/// <summary>struct socket's state for stream sockets: whether connect() was called and has been reported.</summary>
public enum SocketState : byte { Unconnected, Connecting, Connected }

/// <summary>An open file: a UDP or TCP socket or an epoll instance, with its file status flags.</summary>
public sealed class SocketFile
{
    private SocketFile(UdpSock? udp, Epoll? epoll, TcpSock? tcp = null)
    {
        Udp = udp;
        Epoll = epoll;
        Tcp = tcp;
    }

    public static SocketFile ForTcp(TcpSock sk, SocketState state = SocketState.Unconnected)
    {
        var f = new SocketFile(null, null, sk) { State = state };
        sk.DataReady += _ => f.WakeWatchers(Ev.EPOLLIN | Ev.EPOLLPRI | Ev.EPOLLRDNORM | Ev.EPOLLRDBAND);
        sk.StreamWriteSpace += _ => f.WakeWatchers(Ev.EPOLLOUT | Ev.EPOLLWRNORM | Ev.EPOLLWRBAND);
        sk.StateChange += _ => f.WakeAll();
        return f;
    }

    public TcpSock? Tcp { get; }

    /// <summary>sock->state (stream sockets).</summary>
    public SocketState State { get; set; }

    public static SocketFile ForUdp(UdpSock sk)
    {
        var f = new SocketFile(sk, null);
        sk.DataReady += _ => f.WakeWatchers(Ev.EPOLLIN | Ev.EPOLLPRI | Ev.EPOLLRDNORM | Ev.EPOLLRDBAND);
        sk.WriteSpace += _ => f.WakeWatchers(Ev.EPOLLOUT | Ev.EPOLLWRNORM | Ev.EPOLLWRBAND);
        sk.ErrorReport += _ => f.WakeWatchers(Ev.EPOLLERR);
        return f;
    }

    public static SocketFile ForEpoll() => new(null, new Epoll());

    public UdpSock? Udp { get; }
    public Epoll? Epoll { get; }

    /// <summary>O_NONBLOCK and the other status flags (F_GETFL / F_SETFL).</summary>
    public int StatusFlags { get; set; } = Fcntl.O_RDWR;

    public bool NonBlocking => (StatusFlags & Fcntl.O_NONBLOCK) != 0;

    /// <summary>Epoll instances watching this file.</summary>
    internal HashSet<Epoll> Watchers { get; } = [];

    /// <summary>
    /// udp_poll() / datagram_poll(): EPOLLERR for a pending error, EPOLLIN for a queued datagram, EPOLLOUT
    /// while sock_writeable() (wmem_alloc below half the send buffer, strictly).
    /// </summary>
    /// <remarks>Linux: net/core/datagram.c datagram_poll(); net/ipv4/udp.c udp_poll()</remarks>
    public uint PollMask()
    {
        if (Tcp is { } tcp) return TcpPollMask(tcp);
        if (Udp is not { } sk) return Epoll!.HasReady ? Ev.EPOLLIN | Ev.EPOLLRDNORM : 0;
        uint mask = 0;
        if (sk.Error != Errno.OK) mask |= Ev.EPOLLERR;
        if ((sk.Shutdown & Sock.RcvShutdown) != 0) mask |= Ev.EPOLLRDHUP | Ev.EPOLLIN | Ev.EPOLLRDNORM;
        if (sk.Shutdown == (Sock.RcvShutdown | Sock.SendShutdown)) mask |= Ev.EPOLLHUP;
        if (!sk.ReceiveQueue.IsEmpty) mask |= Ev.EPOLLIN | Ev.EPOLLRDNORM;
        if (sk.IsWriteable) mask |= Ev.EPOLLOUT | Ev.EPOLLWRNORM | Ev.EPOLLWRBAND;
        return mask;
    }

    /// <summary>
    /// tcp_poll(): a listener is readable with a connection to accept; HUP when shut down both ways or closed;
    /// readable with data or after the peer's FIN; writable while the send buffer has a third free (not
    /// during the handshake); ERR for a pending error.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_poll(); include/net/sock.h __sk_stream_is_writeable()</remarks>
    private static uint TcpPollMask(TcpSock sk)
    {
        if (sk.State == TcpState.Listen) return sk.HasPendingConnection ? Ev.EPOLLIN | Ev.EPOLLRDNORM : 0;
        uint mask = 0;
        if (sk.Shutdown == (Sock.RcvShutdown | Sock.SendShutdown) || sk.State == TcpState.Close) mask |= Ev.EPOLLHUP;
        if ((sk.Shutdown & Sock.RcvShutdown) != 0) mask |= Ev.EPOLLIN | Ev.EPOLLRDNORM | Ev.EPOLLRDHUP;
        if (sk.State is not (TcpState.SynSent or TcpState.SynRecv))
        {
            if (sk.ReadableBytes > 0) mask |= Ev.EPOLLIN | Ev.EPOLLRDNORM;
            if ((sk.Shutdown & Sock.SendShutdown) != 0 || sk.StreamWriteable) mask |= Ev.EPOLLOUT | Ev.EPOLLWRNORM;
            else sk.NoSpace = true;
        }
        if (sk.Error != Errno.OK) mask |= Ev.EPOLLERR;
        return mask;
    }

    /// <summary>Wakes every waiter (state changes such as shutdown that are not a single event).</summary>
    internal void WakeAll() => WakeWatchers(0);

    private void WakeWatchers(uint key)
    {
        foreach (var ep in Watchers) ep.Wake(this, key);
    }
}
