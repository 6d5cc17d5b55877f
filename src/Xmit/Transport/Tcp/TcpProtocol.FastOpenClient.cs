using Xmit.Buffers;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>tcp_fastopen_request: what sendto(MSG_FASTOPEN) hands the connect — the data for the SYN and the cookie to send.</summary>
internal sealed class FastOpenRequest
{
    /// <summary>-1 no option, 0 a cookie request (the zeroed request's), else the cookie.</summary>
    public FastOpenCookie Cookie = new(0, false, null);
    public byte[] Data = [];
    /// <summary>The bytes that went into the SYN.</summary>
    public int Copied;
    /// <summary>fo->uarg: the MSG_ZEROCOPY notification the SYN's data belongs to.</summary>
    public Sockets.ZerocopyArg? Uarg;
}

/// <summary>
/// TCP Fast Open, client side: sendto(MSG_FASTOPEN) connects with the data in the SYN when a cookie for the
/// destination is cached (else the SYN asks for one); the SYN-ACK's cookie and MSS are cached per destination
/// (tcp_metrics), and a SYN-ACK that does not acknowledge the data has it retransmitted at once.
/// </summary>
public sealed partial class TcpProtocol
{
    /// <summary>struct tcp_fastopen_metrics of a destination's tcp_metrics entry.</summary>
    private sealed class FastOpenMetrics
    {
        public int Mss;
        public FastOpenCookie Cookie = new(0, false, null);
        public int TryExp, SynLoss;
        public Instant LastSynLoss;
    }

    /// <summary>The per-destination cookie cache (the Fast Open part of tcp_metrics).</summary>
    private readonly Dictionary<Ipv4Address, FastOpenMetrics> _fastOpenCache = [];

    /// <summary>`ip tcp_metrics flush all`: every cached cookie and MSS is forgotten.</summary>
    public void FlushFastOpenCache() => _fastOpenCache.Clear();

    /// <summary>
    /// tcp_sendmsg_fastopen(): connect to <paramref name="address"/> with <paramref name="data"/> for the SYN
    /// (EOPNOTSUPP without the client bit of tcp_fastopen, EALREADY while one is in progress); what
    /// <see cref="Connect"/> returns, with the bytes the SYN took in <paramref name="copied"/>.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sendmsg_fastopen()</remarks>
    public int ConnectFastOpen(TcpSock sk, ReadOnlySpan<byte> data, Ipv4Address address, ushort port, out int copied, Sockets.ZerocopyArg? uarg = null)
    {
        copied = 0;
        if ((Sysctls.TcpFastopen & FastOpenFlags.ClientEnable) == 0) return -(int)Errno.EOPNOTSUPP;
        if (sk.FastOpenClientReq is not null) return -(int)Errno.EALREADY;
        var fo = sk.FastOpenClientReq = new FastOpenRequest { Data = data.ToArray(), Uarg = uarg };
        int rc = Connect(sk, address, port);
        copied = fo.Copied;
        sk.FastOpenClientReq = null;
        return rc;
    }

    /// <summary>
    /// tcp_sendmsg_fastopen() for a deferred connect (DEFER_CONNECT): tcp_connect() now, with <paramref name="data"/>
    /// for the SYN; EINPROGRESS with the bytes the SYN took in <paramref name="copied"/>.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sendmsg_fastopen(); net/ipv4/tcp_output.c tcp_connect()</remarks>
    public int ConnectDeferred(TcpSock sk, ReadOnlySpan<byte> data, out int copied, Sockets.ZerocopyArg? uarg = null)
    {
        copied = 0;
        if ((Sysctls.TcpFastopen & FastOpenFlags.ClientEnable) == 0) return -(int)Errno.EOPNOTSUPP;
        if (sk.FastOpenClientReq is not null) return -(int)Errno.EALREADY;
        var fo = sk.FastOpenClientReq = new FastOpenRequest { Data = data.ToArray(), Uarg = uarg };
        Mib.ActiveOpens++;
        SendSyn(sk);
        copied = fo.Copied;
        sk.FastOpenClientReq = null;
        sk.DeferConnect = false;
        return -(int)Errno.EINPROGRESS;
    }

    /// <summary>TCP_FASTOPEN_CONNECT: 0 or 1 (EINVAL), only with the client bit of tcp_fastopen (EOPNOTSUPP), before connect (EINVAL).</summary>
    /// <remarks>Linux: net/ipv4/tcp.c do_tcp_setsockopt() TCP_FASTOPEN_CONNECT</remarks>
    public int SetFastOpenConnect(TcpSock sk, int value)
    {
        if (value is < 0 or > 1) return -(int)Errno.EINVAL;
        if ((Sysctls.TcpFastopen & FastOpenFlags.ClientEnable) == 0) return -(int)Errno.EOPNOTSUPP;
        if (sk.State != TcpState.Close) return -(int)Errno.EINVAL;
        sk.FastOpenConnect = value != 0;
        return 0;
    }

