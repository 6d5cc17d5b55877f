using System.Globalization;
using System.Text;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// /proc/net/tcp as Linux prints it: a header, then a line per socket — slot, local and remote address in the kernel's
/// hex (the __be32 read as a little-endian number, the port in host order), state code (0A is LISTEN), tx_queue:rx_queue
/// (write_seq − snd_una, and rcv_nxt − copied_seq or a listener's accept queue), the pending timer and when it
/// fires (clock ticks of USER_HZ 100), retransmits, uid, probes, inode, refcount, then rto, ato, quick-ack and
/// ping-pong, cwnd and ssthresh (−1 while it is infinite; a listener's Fast Open queue length). Full sockets only: request sockets (SYN_RECV) and
/// TIME-WAIT minisocks are not listed; uid, inode and the pointer print as 0.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_ipv4.c tcp4_seq_show(), get_tcp4_sock()</remarks>
public static class ProcNetTcp
{
    /// <summary>TMPSZ: every line is padded to 149 characters.</summary>
    private const int LineWidth = 149;

    public static string Format(TcpProtocol tcp, Instant now)
    {
        var b = new StringBuilder();
        b.Append("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode".PadRight(LineWidth)).Append('\n');
        int slot = 0;
        foreach (var sk in tcp.Sockets) b.Append(Line(sk, slot++, now).PadRight(LineWidth)).Append('\n');
        return b.ToString();
    }

    private static string Line(TcpSock sk, int slot, Instant now)
    {
        bool listen = sk.State == TcpState.Listen;
        int txQueue = (int)(sk.WriteSeq.Value - sk.SndUna.Value);
        int rxQueue = listen ? sk.AcceptQueueLength : Math.Max((int)(sk.RcvNxt.Value - sk.CopiedSeq.Value), 0);
        // timer_active: 1 retransmit or loss probe, 4 zero-window probe, 0 none.
        int timer = !sk.RetransmitTimer.IsArmed ? 0 : sk.PendingTimer == TcpXmitTimer.Probe0 ? 4 : 1;
        long ticks = timer == 0 ? 0 : Math.Max((sk.RetransmitTimer.Expires - now).Nanoseconds, 0) / 10_000_000;
        uint ssthresh = sk.SndSsthresh >= TcpProtocol.InfiniteSsthresh ? uint.MaxValue : sk.SndSsthresh;
        return string.Format(CultureInfo.InvariantCulture,
            "{0,4}: {1:X8}:{2:X4} {3:X8}:{4:X4} {5:X2} {6:X8}:{7:X8} {8:X2}:{9:X8} {10:X8} {11,5} {12,8} {13} {14} {15:X16} {16} {17} {18} {19} {20}",
            slot, Hex(sk.LocalAddress), sk.LocalPort, Hex(sk.RemoteAddress), sk.RemotePort, (int)sk.State, txQueue, rxQueue,
            timer, ticks, sk.Retransmits, 0, sk.ProbesOut, 0, 1, 0,
            sk.Rtt.Rto.Nanoseconds / 10_000_000, sk.Delack.Ato.Nanoseconds / 10_000_000,
            (sk.Delack.QuickAcks << 1) | (sk.Delack.PingPong ? 1 : 0), sk.SndCwnd, listen ? sk.FastOpenMaxQlen : (int)ssthresh);
    }

    /// <summary>The address as the kernel's %08X of a __be32 on a little-endian host: the network-order bytes swapped.</summary>
    private static uint Hex(Ipv4Address a) => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(a.Value);
}
