using Xmit.Buffers;
using Xmit.Sockets;

namespace Xmit.Transport.Tcp;

/// <summary>
/// The receive window: what the initial SYN / SYN-ACK offer and which scale they choose, the window clamp,
/// rcv_ssthresh and its growth, and the window every segment announces — never shrinking its right edge,
/// zero when the free space is below one segment.
/// </summary>
public sealed partial class TcpProtocol
{
    /// <summary>TCP_RMEM_TO_WIN_SCALE: scaling_ratio is in 1/256ths of the buffer.</summary>
    private const int RmemToWinScale = 8;

    /// <summary>
    /// TCP_DEFAULT_SCALING_RATIO: half the receive buffer is window, half overhead, until data has shown the
    /// real payload-to-truesize ratio (tcp_measure_rcv_mss).
    /// </summary>
    internal const int DefaultScalingRatio = 1 << (RmemToWinScale - 1);

    /// <summary>TCP_MAX_WSCALE.</summary>
    private const int MaxWscale = 14;

    /// <summary>sysctl_tcp_app_win: the share of the buffer reserved for the application (1/2^31: one segment).</summary>
    private const int AppWin = 31;

    /// <summary>tcp_win_from_space(): the window a buffer of <paramref name="space"/> bytes can hold, by the connection's scaling_ratio.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_win_from_space(), __tcp_win_from_space()</remarks>
    private static long WinFromSpace(TcpSock sk, long space) => space <= 0 ? 0 : space * sk.ScalingRatio >> RmemToWinScale;

    /// <summary>tcp_space(): the window the free part of the receive buffer can hold.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_space()</remarks>
    private static long TcpSpace(TcpSock sk) => WinFromSpace(sk, sk.RcvBuf - sk.RmemAlloc);

    /// <summary>tcp_full_space(): the window the whole receive buffer can hold.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_full_space()</remarks>
    private static long FullSpace(TcpSock sk) => WinFromSpace(sk, sk.RcvBuf);

    /// <summary>tcp_receive_window(): what is left of the window last announced (never negative).</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_receive_window()</remarks>
    internal static uint ReceiveWindow(TcpSock sk)
    {
        int win = (int)(sk.RcvWup + sk.RcvWnd - sk.RcvNxt);
        return win < 0 ? 0u : (uint)win;
    }

    /// <summary>
    /// tcp_select_initial_window(): the SYN's window — the buffer's window in whole segments (the header field
    /// carries at most 65535 of it) — and the scale that lets the largest buffer (tcp_rmem[2], rmem_max) be announced; sets the clamp.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_select_initial_window()</remarks>
    private void SelectInitialWindow(TcpSock sk, long space, int mss, bool wscaleOk)
    {
        (sk.RcvWnd, sk.RcvWscale, sk.WindowClamp) = InitialWindow(space, mss, wscaleOk, sk.WindowClamp, sk.RcvBufLocked, FullSpace(sk));
    }