    /// <summary>tcp_fastopen_cache_get(): the destination's cached MSS (if any) and cookie; an empty cookie asks in the experimental form once that was tried.</summary>
    /// <remarks>Linux: net/ipv4/tcp_metrics.c tcp_fastopen_cache_get()</remarks>
    private void FastOpenCacheGet(TcpSock sk, ref int mss, ref FastOpenCookie cookie)
    {
        if (!_fastOpenCache.TryGetValue(sk.RemoteAddress, out var m)) return;
        if (m.Mss != 0) mss = m.Mss;
        cookie = m.Cookie;
        if (cookie.Length <= 0 && m.TryExp == 1) cookie = cookie with { Exp = true };
    }

    /// <summary>tcp_fastopen_cache_set(): remember the SYN-ACK's MSS and cookie (or which option form to try next), and SYN losses.</summary>
    /// <remarks>Linux: net/ipv4/tcp_metrics.c tcp_fastopen_cache_set()</remarks>
    private void FastOpenCacheSet(TcpSock sk, int mss, FastOpenCookie cookie, bool synLost, int tryExp)
    {
        if (!_fastOpenCache.TryGetValue(sk.RemoteAddress, out var m)) _fastOpenCache[sk.RemoteAddress] = m = new FastOpenMetrics();
        if (mss != 0) m.Mss = mss;
        if (cookie.Length > 0) m.Cookie = cookie;
        else if (tryExp > m.TryExp && m.Cookie.Length <= 0 && !m.Cookie.Exp) m.TryExp = tryExp;
        if (synLost)
        {
            m.SynLoss++;
            m.LastSynLoss = Now;
        }
        else m.SynLoss = 0;
    }

    /// <summary>
    /// tcp_fastopen_cookie_check(): true when the SYN may carry data — a cached cookie, or no cookie needed
    /// (0x4 of tcp_fastopen, TCP_FASTOPEN_NO_COOKIE: then no option at all). While a blackhole detection is in
    /// force, false and no option at all: a plain SYN.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_fastopen.c tcp_fastopen_cookie_check(), tcp_fastopen_active_should_disable()</remarks>
    private bool FastOpenCookieCheck(TcpSock sk, ref int mss, ref FastOpenCookie cookie)
    {
        FastOpenCacheGet(sk, ref mss, ref cookie);
        if (FastOpenActiveShouldDisable(sk))
        {
            cookie = FastOpenCookie.None;
            return false;
        }
        if (FastOpenNoCookie(sk, FastOpenFlags.ClientNoCookie))
        {
            cookie = FastOpenCookie.None;
            return true;
        }
        return cookie.Length > 0;
    }

    /// <summary>
    /// tcp_send_syn_data(): with a usable cookie, the SYN goes with as much data as fits a segment of the cached
    /// MSS less the full 40 bytes of option space, and the data then waits in the queue as sent (after the SYN,
    /// which stays for plain retransmissions); without one, a plain SYN that asks for a cookie. Either way later
    /// SYNs carry no Fast Open option.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_send_syn_data(), tcp_connect()</remarks>
    private void SendSynData(TcpSock sk, SkBuff syn, FastOpenRequest fo)
    {
        int mssClamp = sk.AdvMss;
        if (FastOpenCookieCheck(sk, ref mssClamp, ref fo.Cookie))
        {
            if (sk.UserMss > 0 && sk.UserMss < mssClamp) mssClamp = sk.UserMss; // tcp_mss_clamp()
            sk.MssClamp = mssClamp;
            int pmtu = _output.Routes.Lookup(sk.RemoteAddress)?.EffectiveMtu ?? 1500;
            int space = Math.Min(pmtu - Ipv4Packet.MinHeaderLength - TcpSegment.MinHeaderLength, mssClamp) - MaxTcpOptionSpace;
            space = Math.Min(Math.Min(space, fo.Data.Length), 4096); // one page fragment
            if (space > 0)
            {
                var data = _pool.Alloc(MaxTcpHeader + space);
                data.Reserve(MaxTcpHeader);
                fo.Data.AsSpan(0, space).CopyTo(data.Put(space));
                data.Truesize = Truesize.ForAllocSkb(MaxTcpHeader) + space;
                data.Cb.Seq = sk.Iss;
                data.Cb.EndSeq = sk.Iss + 1 + (uint)space;
                data.Cb.TcpFlags = syn.Cb.TcpFlags; // tcp_send_syn_data() copies the SYN's control block (ECN-setup flags too)
                if (fo.Uarg is not null) data.ZerocopySet(fo.Uarg); // tcp_send_syn_data(): skb_zcopy_set()
                fo.Copied = space;
                int err = TransmitSkb(sk, data, clone: true);
                // What stays queued is the data alone: the SYN skb before it is resent without data.
                data.Cb.Seq = sk.Iss + 1;
                data.Cb.TcpFlags = TcpFlags.Ack | TcpFlags.Psh;
                sk.WriteSeq = data.Cb.EndSeq;
                if (err == 0)
                {
                    sk.SynData = true;
                    sk.WriteQueue.Enqueue(data);
                    sk.WmemQueued += data.Truesize;
                    fo.Cookie = FastOpenCookie.None;
                    return;
                }
                Entail(sk, data); // not sent: it goes as ordinary data once connected
            }
            else
            {
                TransmitSkb(sk, syn, clone: true);
                fo.Cookie = FastOpenCookie.None;
                return;
            }
        }
        if (fo.Cookie.Length > 0) fo.Cookie = fo.Cookie with { Length = 0 };
        TransmitSkb(sk, syn, clone: true);
        fo.Cookie = FastOpenCookie.None;
    }

