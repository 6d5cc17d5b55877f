using Xmit.Buffers;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// tp->ecn_flags for classic ECN (RFC 3168): whether the handshake agreed on ECN, and the two halves of the echo
/// loop — the receiver's "echo ECE until the sender says CWR" and the sender's "say CWR on the next new data".
/// </summary>
/// <remarks>Linux: include/net/tcp.h TCP_ECN_OK, TCP_ECN_QUEUE_CWR, TCP_ECN_DEMAND_CWR, TCP_ECN_SEEN</remarks>
[Flags]
public enum TcpEcnFlags : byte
{
    None = 0,
    /// <summary>TCP_ECN_OK: both SYNs agreed (TCP_ECN_MODE_RFC3168 in 6.18's terms).</summary>
    Ok = 1,
    /// <summary>TCP_ECN_QUEUE_CWR: cwnd was reduced; the next new data segment carries CWR.</summary>
    QueueCwr = 2,
    /// <summary>TCP_ECN_DEMAND_CWR: a CE mark arrived; every segment carries ECE until one with CWR comes.</summary>
    DemandCwr = 4,
    /// <summary>TCP_ECN_SEEN: data arrived with ECT or CE (tcpi_options TCPI_OPT_ECN_SEEN).</summary>
    Seen = 8,
}

/// <summary>
/// Classic ECN as Linux 6.18 runs it with net.ipv4.tcp_ecn 0, 1 or 2 (AccECN, 3 to 5, is not modelled): the SYN asks
/// with ECE|CWR, the SYN-ACK agrees with ECE alone; new data goes out ECT(0), retransmissions and control segments
/// Not-ECT; a CE mark makes the receiver echo ECE until CWR arrives, and an ECE makes the sender reduce cwnd once
/// (CWR state, PRR) and say CWR on its next new segment.
/// </summary>
/// <remarks>Linux: include/net/tcp_ecn.h, net/ipv4/tcp_input.c, net/ipv4/tcp_output.c (the tcp_ecn_* functions); include/net/inet_ecn.h</remarks>
public sealed partial class TcpProtocol
{
    /// <summary>INET_ECN_MASK and its code points, the low two bits of the TOS byte.</summary>
    internal const byte EcnMask = 3, EcnNotEct = 0, EcnEct1 = 1, EcnEct0 = 2, EcnCe = 3;

    /// <summary>net.ipv4.tcp_ecn = 1 (TCP_ECN_IN_ECN_OUT_ECN): ask for ECN on outgoing connections.</summary>
    private const int TcpEcnInOut = 1;

    /// <summary>tcp_ecn_send_syn(): a SYN asks for ECN (ECE|CWR) only with tcp_ecn = 1; the state starts afresh.</summary>
    /// <remarks>Linux: include/net/tcp_ecn.h tcp_ecn_send_syn()</remarks>
    private void EcnSendSyn(TcpSock sk, SkBuff syn)
    {
        sk.Ecn = TcpEcnFlags.None;
        if (Sysctls.TcpEcn != TcpEcnInOut) return;
        syn.Cb.TcpFlags |= TcpFlags.Ece | TcpFlags.Cwr;
        sk.Ecn = TcpEcnFlags.Ok;
    }

    /// <summary>
    /// tcp_ecn_clear_syn(): a resent SYN goes without ECE|CWR (tcp_ecn_fallback, on by default), in case a middlebox
    /// drops ECN-setup SYNs; ECN stays on until the SYN-ACK says whether the peer agreed.
    /// </summary>
    /// <remarks>Linux: include/net/tcp_ecn.h tcp_ecn_clear_syn(); net/ipv4/tcp_output.c __tcp_retransmit_skb()</remarks>
    private static void EcnClearSyn(SkBuff skb)
    {
        const byte synEcn = TcpFlags.Syn | TcpFlags.Ece | TcpFlags.Cwr;
        if ((skb.Cb.TcpFlags & synEcn) == synEcn) skb.Cb.TcpFlags &= unchecked((byte)~(TcpFlags.Ece | TcpFlags.Cwr));
    }

    /// <summary>
    /// tcp_ecn_rcv_synack(): the peer agreed only if its SYN-ACK has ECE without CWR. (6.18 reads CWR or AE in a
    /// SYN-ACK as AccECN feedback, which is not modelled: such a SYN-ACK turns ECN off here.)
    /// </summary>
    /// <remarks>Linux: include/net/tcp_ecn.h tcp_ecn_rcv_synack()</remarks>
    private static void EcnRcvSynAck(TcpSock sk, byte flags)
    {
        if ((sk.Ecn & TcpEcnFlags.Ok) != 0 && (flags & (TcpFlags.Ece | TcpFlags.Cwr)) != TcpFlags.Ece) sk.Ecn = TcpEcnFlags.None;
    }

    /// <summary>
    /// tcp_ecn_create_request(): a listener agrees to an ECN-setup SYN (ECE and CWR) when tcp_ecn is not 0 — unless
    /// the SYN itself came ECT or CE marked, which RFC 3168 forbids (a sign of a middlebox rewriting the TOS byte)
    /// and the reserved header bits do not excuse.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_ecn_create_request()</remarks>
    private bool EcnCreateRequest(TcpSegment syn, byte ipDsfield)
    {
        const byte setup = TcpFlags.Ece | TcpFlags.Cwr;
        if ((syn.Flags & setup) != setup) return false;
        bool ect = (ipDsfield & EcnMask) != EcnNotEct;
        bool res1 = (syn.ReservedBits & 0xf) != 0;
        return (!ect || res1) && Sysctls.TcpEcn != 0;
    }

