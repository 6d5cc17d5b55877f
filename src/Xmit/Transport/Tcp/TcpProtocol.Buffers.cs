using Xmit.Buffers;
using Xmit.Sockets;

namespace Xmit.Transport.Tcp;

/// <summary>
/// Buffer autotuning: the send buffer grows with the congestion window (tcp_sndbuf_expand), the receive
/// buffer with what the application reads per RTT (tcp_rcv_space_adjust, measured with the receiver's RTT
/// estimate) — neither once the application has set the size (SO_SNDBUF / SO_RCVBUF lock it).
/// </summary>
public sealed partial class TcpProtocol
{
    /// <summary>TCP_INIT_CWND.</summary>
    private const int InitCwnd = 10;

    /// <summary>
    /// tcp_sndbuf_expand(): room for twice (Fast Recovery needs ~1.7×) the larger of cwnd, the initial window and
    /// reordering+1 segments, each counted as a worst-case non-GSO skb (a power-of-two head plus struct sk_buff).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_sndbuf_expand()</remarks>
    private void SndbufExpand(TcpSock sk)
    {
        long perMss = Math.Max(sk.MssClamp, sk.MssCache) + MaxTcpHeader + Truesize.SharedInfo;
        perMss = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)perMss) + Truesize.SkBuffStruct;
        long segs = Math.Max(InitCwnd, sk.SndCwnd);
        segs = Math.Max(segs, sk.Reordering + 1);
        long sndmem = 2 * segs * perMss;
        if (sk.SndBuf < sndmem) sk.SndBuf = (int)Math.Min(sndmem, Sysctls.TcpWmem.Max);
    }

    /// <summary>
    /// tcp_check_space() / tcp_new_space(): after an ACK, a sender that ran out of send buffer gets a larger one
    /// if cwnd was not the limit (tcp_should_expand_sndbuf), then the write-space wake-up (sk_stream_write_space).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_check_space(), tcp_new_space(), tcp_should_expand_sndbuf(); net/core/stream.c sk_stream_write_space()</remarks>
    private void CheckSpace(TcpSock sk)
    {
        if (!sk.NoSpace) return;
        if (!sk.SndBufLocked && sk.InFlight < sk.SndCwnd) SndbufExpand(sk);
        if (sk.StreamMemoryFree && sk.StreamWriteable)
        {
            sk.NoSpace = false;
            sk.RaiseWriteSpace();
            ChronoStop(sk, TcpChrono.SndbufLimited); // tcp_check_space()
        }
    }

    /// <summary>
    /// tcp_rcv_rtt_measure_ts() then tcp_rcv_rtt_measure(): the receiver's RTT estimate (×8). From the echo of our
    /// timestamp in a full-sized segment (millisecond ticks, a zero delta is no sample), and — with timestamps or
    /// without — once per window of data, the time it took rcv_nxt to pass the window's right edge, as a minimum so
    /// slow readers do not inflate it. The window measure counts a zero delta as 1 µs: over lo a window arrives
    /// within a timestamp tick (or, in Xmit, within one instant), and it is this sample that lets
    /// tcp_rcv_space_adjust grow the buffer, the window and with it the peer's MSS (tcp_bound_to_half_wnd).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_rtt_measure_ts(), tcp_rtt_tsopt_us(), tcp_rcv_rtt_measure(), tcp_rcv_rtt_update(), tcp_event_data_recv()</remarks>
    private void RcvRttMeasure(TcpSock sk, SkBuff skb, uint tsEcr)
    {
        if (sk.TimestampOk && tsEcr != 0 && tsEcr != sk.RcvRttLastTsEcr)
        {
            sk.RcvRttLastTsEcr = tsEcr;
            long deltaMs = (int)(TsNow - tsEcr);
            // Linux takes this sample before queueing the segment: unread bytes ahead of it mean a slow reader.
            bool queueEmpty = sk.CopiedSeq == skb.Cb.Seq;
            if (skb.Cb.EndSeq - skb.Cb.Seq >= (uint)sk.RcvMss && deltaMs > 0) RcvRttUpdate(sk, deltaMs * 1000, windowDependent: false, queueEmpty);
        }
        // tcp_rcv_rtt_measure(): called for every data segment by tcp_event_data_recv, timestamps or not.
        if (sk.RcvRttTime != default && sk.RcvNxt < sk.RcvRttSeq) return;
        if (sk.RcvRttTime != default)
            RcvRttUpdate(sk, Math.Max((Now - sk.RcvRttTime).Nanoseconds / 1000, 1), windowDependent: true, queueEmpty: true);
        sk.RcvRttSeq = sk.RcvNxt + sk.RcvWnd;
        sk.RcvRttTime = Now;
    }

    /// <summary>
    /// tcp_rcv_rtt_update(): a smaller sample is taken at once; a larger one only from timestamps and only while the
    /// receive queue was empty — an application slow to read should leave the estimate small, so tcp_rcv_space_adjust
    /// does not measure its backlog as bandwidth and inflate the buffer.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_rtt_update()</remarks>
    private static void RcvRttUpdate(TcpSock sk, long sampleUs, bool windowDependent, bool queueEmpty)
    {
        long m = sampleUs << 3;
        long old = sk.RcvRttUs8;
        if (old == 0 || m < old) sk.RcvRttUs8 = m;
        else if (!windowDependent && queueEmpty) sk.RcvRttUs8 = old - (old >> 3) + sampleUs;
    }

    /// <summary>
    /// tcp_rcv_space_adjust(): once per receiver RTT, if the application read more than in the last one, that
    /// becomes rcvq_space and the buffer grows for it (tcp_rcvbuf_grow).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_space_adjust()</remarks>
    private void RcvSpaceAdjust(TcpSock sk)
    {
        if (sk.RcvRttUs8 == 0) return;
        long time = (Now - sk.RcvqSpaceTime).Nanoseconds / 1000;
        if (time < sk.RcvRttUs8 >> 3) return;
        long copied = (int)(sk.CopiedSeq - sk.RcvqSpaceSeq);
        long inq = (int)(sk.RcvNxt - sk.CopiedSeq);
        copied -= inq;
        if (copied > sk.RcvqSpace)
        {
            int old = sk.RcvqSpace;
            sk.RcvqSpace = (int)copied;
            if (Sysctls.TcpModerateRcvbuf != 0 && !sk.RcvBufLocked)
            {
                long ooo = sk.OutOfOrder.PeekTail() is { } last ? (int)(last.Cb.EndSeq - sk.RcvNxt) : 0;
                long rcvbuf = RcvbufForGrowth(old, (int)copied, ooo, sk.ScalingRatio, Sysctls.TcpRmem.Max);
                if (rcvbuf > sk.RcvBuf)
                {
                    sk.RcvBuf = (int)rcvbuf;
                    sk.WindowClamp = (uint)WinFromSpace(sk, rcvbuf);
                }
            }
        }
        sk.RcvqSpaceSeq = sk.CopiedSeq;
        sk.RcvqSpaceTime = Now;
    }

    /// <summary>
    /// tcp_rcvbuf_grow(): the buffer for a reader that took <paramref name="newSpace"/> bytes in the last RTT after
    /// <paramref name="oldSpace"/> in the one before — twice that (the measure is one RTT late), plus twice the growth
    /// again (a sender in slow start doubles per RTT), plus what the out-of-order queue spans, up to tcp_rmem[2].
    /// Checked step by step against the kernel's own tcp_rcvbuf_grow tracepoint (linux-truth/tcp-rcvbuf-grow.json).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcvbuf_grow()</remarks>
    internal static long RcvbufForGrowth(int oldSpace, int newSpace, long oooSpan, byte scalingRatio, long cap)
    {
        long rcvwin = (long)newSpace << 1;
        long grow = rcvwin * (newSpace - oldSpace) / Math.Max(oldSpace, 1);
        rcvwin += grow << 1;
        rcvwin += oooSpan;
        return Math.Min((rcvwin << RmemToWinScale) / scalingRatio, cap); // tcp_space_from_win()
    }
}
