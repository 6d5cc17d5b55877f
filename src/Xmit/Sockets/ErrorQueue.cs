using Xmit.Time;

namespace Xmit.Sockets;

/// <summary>Who reported an error-queue message (SO_EE_ORIGIN_*).</summary>
/// <remarks>Linux: include/uapi/linux/errqueue.h SO_EE_ORIGIN_*</remarks>
public enum ErrOrigin : byte
{
    None = 0,
    Local = 1,
    Icmp = 2,
    Icmp6 = 3,
    /// <summary>SO_EE_ORIGIN_TIMESTAMPING (= SO_EE_ORIGIN_TXSTATUS): a transmit timestamp.</summary>
    Timestamping = 4,
    /// <summary>SO_EE_ORIGIN_ZEROCOPY: a range of MSG_ZEROCOPY sends whose pages the kernel no longer holds.</summary>
    Zerocopy = 5,
}

/// <summary>Which point of the transmit path a timestamp records (SCM_TSTAMP_*, the message's ee_info).</summary>
/// <remarks>Linux: include/uapi/linux/errqueue.h SCM_TSTAMP_SND, SCM_TSTAMP_SCHED, SCM_TSTAMP_ACK</remarks>
public enum TstampType : uint
{
    /// <summary>The driver took the packet (skb_tx_timestamp).</summary>
    Snd = 0,
    /// <summary>The packet entered the device layer, before the qdisc (__dev_queue_xmit).</summary>
    Sched = 1,
    /// <summary>The peer acknowledged every byte up to the timestamped one (tcp_ack_tstamp).</summary>
    Ack = 2,
}

/// <summary>struct sock_extended_err: what recvmsg(MSG_ERRQUEUE) returns in its IP_RECVERR control message.</summary>
/// <remarks>Linux: include/uapi/linux/errqueue.h struct sock_extended_err</remarks>
public record struct SockExtendedErr(int Errno, ErrOrigin Origin, byte Type, byte Code, uint Info, uint Data)
{
    /// <summary>SO_EE_CODE_ZEROCOPY_COPIED: the data was copied after all (the device could not send from user pages).</summary>
    public const byte CodeZerocopyCopied = 1;
}

/// <summary>
/// One skb on sk_error_queue, kept as what recvmsg(MSG_ERRQUEUE) hands back: the extended error, the software
/// timestamp (a transmit timestamp's SCM_TIMESTAMPING), the length of the data the skb carries (a timestamp's skb
/// is a clone of the packet, so a short buffer gets MSG_TRUNC) and what it charges its socket.
/// </summary>
/// <remarks>Linux: include/linux/errqueue.h struct sock_exterr_skb; net/core/skbuff.c sock_queue_err_skb()</remarks>
public sealed class ErrorQueueEntry
{
    internal ErrorQueueEntry(SockExtendedErr ee, Instant? timestamp, int length, int truesize, bool chargedToRmem)
    {
        Ee = ee;
        Timestamp = timestamp;
        Length = length;
        Truesize = truesize;
        ChargedToRmem = chargedToRmem;
    }

    /// <summary>The extended error (a zerocopy range may still grow while it waits: skb_zerocopy_notify_extend).</summary>
    public SockExtendedErr Ee { get; internal set; }

    /// <summary>skb->tstamp: when a transmit timestamp was taken; null for messages without one.</summary>
    public Instant? Timestamp { get; }

    /// <summary>skb->len: the bytes recvmsg copies (MSG_TRUNC when the buffer is shorter).</summary>
    public int Length { get; }

    /// <summary>skb->truesize, charged to sk_rmem_alloc (timestamps) or sk_omem_alloc (zerocopy notifications).</summary>
    public int Truesize { get; }

    /// <summary>msg_name: for an ICMP or local error, the destination of the datagram it is about.</summary>
    public (Wire.Ipv4Address Address, ushort Port)? Name { get; init; }

    /// <summary>The offender IP_RECVERR's message names: the sender of an ICMP error (none for local errors and the rest).</summary>
    public Wire.Ipv4Address? Offender { get; init; }

    internal bool ChargedToRmem { get; }
}

/// <summary>
/// What recvmsg(MSG_ERRQUEUE) returns besides the bytes: the msghdr's msg_flags (MSG_ERRQUEUE, MSG_TRUNC), the
/// IP_RECVERR control message's extended error, and the SCM_TIMESTAMPING software time when the message has one and
/// the socket reports software timestamps (SOF_TIMESTAMPING_SOFTWARE).
/// </summary>
public readonly record struct ErrQueueMessage(SockExtendedErr Ee, Instant? Timestamp, Network.Ipv4.MsgFlags Flags,
    (Wire.Ipv4Address Address, ushort Port)? Name = null, Wire.Ipv4Address? Offender = null);

/// <summary>sk_error_queue: messages in arrival order; only the tail may be merged into (zerocopy ranges).</summary>
public sealed class ErrorQueue
{
    private readonly Queue<ErrorQueueEntry> _entries = new();
    private ErrorQueueEntry? _tail;

    public int Count => _entries.Count;
    public bool IsEmpty => _entries.Count == 0;

    /// <summary>skb_peek_tail().</summary>
    public ErrorQueueEntry? Tail => _tail;

    public ErrorQueueEntry? Peek() => _entries.Count == 0 ? null : _entries.Peek();

    internal void Enqueue(ErrorQueueEntry entry)
    {
        _entries.Enqueue(entry);
        _tail = entry;
    }

    internal ErrorQueueEntry? Dequeue()
    {
        if (_entries.Count == 0) return null;
        var e = _entries.Dequeue();
        if (_entries.Count == 0) _tail = null;
        return e;
    }
}