    /// <summary>MAX_TCP_OPTION_SPACE: what tcp_send_syn_data() keeps free of data for options middleboxes may add.</summary>
    private const int MaxTcpOptionSpace = 40;

    /// <summary>tcp_syn_options(): the Fast Open option of a SYN — the request's cookie, or an empty one asking for a cookie — if it fits.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_syn_options()</remarks>
    private static void WriteFastOpenSynOption(TcpSock sk, ref TcpOptionWriter w, int room)
    {
        if (sk.FastOpenClientReq is not { Cookie: { Length: >= 0 } c }) return;
        if (room - w.Length < TcpOptionWriter.FastOpenSpace(c.Length, c.Exp)) return;
        w.FastOpen(c.Value.AsSpan(0, c.Length), c.Exp);
        sk.SynFastOpen = true;
        sk.SynFastOpenExp = c.Exp;
    }

    /// <summary>
    /// tcp_rcv_fastopen_synack(): cache the SYN-ACK's MSS and cookie (an unsolicited one is ignored; a SYN that
    /// timed out and a SYN-ACK without a cookie is a SYN-data loss; a request not answered tries the other option
    /// form next). Data the SYN-ACK did not acknowledge is marked lost and resent at once (TCPFastOpenActiveFail,
    /// true: no separate ACK); acknowledged data counts TCPFastOpenActive.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_fastopen_synack(), tcp_non_congestion_loss_retransmit()</remarks>
    private bool FastOpenSynAck(TcpSock sk, in TcpOptions opt, TcpSegment synAck)
    {
        var data = sk.SynData ? sk.WriteQueue.Peek() : null;
        var cookie = new FastOpenCookie(opt.FastOpenLength, opt.FastOpenExp, opt.FastOpenCookie);
        bool synDrop = false;
        int tryExp = 0;
        if (!sk.SynFastOpen) cookie = FastOpenCookie.None;
        else if (sk.TotalRetrans > 0) synDrop = cookie.Length < 0 && data is not null;
        else if (cookie.Length < 0 && !sk.SynData) tryExp = sk.SynFastOpenExp ? 2 : 1;
        FastOpenCacheSet(sk, opt.Mss, cookie, synDrop, tryExp);
        if (data is not null)
        {
            for (var s = data; s is not null && s != sk.SendHead; s = SkBuffQueue.NextOf(s))
            {
                if ((s.Cb.Sacked & TcpSacked.Lost) != 0) continue;
                s.Cb.Sacked |= TcpSacked.Lost;
                sk.LostOut += (uint)Pcount(s, sk.MssCache);
            }
            if (sk.CaState != TcpCaState.Loss)
            {
                sk.HighSeq = sk.SndNxt;
                sk.SndSsthresh = Math.Max(sk.SndSsthresh, (sk.SndCwnd >> 1) + (sk.SndCwnd >> 2)); // tcp_current_ssthresh()
                SetCaState(sk, TcpCaState.Loss);
            }
            RetransmitQueue(sk);
            Mib.FastOpenActiveFail++;
            return true;
        }
        sk.SynDataAcked = sk.SynData;
        if (sk.SynDataAcked)
        {
            Mib.FastOpenActive++;
            if (sk.Delivered > 1) sk.Delivered--; // tcp_ack() counted the SYN-data as two packets
        }
        FastOpenAddSynAckData(sk, synAck);
        return false;
    }

    /// <summary>
    /// tcp_fastopen_add_skb() for the SYN-ACK: data it carries (a copy) joins the receive queue and rcv_nxt
    /// passes it (and a FIN on it: tcp_fin, CLOSE-WAIT), so the ACK of the SYN-ACK acknowledges them.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_fastopen.c tcp_fastopen_add_skb(); net/ipv4/tcp_input.c tcp_rcv_fastopen_synack()</remarks>
    private void FastOpenAddSynAckData(TcpSock sk, TcpSegment synAck)
    {
        int len = synAck.Payload.Length;
        bool fin = (synAck.Flags & TcpFlags.Fin) != 0;
        if (len == 0 && !fin) return;
        var skb = _pool.Alloc(len);
        synAck.Payload.CopyTo(skb.Put(len));
        skb.Cb.Seq = sk.RcvNxt;
        skb.Cb.EndSeq = sk.RcvNxt + (uint)len;
        sk.SetOwnerR(skb);
        sk.ReceiveQueue.Enqueue(skb);
        sk.RcvNxt = skb.Cb.EndSeq;
        sk.SynDataAcked = true;
        sk.BytesReceived = (ulong)len;
        if (fin)
        {
            skb.Cb.TcpFlags = TcpFlags.Fin;
            sk.RcvNxt += 1;
            Fin(sk);
        }
        sk.RaiseDataReady();
    }
}
