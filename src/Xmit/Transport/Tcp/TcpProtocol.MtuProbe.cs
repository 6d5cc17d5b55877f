using Xmit.Buffers;
using Xmit.Network.Ipv4;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// Packetization-layer path MTU discovery (RFC 4821, net.ipv4.tcp_mtu_probing): with 2 a connection starts its
/// MSS at tcp_base_mss and sends, when cwnd and the queue allow, one probe segment halfway between the MTU known to
/// work and the largest possible; its ACK raises the MSS, its loss lowers the search's top without a congestion
/// response. With 1 the search only starts once timeouts suggest an ICMP blackhole (tcp_write_timeout after
/// tcp_retries1), which also halves the MSS on each further such timeout.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_output.c tcp_mtup_init(), tcp_mtu_probe(), tcp_mtu_check_reprobe(), tcp_can_coalesce_send_queue_head(), __tcp_mtu_to_mss(), tcp_mss_to_mtu(); net/ipv4/tcp_input.c tcp_mtup_probe_success(), tcp_mtup_probe_failed(); net/ipv4/tcp_timer.c tcp_mtu_probing()</remarks>
public sealed partial class TcpProtocol
{
    /// <summary>Cb.Flags bit: the skb is an MTU probe, one segment whatever its length (tcp_init_tso_segs(nskb, nskb->len)).</summary>
    private const int OneSegmentFlag = 2;

    /// <summary>tp->tcp_header_len: the TCP header with the options every segment carries (the timestamp).</summary>
    private static int TcpHeaderLength(TcpSock sk) => TcpSegment.MinHeaderLength + (sk.TimestampOk ? TimestampOptionLength : 0);

    /// <summary>
    /// tcp_mtup_init(): the search spans tcp_base_mss to the peer's MSS; on only with tcp_mtu_probing 2.
    /// <paramref name="tcpHeaderLength"/> is tp->tcp_header_len at the time (tcp_connect_init counts the timestamp
    /// the SYN will offer; tcp_init_transfer what was agreed).
    /// </summary>
    private void MtupInit(TcpSock sk, int tcpHeaderLength)
    {
        var m = sk.Mtup;
        m.Enabled = Sysctls.TcpMtuProbing > 1;
        m.SearchHigh = MssClamp(sk) + TcpSegment.MinHeaderLength + Ipv4Packet.MinHeaderLength;
        m.SearchLow = Sysctls.TcpBaseMss + tcpHeaderLength + Ipv4Packet.MinHeaderLength;
        m.ProbeSize = 0;
        if (m.Enabled) m.ProbeTimestamp = Now;
    }

    /// <summary>rx_opt.mss_clamp: the peer's MSS and TCP_MAXSEG (536 before the peer has said, as tcp_v4_connect sets it).</summary>
    private static int MssClamp(TcpSock sk)
    {
        int clamp = sk.MssClamp > 0 ? sk.MssClamp : MssDefault;
        return sk.UserMss > 0 ? Math.Min(clamp, sk.UserMss) : clamp;
    }

    /// <summary>tcp_mtu_to_mss(): the payload a packet of <paramref name="mtu"/> bytes carries, less the options every segment has.</summary>
    private static int MtuToMss(TcpSock sk, int mtu)
    {
        int mss = Math.Min(mtu - Ipv4Packet.MinHeaderLength - TcpSegment.MinHeaderLength, MssClamp(sk));
        return Math.Max(mss, 48) - (TcpHeaderLength(sk) - TcpSegment.MinHeaderLength); // TCP_MIN_SND_MSS
    }

    /// <summary>tcp_mss_to_mtu(): the packet a segment of <paramref name="mss"/> bytes makes.</summary>
    private static int MssToMtu(TcpSock sk, int mss) => mss + TcpHeaderLength(sk) + Ipv4Packet.MinHeaderLength;

