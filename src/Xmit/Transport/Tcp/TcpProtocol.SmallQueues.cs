using Xmit.Buffers;

namespace Xmit.Transport.Tcp;

/// <summary>
/// TCP Small Queues: a connection keeps at most about a millisecond of data (at its pacing rate, at least two
/// skbs, at most tcp_limit_output_bytes) in the qdisc and driver below it; the rest waits in the write queue
/// until a TX completion frees memory and pushes again (tcp_wfree → tasklet → tcp_tsq_handler). Autocorking
/// waits for the same push.
/// </summary>
public sealed partial class TcpProtocol
{
    /// <summary>sk_pacing_shift's default: a limit of rate / 1024, about a millisecond.</summary>
    private const int PacingShift = 10;

    /// <summary>
    /// tcp_small_queue_check(): whether <paramref name="skb"/> must wait because the bytes this socket already
    /// has below TCP (sk_wmem_alloc) exceed the limit; a connection with at most one skb unacknowledged always
    /// sends. <paramref name="factor"/> doubles the limit per step (1 for retransmissions).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_small_queue_check(); include/net/tcp.h tcp_rtx_queue_empty_or_single_skb()</remarks>
    private bool SmallQueueCheck(TcpSock sk, SkBuff skb, int factor)
    {
        ulong limit = SmallQueueLimit(sk, skb.Truesize) << factor;
        if ((ulong)sk.WmemAlloc <= limit) return false;
        var head = sk.WriteQueue.Peek();
        if (head is null || head == sk.SendHead || SkBuffQueue.NextOf(head) == sk.SendHead) return false;
        sk.TsqThrottled = true;
        return (ulong)sk.WmemAlloc > limit;
    }

    /// <summary>
    /// tcp_small_queue_check()'s limit for an skb of <paramref name="truesize"/> before the doubling per step:
    /// max(2 × truesize, pacing_rate &gt;&gt; 10), capped by tcp_limit_output_bytes unless fq paces the socket.
    /// </summary>
    internal ulong SmallQueueLimit(TcpSock sk, int truesize)
    {
        ulong limit = Math.Max(2UL * (ulong)truesize, sk.PacingRate >> PacingShift);
        if (sk.PacingStatus == SkPacingStatus.None) limit = Math.Min(limit, (ulong)Sysctls.TcpLimitOutputBytes); // SK_PACING_NONE: capped
        return limit;
    }

    /// <summary>
    /// The TSQ limit that would apply now to the next skb to send (or, with nothing left to send, to the oldest one
    /// unacknowledged): what sk_wmem_alloc is held under. Observation only, for reports.
    /// </summary>
    public long SmallQueueLimitNow(TcpSock sk) => (long)SmallQueueLimit(sk, (sk.SendHead ?? sk.WriteQueue.Peek())?.Truesize ?? 0);

    /// <summary>tcp_wfree()'s tasklet_schedule: the push runs as soon as the current event is done.</summary>
    internal void ScheduleTsq(TcpSock sk) => _clock.Arm(sk.TsqTasklet, Now);

    /// <summary>
    /// tcp_tsq_handler() / tcp_tsq_write(): after a TX completion, retransmit what is lost if cwnd allows,
    /// then write what the queue holds.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_tsq_handler(), tcp_tsq_write()</remarks>
    internal void TsqHandler(TcpSock sk)
    {
        if (sk.State is not (TcpState.Established or TcpState.FinWait1 or TcpState.Closing or TcpState.CloseWait or TcpState.LastAck)) return;
        if (sk.LostOut > sk.RetransOut && sk.SndCwnd > sk.InFlight) RetransmitQueue(sk);
        if (sk.SendHead is not null) WriteXmit(sk, SendMss(sk, out _), sk.NonAgle, pushOne: false);
    }
}
