using System.Buffers.Binary;
using Xmit.Buffers;
using Xmit.Network.Ipv4;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>ICMP errors about TCP segments: path MTU, request sockets, and hard errors during the handshake.</summary>
public sealed partial class TcpProtocol
{
    /// <summary>
    /// tcp_v4_err(): find the connection the quoted header belongs to. A request socket is dropped for a fatal
    /// error about its SYN-ACK; a quoted sequence outside snd_una…snd_nxt is counted (OutOfWindowIcmps) and
    /// ignored; fragmentation needed lowers the path MTU (tcp_v4_mtu_reduced); other unreachable or time
    /// exceeded errors end a connection still in its handshake. (On an established connection they would be
    /// soft errors, which are not modelled.)
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_ipv4.c tcp_v4_err(), tcp_req_err(); net/ipv4/icmp.c icmp_err_convert</remarks>
    public void Error(ReadOnlySpan<byte> offending, byte icmpType, byte icmpCode, uint info, IcmpSource from)
    {
        var bytes = offending.ToArray();
        if (!Ipv4Packet.TryCreate(bytes, out var ip) || bytes.Length < ip.HeaderLength + 8) return;
        ReadOnlySpan<byte> th = bytes.AsSpan(ip.HeaderLength);
        ushort sport = BinaryPrimitives.ReadUInt16BigEndian(th), dport = BinaryPrimitives.ReadUInt16BigEndian(th[2..]);
        var seq = new TcpSeq(BinaryPrimitives.ReadUInt32BigEndian(th[4..]));
        if (Lookup(ip.Source, sport, ip.Destination, dport) is not { } sk || sk.State == TcpState.TimeWait) return;
        bool unreach = icmpType == IcmpType.DestinationUnreachable;
        if (sk.State == TcpState.Listen)
        {
            if (!sk.SynQueue.TryGetValue(new TcpFourTuple(ip.Source, sport, ip.Destination, dport), out var req)) return;
            bool abort = icmpType is IcmpType.TimeExceeded or 12 || unreach && icmpCode is 0 or 1; // net, host unreachable
            if (seq != req.SntIsn) Mib.OutOfWindowIcmps++;
            else if (abort && ReqskQueueDrop(sk, req)) Mib.ListenDrops++; // silently: accept() does not report network errors
            return;
        }
        // A Fast Open child's snd_una is past its SYN-ACK: the window starts at the SYN-ACK's sequence.
        var sndUna = sk.FastOpenReq is { } fo ? fo.SntIsn : sk.SndUna;
        if (seq - sndUna > sk.SndNxt - sndUna)
        {
            Mib.OutOfWindowIcmps++;
            return;
        }
        if (unreach && icmpCode == 4)
        {
            MtuReduced(sk, (int)(info & 0xffff));
            return;
        }
        if (!unreach && icmpType != IcmpType.TimeExceeded || unreach && icmpCode > 15) return;
        // In the handshake a hard error ends the connection — a Fast Open child too while it waits in the accept
        // queue (it stays there, closed, with the error); an accepted one is treated as connected.
        if (sk.State is TcpState.SynSent or TcpState.SynRecv && (sk.FastOpenReq is null || sk.Parent is not null))
        {
            sk.Error = unreach ? UnreachErrno(icmpCode) : Errno.EHOSTUNREACH;
            if (sk.State == TcpState.SynSent) Mib.AttemptFails++;
            FastOpenRemove(sk);
            Done(sk);
        }
    }

    /// <summary>icmp_err_convert[]: the errno of a destination-unreachable code.</summary>
    private static Errno UnreachErrno(byte code) => code switch
    {
        0 or 6 or 11 => Errno.ENETUNREACH,
        2 => Errno.ENOPROTOOPT,
        3 => Errno.ECONNREFUSED,
        4 => Errno.EMSGSIZE,
        5 => Errno.EOPNOTSUPP,
        9 or 10 or 13 => Errno.EACCES,
        _ => Errno.EHOSTUNREACH,
    };

    /// <summary>
    /// tcp_v4_mtu_reduced(): the route learns the path MTU; if the connection's MSS was for a larger one it is
    /// re-synced and what no longer fits is resent at once (tcp_simple_retransmit).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_ipv4.c tcp_v4_mtu_reduced(); net/ipv4/tcp_input.c tcp_simple_retransmit()</remarks>
    private void MtuReduced(TcpSock sk, int mtu)
    {
        if (sk.State is TcpState.Listen or TcpState.Close) return;
        _output.Routes.UpdatePmtu(sk.RemoteAddress, mtu);
        if (_output.Routes.Lookup(sk.RemoteAddress) is not { EffectiveMtu: var pmtu } || sk.PmtuCookie <= pmtu) return;
        int sentMss = sk.MssCache;
        SyncMss(sk, pmtu);
        SimpleRetransmit(sk, pmtu, sentMss);
    }

    /// <summary>
    /// tcp_simple_retransmit(): mark lost every sent skb longer than the MSS — all of them for a Fast Open SYN
    /// still in SYN-SENT (its SYN and data are separate skbs, and the SYN with data was what did not fit) — and
    /// resend in Loss state, without a congestion response. A segment's length is tcp_skb_seglen(): the whole skb
    /// when it is one segment, else the MSS it was cut at — <paramref name="sentMss"/>, the MSS before this change,
    /// since Xmit keeps no per-skb gso_size.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_simple_retransmit(); net/ipv4/tcp_output.c tcp_advertise_mss()</remarks>
    private void SimpleRetransmit(TcpSock sk, int pmtu, int sentMss)
    {
        bool synData = sk.SynData && sk.State == TcpState.SynSent;
        int mss = synData ? -1 : CurrentMss(sk);
        if (sk.State == TcpState.SynSent)
            sk.AdvMss = Math.Min(sk.AdvMss, pmtu - Ipv4Packet.MinHeaderLength - TcpSegment.MinHeaderLength); // the SYN's MSS option
        for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
        {
            int seglen = Pcount(s, sentMss) == 1 ? (int)(s.Cb.EndSeq - s.Cb.Seq) : sentMss;
            if (seglen <= mss || (s.Cb.Sacked & (TcpSacked.Lost | TcpSacked.Acked)) != 0) continue;
            s.Cb.Sacked |= TcpSacked.Lost;
            sk.LostOut += (uint)Pcount(s, sk.MssCache);
        }
        if (sk.LostOut == 0) return;
        if (sk.CaState != TcpCaState.Loss)
        {
            sk.HighSeq = sk.SndNxt;
            sk.SndSsthresh = Math.Max(sk.SndSsthresh, (sk.SndCwnd >> 1) + (sk.SndCwnd >> 2)); // tcp_current_ssthresh()
            SetCaState(sk, TcpCaState.Loss);
        }
        RetransmitQueue(sk);
    }
}