    /// <summary>
    /// tcp_ecn_send(): for an established socket's segment (not a SYN). New data — payload at or past snd_nxt — goes
    /// ECT(0) (INET_ECN_xmit sets the socket's TOS, so it stays until a retransmission or pure ACK clears it with
    /// INET_ECN_dontxmit) and takes a queued CWR; every segment echoes ECE while the receiver owes one.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_ecn_send(); include/net/inet_ecn.h INET_ECN_xmit(), INET_ECN_dontxmit()</remarks>
    private static byte EcnSend(TcpSock sk, SkBuff skb, int payload, byte flags)
    {
        if ((sk.Ecn & TcpEcnFlags.Ok) == 0) return flags;
        if (payload > 0 && skb.Cb.Seq >= sk.SndNxt)
        {
            sk.Tos = (byte)((sk.Tos & ~EcnMask) | EcnEct0);
            if ((sk.Ecn & TcpEcnFlags.QueueCwr) != 0)
            {
                sk.Ecn &= ~TcpEcnFlags.QueueCwr;
                flags |= TcpFlags.Cwr; // GSO keeps it on the first segment only (SKB_GSO_TCP_ECN)
            }
        }
        else sk.Tos = (byte)(sk.Tos & ~EcnMask);
        if ((sk.Ecn & TcpEcnFlags.DemandCwr) != 0) flags |= TcpFlags.Ece;
        return flags;
    }

    /// <summary>tcp_ecn_queue_cwr(): cwnd was reduced (CWR, Recovery or Loss began): say so on the next new data.</summary>
    /// <remarks>Linux: include/net/tcp_ecn.h tcp_ecn_queue_cwr()</remarks>
    private static void EcnQueueCwr(TcpSock sk)
    {
        if ((sk.Ecn & TcpEcnFlags.Ok) != 0) sk.Ecn |= TcpEcnFlags.QueueCwr;
    }

    /// <summary>tcp_ecn_rcv_ecn_echo(): an ACK (not a SYN) with ECE on an ECN connection reports congestion.</summary>
    /// <remarks>Linux: include/net/tcp_ecn.h tcp_ecn_rcv_ecn_echo()</remarks>
    private static bool EcnRcvEcnEcho(TcpSock sk, byte flags) =>
        (flags & TcpFlags.Ece) != 0 && (flags & TcpFlags.Syn) == 0 && (sk.Ecn & TcpEcnFlags.Ok) != 0;

    /// <summary>
    /// tcp_ecn_accept_cwr(): CWR from the sender (on any acceptable ACK, pure or not — Linux deviates from RFC 3168
    /// here to cope with stacks that send it on pure ACKs) ends the ECE echo; with data, the ACK goes at once,
    /// as the sender's cwnd may be down to a segment.
    /// </summary>
    /// <remarks>Linux: include/net/tcp_ecn.h tcp_ecn_accept_cwr(); net/ipv4/tcp_input.c tcp_ack()</remarks>
    private static void EcnAcceptCwr(TcpSock sk, byte flags, int payload)
    {
        if ((sk.Ecn & TcpEcnFlags.Ok) == 0 || (flags & TcpFlags.Cwr) == 0) return;
        sk.Ecn &= ~TcpEcnFlags.DemandCwr;
        if (payload > 0) sk.Delack.Now = true; // ICSK_ACK_NOW
    }

    /// <summary>
    /// tcp_data_ecn_check() (tcp_ecn_check_ce before 6.18): received data's IP ECN field. CE starts the ECE echo and
    /// quick ACKs (two: the sender's cwnd may be tiny); ECT marks the connection as having seen ECN; Not-ECT after
    /// ECT was seen is probably a retransmission, so the ACKs go quickly too.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_data_ecn_check(), tcp_enter_quickack_mode()</remarks>
    private static void DataEcnCheck(TcpSock sk, byte ipDsfield)
    {
        if ((sk.Ecn & TcpEcnFlags.Ok) == 0) return;
        switch (ipDsfield & EcnMask)
        {
            case EcnNotEct:
                if ((sk.Ecn & TcpEcnFlags.Seen) != 0) EnterQuickAck(sk, 2);
                break;
            case EcnCe:
                if ((sk.Ecn & TcpEcnFlags.DemandCwr) == 0)
                {
                    EnterQuickAck(sk, 2);
                    sk.Ecn |= TcpEcnFlags.DemandCwr;
                }
                sk.Ecn |= TcpEcnFlags.Seen;
                break;
            default:
                sk.Ecn |= TcpEcnFlags.Seen;
                break;
        }
    }

    /// <summary>
    /// The ECE part of tcp_fastretrans_alert() when no loss starts Recovery: a CWR episode that this ACK takes past
    /// high_seq ends first (cwnd = ssthresh), then tcp_try_to_open() enters CWR from Open or Disorder — at most one
    /// reduction per round trip, as the receiver echoes ECE until our CWR reaches it.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_fastretrans_alert(), tcp_try_to_open(), tcp_end_cwnd_reduction()</remarks>
    private void EcnEcho(TcpSock sk)
    {
        if (sk.CaState == TcpCaState.Cwr && sk.SndUna > sk.HighSeq)
        {
            if (sk.SndSsthresh < InfiniteSsthresh) sk.SndCwnd = sk.SndSsthresh;
            SetCaState(sk, TcpCaState.Open);
        }
        EnterCwr(sk);
    }
}
