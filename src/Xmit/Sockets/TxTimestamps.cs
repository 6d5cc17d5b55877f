using Xmit.Buffers;
using Xmit.Time;

namespace Xmit.Sockets;

/// <summary>
/// SO_TIMESTAMPING on transmit: the points of the path where a packet that asked for it (skb_shinfo tx_flags) leaves
/// a timestamp on its socket's error queue — SCHED as it enters the device layer, SND as the driver takes it, ACK
/// when TCP's peer acknowledged its last byte. Each message is a copy of the packet (or, with OPT_TSONLY, an empty
/// skb) charged to the socket's receive buffer, with the key of the timestamped byte when OPT_ID is set.
/// </summary>
/// <remarks>Linux: net/core/skbuff.c __skb_tstamp_tx(), __skb_complete_tx_timestamp(); include/linux/skbuff.h skb_tx_timestamp(); net/core/dev.c __dev_queue_xmit()</remarks>
public static class TxTimestamps
{
    /// <summary>__sock_tx_timestamp(): the tx_flags a send asks for with the socket's SO_TIMESTAMPING recording flags.</summary>
    /// <remarks>Linux: net/socket.c __sock_tx_timestamp()</remarks>
    public static SkbTxFlags TxFlagsFor(TimestampingFlags flags)
    {
        var tx = SkbTxFlags.None;
        if ((flags & TimestampingFlags.TxSoftware) != 0) tx |= SkbTxFlags.SwTstamp;
        if ((flags & TimestampingFlags.TxSched) != 0) tx |= SkbTxFlags.SchedTstamp;
        return tx;
    }

    /// <summary>__dev_queue_xmit(): SCM_TSTAMP_SCHED for a packet that asks for it, before the qdisc.</summary>
    public static void Sched(SkBuff skb, Instant now)
    {
        if ((skb.TxFlags & SkbTxFlags.SchedTstamp) != 0 && skb.Sk is Sock sk) Report(sk, skb, TstampType.Sched, now);
    }

    /// <summary>skb_tx_timestamp(): the driver's SCM_TSTAMP_SND, as it takes the packet.</summary>
    public static void Snd(SkBuff skb, Instant now)
    {
        if ((skb.TxFlags & SkbTxFlags.SwTstamp) != 0 && skb.Sk is Sock sk) Report(sk, skb, TstampType.Snd, now);
    }

    /// <summary>__skb_tstamp_tx() and __skb_complete_tx_timestamp(): one message on <paramref name="sk"/>'s error queue.</summary>
    internal static void Report(Sock sk, SkBuff orig, TstampType type, Instant now)
    {
        var flags = sk.TsFlags;
        bool tsonly = (flags & TimestampingFlags.OptTsonly) != 0;
        // skb_may_tx_timestamp(): net.core.tstamp_allow_data is 1, so the packet itself may come back.
        int length = tsonly ? 0 : orig.Len;
        int truesize = tsonly ? Truesize.ForAllocSkb(0) : orig.Truesize;
        uint key = 0;
        if ((flags & TimestampingFlags.OptId) != 0)
        {
            key = orig.TsKey;
            if (sk.IsStream) key -= sk.TsKey; // TCP's key is the byte's offset from where the counting started
        }
        var ee = new SockExtendedErr((int)Errno.ENOMSG, ErrOrigin.Timestamping, 0, 0, (uint)type, key);
        sk.QueueErrorCharged(new ErrorQueueEntry(ee, now, length, truesize, chargedToRmem: true));
    }
}