    /// <summary>
    /// tcp_mtu_probe(), at the start of tcp_write_xmit: 1 when a probe went out, 0 to wait (the window or cwnd will
    /// allow one soon), -1 to go on without one. A probe needs Open state, cwnd ≥ 11, no SACK blocks on the
    /// segments, the probe plus reordering + 1 MSS of unsent data, and room for two more segments in cwnd; it is
    /// built from the head of the send queue and counts as two packets against cwnd.
    /// </summary>
    private int MtuProbe(TcpSock sk)
    {
        var m = sk.Mtup;
        if (!m.Enabled || m.ProbeSize != 0 || sk.CaState != TcpCaState.Open || sk.SndCwnd < 11 || SackOptionLength(sk) != 0) return -1;
        int mssNow = CurrentMss(sk);
        int probeSize = MtuToMss(sk, (m.SearchHigh + m.SearchLow) >> 1);
        int sizeNeeded = probeSize + ((int)sk.Reordering + 1) * sk.MssCache;
        if (probeSize > MtuToMss(sk, m.SearchHigh) || m.SearchHigh - m.SearchLow < Sysctls.TcpProbeThreshold)
        {
            MtuCheckReprobe(sk);
            return -1;
        }
        if ((int)(sk.WriteSeq - sk.SndNxt) < sizeNeeded || sk.SndWnd < sizeNeeded) return -1;
        if (sk.SndNxt + (uint)sizeNeeded > WndEnd(sk)) return 0;
        if (sk.InFlight + 2 > sk.SndCwnd) return sk.InFlight == 0 ? -1 : 0; // with nothing in flight, do not stall
        if (!CanCoalesceSendQueueHead(sk, probeSize)) return -1;

        var head = sk.SendHead!;
        var probe = _pool.Alloc(MaxTcpHeader + probeSize);
        probe.Reserve(MaxTcpHeader);
        probe.Truesize = Truesize.ForAllocSkb(MaxTcpHeader) + probeSize;
        sk.WmemQueued += probe.Truesize;
        probe.Cb.Seq = head.Cb.Seq;
        probe.Cb.EndSeq = head.Cb.Seq + (uint)probeSize;
        probe.Cb.TcpFlags = TcpFlags.Ack;
        probe.Cb.Flags = OneSegmentFlag;
        probe.ZerocopyCloneFrom(head); // tcp_clone_payload() takes the pages, and with them the zerocopy notification
        sk.WriteQueue.InsertBefore(head, probe);
        var dst = probe.Put(probeSize);
        int len = 0;
        for (var skb = head; skb is not null && len < probeSize;)
        {
            var next = SkBuffQueue.NextOf(skb);
            int copy = Math.Min(skb.Len, probeSize - len);
            skb.CopyBits(0, dst.Slice(len, copy));
            if (skb.Len <= copy) EatSkb(sk, probe, skb); // the whole skb went into the probe
            else
            {
                probe.Cb.TcpFlags |= (byte)(skb.Cb.TcpFlags & ~(TcpFlags.Fin | TcpFlags.Psh));
                skb.Pull(copy); // __pskb_trim_head(): the rest stays, and so does its charge
                skb.Cb.Seq += (uint)copy;
            }
            len += copy;
            skb = next;
        }
        sk.SendHead = probe;
        if (TransmitSkb(sk, probe, clone: true) != 0) return -1; // tcp_write_xmit resegments it then
        sk.SndCwnd--; // the probe is in effect two packets
        EventNewDataSent(sk, probe, mssNow);
        m.ProbeSize = MssToMtu(sk, probe.Len);
        m.ProbeSeqStart = probe.Cb.Seq;
        m.ProbeSeqEnd = probe.Cb.EndSeq;
        return 1;
    }

    /// <summary>tcp_can_coalesce_send_queue_head(): the skbs the probe would take may merge (no record end, no timestamp request, no zerocopy mix).</summary>
    private static bool CanCoalesceSendQueueHead(TcpSock sk, int len)
    {
        for (var skb = sk.SendHead; skb is not null; skb = SkBuffQueue.NextOf(skb))
        {
            if (len <= skb.Len) break;
            if (skb.TxFlags != SkbTxFlags.None || !CanCollapseTo(skb)) return false;
            if (SkBuffQueue.NextOf(skb) is { } next && (skb.Zerocopy is not null || next.Zerocopy is not null)) return false;
            len -= skb.Len;
        }
        return true;
    }