    /// <summary>
    /// tcp_select_initial_window() on values rather than a socket — for a request socket too: the window, its scale
    /// and the clamp, from the space, the segment size, the clamp so far (0: none) and whether SO_RCVBUF was set.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_select_initial_window(); net/ipv4/tcp_minisocks.c tcp_openreq_init_rwin()</remarks>
    private (uint RcvWnd, byte RcvWscale, uint WindowClamp) InitialWindow(long space, int mss, bool wscaleOk, uint windowClamp, bool rcvBufLocked, long fullSpace)
    {
        // tcp_connect_init() / tcp_openreq_init_rwin(): a buffer the application sized bounds the window.
        if (rcvBufLocked && (windowClamp > fullSpace || windowClamp == 0)) windowClamp = (uint)fullSpace;
        long clamp = windowClamp == 0 ? 65535L << MaxWscale : windowClamp;
        space = Math.Min(clamp, Math.Max(space, 0));
        if (space > mss) space = space / mss * mss;
        int wscale = 0;
        if (wscaleOk)
        {
            long max = Math.Max(space, Math.Max(Sysctls.TcpRmem.Max, Sysctls.RmemMax));
            max = Math.Min(max, clamp);
            wscale = Math.Clamp(63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)max) - 15, 0, MaxWscale);
        }
        // 6.x: no 64 KiB cap on the window itself (the SYN's header field still is).
        return ((uint)space, (byte)wscale, (uint)Math.Min(65535L << wscale, clamp));
    }

    /// <summary>
    /// tcp_init_buffer_space(): at the end of the handshake, size the send buffer for the initial window, clamp the window to what the buffer holds less one
    /// segment reserved for the application, and rcv_ssthresh to the clamp.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_init_buffer_space()</remarks>
    private void InitBufferSpace(TcpSock sk)
    {
        if (!sk.SndBufLocked) SndbufExpand(sk);
        sk.RcvqSpaceTime = Now;
        sk.RcvqSpaceSeq = sk.CopiedSeq;
        long maxwin = FullSpace(sk);
        long clamp = sk.WindowClamp;
        if (clamp >= maxwin)
        {
            clamp = maxwin;
            if (maxwin > 4L * sk.AdvMss) clamp = Math.Max(maxwin - (maxwin >> AppWin), 4L * sk.AdvMss);
        }
        if (clamp > 2L * sk.AdvMss && clamp + sk.AdvMss > maxwin) clamp = Math.Max(2L * sk.AdvMss, maxwin - sk.AdvMss);
        sk.WindowClamp = (uint)clamp;
        sk.RcvSsthresh = Math.Min(sk.RcvSsthresh, sk.WindowClamp);
        sk.RcvqSpace = (int)Math.Min(Math.Min(sk.RcvSsthresh, sk.RcvWnd), (uint)(InitCwnd * sk.AdvMss));
    }

    /// <summary>
    /// __tcp_select_window(): the window the free space allows — zero when it is below a segment (or 1/16 of the
    /// buffer) and less than half the buffer is free, at most rcv_ssthresh; with scaling rounded up to the scale,
    /// without it kept or cut to whole segments.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c __tcp_select_window()</remarks>
    internal static uint SelectWindowFree(TcpSock sk)
    {
        int mss = sk.RcvMss;
        long freeSpace = TcpSpace(sk);
        long allowedSpace = FullSpace(sk);
        long fullSpace = Math.Min(sk.WindowClamp, allowedSpace);
        if (mss > fullSpace)
        {
            mss = (int)fullSpace;
            if (mss <= 0) return 0;
        }
        int scale = sk.RcvWscale;
        if (freeSpace < fullSpace >> 1)
        {
            sk.Delack.QuickAcks = 0;
            freeSpace &= ~((1L << scale) - 1); // round down: scaling must not make it larger
            if (freeSpace < allowedSpace >> 4 || freeSpace < mss) return 0;
        }
        if (freeSpace > sk.RcvSsthresh) freeSpace = sk.RcvSsthresh;
        long window;
        if (scale > 0) window = (freeSpace + (1L << scale) - 1) & ~((1L << scale) - 1);
        else
        {
            window = sk.RcvWnd;
            if (window <= freeSpace - mss || window > freeSpace) window = freeSpace / mss * mss;
            else if (mss == fullSpace && freeSpace > window + (fullSpace >> 1)) window = freeSpace;
        }
        return (uint)window;
    }

    /// <summary>
    /// tcp_select_window(): the window for an outgoing segment — never less than what is left of the last one
    /// (the right edge does not move back), remembered with rcv_wup; scaled for the header.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_select_window()</remarks>
    private ushort SelectWindow(TcpSock sk)
    {
        uint oldWin = sk.RcvWnd;
        uint curWin = ReceiveWindow(sk);
        uint newWin = SelectWindowFree(sk);
        int scale = sk.RcvWscale;
        if (newWin < curWin)
        {
            if (newWin == 0) Mib.WantZeroWindowAdv++;
            newWin = (uint)((curWin + (1L << scale) - 1) & ~((1L << scale) - 1));
        }
        sk.RcvWnd = newWin;
        sk.RcvWup = sk.RcvNxt;
        long announced = Math.Min(newWin, 65535L << scale) >> scale;
        if (announced == 0)
        {
            if (oldWin != 0) Mib.ToZeroWindowAdv++;
        }
        else if (oldWin == 0) Mib.FromZeroWindowAdv++;
        return (ushort)announced;
    }

    /// <summary>
    /// tcp_grow_window(): a segment that arrived lets rcv_ssthresh grow towards the clamp — by two segments when
    /// its payload is a good share of its truesize, by less as the ratio gets worse.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_grow_window(), __tcp_grow_window()</remarks>
    private void GrowWindow(TcpSock sk, SkBuff skb)
    {
        long room = Math.Min(sk.WindowClamp, TcpSpace(sk)) - sk.RcvSsthresh;
        if (room <= 0) return;
        long incr;
        if (WinFromSpace(sk, skb.Truesize) <= skb.Len) incr = 2L * sk.AdvMss;
        else
        {
            incr = 0;
            long truesize = WinFromSpace(sk, skb.Truesize) >> 1;
            long window = WinFromSpace(sk, Sysctls.TcpRmem.Max) >> 1;
            while (sk.RcvSsthresh <= window)
            {
                if (truesize <= skb.Len)
                {
                    incr = 2L * sk.RcvMss;
                    break;
                }
                truesize >>= 1;
                window >>= 1;
            }
        }
        if (incr == 0) return;
        incr = Math.Max(incr, 2L * skb.Len);
        sk.RcvSsthresh += (uint)Math.Min(room, incr);
        sk.Delack.QuickAcks |= 1;
    }

    /// <summary>
    /// tcp_measure_rcv_mss(): a segment at least as large as the receive MSS estimate resets it (up to advmss);
    /// when it changes, the segment's payload-to-truesize ratio becomes the scaling_ratio, and the window clamp
    /// follows the buffer's new window (tcp_set_window_clamp).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_measure_rcv_mss(); net/ipv4/tcp.c tcp_set_window_clamp()</remarks>
    private static void MeasureRcvMss(TcpSock sk, SkBuff skb)
    {
        int len = skb.GsoSize != 0 ? skb.GsoSize : skb.Len; // a GSO skb (from veth) counts as its segments
        if (len < sk.RcvMss)
        {
            // A short segment: the sender pushed; the reader's emptying the buffer is then worth an ACK.
            if (sk.Delack.Pushed) sk.Delack.Pushed2 = true;
            sk.Delack.Pushed = true;
            return;
        }
        if (len != sk.RcvMss)
        {
            long ratio = ((long)skb.Len << RmemToWinScale) / Math.Max(skb.Truesize, 1);
            byte old = sk.ScalingRatio;
            sk.ScalingRatio = (byte)Math.Clamp(ratio, 1, 255);
            if (old != sk.ScalingRatio)
            {
                SetWindowClamp(sk, (uint)FullSpace(sk));
                if (sk.WindowClamp < sk.RcvqSpace) sk.RcvqSpace = (int)sk.WindowClamp;
            }
        }
        sk.RcvMss = Math.Min(len, sk.AdvMss);
    }

    /// <summary>tcp_set_window_clamp(): a smaller clamp pulls rcv_ssthresh down, a larger one lets it up to the window.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_set_window_clamp(), __tcp_adjust_rcv_ssthresh()</remarks>
    private static void SetWindowClamp(TcpSock sk, uint value)
    {
        uint old = sk.WindowClamp;
        uint clamp = Math.Max(Sock.MinRcvBuf / 2u, value);
        if (clamp == old) return;
        sk.WindowClamp = clamp;
        if (clamp < old) sk.RcvSsthresh = Math.Min(sk.RcvSsthresh, clamp);
        else sk.RcvSsthresh = Math.Max(Math.Min(sk.RcvWnd, clamp), sk.RcvSsthresh);
    }
}
