using Xmit.Network.Ipv4;
using Xmit.Time;

namespace Xmit.Sockets.Api;

/// <summary>struct socket's state for stream sockets: whether connect() was called and has been reported.</summary>
public enum SocketState : byte { Unconnected, Connecting, Connected }

/// <summary>
/// An open file with its file status flags: a UDP or TCP socket (<see cref="UdpSocketFile"/>,
/// <see cref="TcpSocketFile"/>) or an epoll instance (<see cref="EpollFile"/>). Each kind answers the
/// calls it supports; the rest answer what Linux answers for a file that is not a socket (ENOTSOCK), as
/// struct file's f_op and struct socket's proto_ops do.
/// </summary>
/// <remarks>Linux: include/linux/fs.h struct file, struct file_operations; include/linux/net.h struct proto_ops</remarks>
public abstract class SocketFile
{
    private protected static readonly int NotSocket = -(int)Errno.ENOTSOCK;

    /// <summary>O_NONBLOCK and the other status flags (F_GETFL / F_SETFL).</summary>
    public int StatusFlags { get; set; } = Fcntl.O_RDWR;

    public bool NonBlocking => (StatusFlags & Fcntl.O_NONBLOCK) != 0;

    /// <summary>Epoll instances watching this file.</summary>
    internal HashSet<Epoll> Watchers { get; } = [];

    /// <summary>f_op->poll: the events ready now.</summary>
    public abstract uint PollMask();

    internal virtual int Bind(SockAddrIn? addr) => NotSocket;

    internal virtual int Connect(SockAddrIn? addr) => NotSocket;

    internal virtual int Listen(int backlog) => NotSocket;

    /// <summary>accept(): the next connection as a new file for the caller to install.</summary>
    internal virtual int Accept(out SocketFile? child, out SockAddrIn peer)
    {
        child = null;
        peer = default;
        return NotSocket;
    }

    internal virtual int SendTo(ReadOnlySpan<byte> buffer, MsgFlags flags, SockAddrIn? to) => NotSocket;

    internal virtual int RecvFrom(Span<byte> buffer, MsgFlags flags, out SockAddrIn from)
    {
        from = default;
        return NotSocket;
    }

    /// <summary>A send whose user buffer faults (modelled for TCP; other kinds are not sockets that get this far).</summary>
    internal virtual int SendToUnmapped(int length, MsgFlags flags) => NotSocket;

    /// <summary>A receive into a user buffer that faults (modelled for TCP).</summary>
    internal virtual int RecvFromUnmapped(int length, MsgFlags flags) => NotSocket;

    internal virtual int SetSockOpt(int level, int name, int value) => NotSocket;
    /// <summary>setsockopt() of an option that takes a buffer rather than an int.</summary>
    internal virtual int SetSockOptBytes(int level, int name, ReadOnlySpan<byte> optval) => NotSocket;

    internal virtual int GetSockOpt(int level, int name, out int value)
    {
        value = 0;
        return NotSocket;
    }

    /// <summary>getsockopt() into a caller's buffer; <paramref name="optlen"/> is what was written.</summary>
    internal virtual int GetSockOpt(int level, int name, Span<byte> optval, out int optlen)
    {
        optlen = 0;
        return NotSocket;
    }

    internal virtual int SetSockOptTimeout(int name, Duration timeout) => NotSocket;

    internal virtual int GetSockOptTimeout(int name, out Duration timeout)
    {
        timeout = Duration.Zero;
        return NotSocket;
    }

    internal virtual int SetLinger(bool on, int seconds) => NotSocket;

    internal virtual int Ioctl(uint request, out int value)
    {
        value = 0;
        return NotSocket;
    }

    internal virtual int Shutdown(int how) => NotSocket;

    /// <summary>The last close of the file: f_op->release (sock_close, ep_eventpoll_release).</summary>
    internal virtual void Release() { }

    /// <summary>Wakes every waiter (state changes such as shutdown that are not a single event).</summary>
    internal void WakeAll() => WakeWatchers(0);

    private protected void WakeWatchers(uint key)
    {
        foreach (var ep in Watchers) ep.Wake(this, key);
    }
}

/// <summary>An epoll instance's file: readable while an item is ready.</summary>
/// <remarks>Linux: fs/eventpoll.c ep_eventpoll_poll()</remarks>
public sealed class EpollFile : SocketFile
{
    public Epoll Epoll { get; } = new();

    public override uint PollMask() => Epoll.HasReady ? Ev.EPOLLIN | Ev.EPOLLRDNORM : 0;
}