    /// <summary>tcp_mtu_check_reprobe(): tcp_probe_interval after the search settled, it starts again from the current MSS up to the peer's.</summary>
    private void MtuCheckReprobe(TcpSock sk)
    {
        var m = sk.Mtup;
        if (Now - m.ProbeTimestamp < Time.Duration.FromSeconds(Sysctls.TcpProbeInterval)) return;
        m.ProbeSize = 0;
        m.SearchHigh = MssClamp(sk) + TcpSegment.MinHeaderLength + Ipv4Packet.MinHeaderLength;
        m.SearchLow = MssToMtu(sk, CurrentMss(sk));
        m.ProbeTimestamp = Now;
    }

    /// <summary>
    /// tcp_mtup_probe_success(), when the probe is cumulatively acknowledged: cwnd is rescaled to the same bytes in
    /// larger segments, ssthresh follows, the probe's MTU becomes the search's floor and the MSS grows to it
    /// (TCPMTUPSuccess).
    /// </summary>
    private void MtupProbeSuccess(TcpSock sk)
    {
        var m = sk.Mtup;
        sk.Undo.PriorSsthresh = CurrentSsthresh(sk);
        sk.SndCwnd = (uint)Math.Max(1L, (long)sk.SndCwnd * MssToMtu(sk, sk.MssCache) / m.ProbeSize);
        sk.SndCwndCnt = 0;
        sk.SndSsthresh = CurrentSsthresh(sk);
        m.SearchLow = m.ProbeSize;
        m.ProbeSize = 0;
        SyncMss(sk, sk.PmtuCookie);
        Mib.MtupSuccess++;
    }

    /// <summary>
    /// tcp_fastretrans_alert()'s MTU probe check: about to enter recovery in Open or Disorder with the probe at
    /// snd_una — the probe was lost, which says its size is too big, not that the path is congested: the search's
    /// top comes down (tcp_mtup_probe_failed, TCPMTUPFail), the cwnd the probe took is given back and the probe is
    /// resent in MSS-sized pieces (tcp_simple_retransmit). True when that happened instead of recovery.
    /// </summary>
    private bool MtuProbeFailed(TcpSock sk)
    {
        var m = sk.Mtup;
        if (sk.CaState >= TcpCaState.Cwr || m.ProbeSize == 0 || sk.SndUna != m.ProbeSeqStart) return false;
        m.SearchHigh = m.ProbeSize - 1;
        m.ProbeSize = 0;
        Mib.MtupFail++;
        sk.SndCwnd++;
        SimpleRetransmit(sk, sk.PmtuCookie, sk.MssCache);
        return true;
    }

    /// <summary>
    /// tcp_mtu_probing(), from tcp_write_timeout() once the timeouts exceed tcp_retries1's model time: a suspected
    /// blackhole for large packets turns the search on (tcp_mtu_probing ≥ 1), or, if on, halves the MSS it may use
    /// (at most tcp_base_mss, at least tcp_mtu_probe_floor).
    /// </summary>
    private void MtuProbingOnTimeout(TcpSock sk)
    {
        if (Sysctls.TcpMtuProbing == 0) return;
        var m = sk.Mtup;
        if (!m.Enabled)
        {
            m.Enabled = true;
            m.ProbeTimestamp = Now;
        }
        else
        {
            int mss = MtuToMss(sk, m.SearchLow) >> 1;
            mss = Math.Max(Math.Max(Math.Min(Sysctls.TcpBaseMss, mss), Sysctls.TcpMtuProbeFloor), 48); // tcp_min_snd_mss
            m.SearchLow = MssToMtu(sk, mss);
        }
        SyncMss(sk, sk.PmtuCookie);
    }
}
