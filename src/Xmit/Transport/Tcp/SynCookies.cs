using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// SYN cookies: a SYN-ACK whose sequence number carries what the listener would otherwise have to remember — a
/// keyed hash of the 4-tuple, a minute counter and the index of the peer's MSS in a table of four — so a full SYN
/// queue costs nothing. With timestamps, the SYN-ACK's TSval also carries the window scale, SACK and ECN bits in its
/// low 6 bits (the echo brings them back). The keys are SipHash-2-4 keys drawn from the host's seeded randomness.
/// </summary>
/// <remarks>Linux: net/ipv4/syncookies.c</remarks>
internal sealed class SynCookies
{
    /// <summary>COOKIEBITS: the low 24 bits hold the hash plus the MSS index, the top 8 the minute counter.</summary>
    private const int CookieBits = 24;
    private const uint CookieMask = (1u << CookieBits) - 1;
    /// <summary>MAX_SYNCOOKIE_AGE: a cookie is good for the minute it was made and the next one.</summary>
    private const uint MaxAge = 2;
    /// <summary>TCP_SYNCOOKIE_PERIOD: the counter ticks every minute.</summary>
    private static readonly Duration Period = Duration.FromSeconds(60);
    /// <summary>TCP_SYNCOOKIE_VALID: how long after the last cookie sent an ACK is still checked as one.</summary>
    public static readonly Duration Valid = Duration.FromSeconds(120);

    /// <summary>msstab: the MSS values a cookie can encode (the most common ones seen on the Internet).</summary>
    private static readonly ushort[] MssTable = [536, 1300, 1440, 1460];

    /// <summary>TSBITS and the option bits of the cookie timestamp.</summary>
    private const int TsBits = 6;
    private const uint TsOptWscaleMask = 0xf, TsOptSack = 1 << 4, TsOptEcn = 1 << 5;

    private readonly ulong _k0a, _k1a, _k0b, _k1b; // syncookie_secret[0] and [1]

    public SynCookies(DeterministicRandom random)
    {
        _k0a = random.NextUInt64();
        _k1a = random.NextUInt64();
        _k0b = random.NextUInt64();
        _k1b = random.NextUInt64();
    }

    /// <summary>tcp_cookie_time(): minutes of host time.</summary>
    private static uint CookieTime(Instant now) => (uint)(now.Nanoseconds / Period.Nanoseconds);

    /// <summary>cookie_hash(): SipHash-2-4 of (saddr, daddr, sport:dport, count) under one of the two keys.</summary>
    /// <remarks>Linux: net/ipv4/syncookies.c cookie_hash()</remarks>
    private uint Hash(in TcpFourTuple t, uint count, int c)
    {
        // Linux hashes the addresses and ports as the wire has them (big-endian words read natively).
        uint saddr = BinaryPrimitivesReverse(t.Remote.Value), daddr = BinaryPrimitivesReverse(t.Local.Value);
        uint ports = (uint)BinaryPrimitivesReverse16(t.RemotePort) << 16 | BinaryPrimitivesReverse16(t.LocalPort);
        return (uint)SipHash24(c == 0 ? _k0a : _k0b, c == 0 ? _k1a : _k1b, (ulong)daddr << 32 | saddr, (ulong)count << 32 | ports);
    }

    private static uint BinaryPrimitivesReverse(uint v) => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
    private static ushort BinaryPrimitivesReverse16(ushort v) => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);

    /// <summary>
    /// __cookie_v4_init_sequence() / secure_tcp_syn_cookie(): the cookie ISN for a SYN with sequence
    /// <paramref name="peerSeq"/> and MSS <paramref name="mss"/>, which is rounded down to the table.
    /// </summary>
    /// <remarks>Linux: net/ipv4/syncookies.c __cookie_v4_init_sequence(), secure_tcp_syn_cookie()</remarks>
    public TcpSeq InitSequence(in TcpFourTuple t, TcpSeq peerSeq, ref int mss, Instant now)
    {
        int index = MssTable.Length - 1;
        while (index > 0 && mss < MssTable[index]) index--;
        mss = MssTable[index];
        uint count = CookieTime(now);
        uint cookie = Hash(t, 0, 0) + peerSeq.Value + (count << CookieBits) + ((Hash(t, count, 1) + (uint)index) & CookieMask);
        return new TcpSeq(cookie);
    }

    /// <summary>
    /// __cookie_v4_check() / check_tcp_syn_cookie(): the MSS a cookie ACK encodes, or 0 when the cookie is not one
    /// of ours or is more than a minute old.
    /// </summary>
    /// <remarks>Linux: net/ipv4/syncookies.c __cookie_v4_check(), check_tcp_syn_cookie()</remarks>
    public int Check(in TcpFourTuple t, TcpSeq ack, TcpSeq seq, Instant now)
    {
        uint cookie = ack.Value - 1, peerSeq = seq.Value - 1;
        uint count = CookieTime(now);
        cookie -= Hash(t, 0, 0) + peerSeq;
        uint diff = (count - (cookie >> CookieBits)) & (uint.MaxValue >> CookieBits);
        if (diff >= MaxAge) return 0;
        uint index = (cookie - Hash(t, count - diff, 1)) & CookieMask;
        return index < MssTable.Length ? MssTable[index] : 0;
    }

    /// <summary>
    /// cookie_init_timestamp(): a TSval no later than now whose low 6 bits carry the options of the SYN (wscale, or
    /// 0xf for none; SACK; ECN).
    /// </summary>
    /// <remarks>Linux: net/ipv4/syncookies.c cookie_init_timestamp()</remarks>
    public static uint InitTimestamp(uint tsNow, bool wscaleOk, byte sndWscale, bool sackOk, bool ecnOk)
    {
        uint options = wscaleOk ? sndWscale : TsOptWscaleMask;
        if (sackOk) options |= TsOptSack;
        if (ecnOk) options |= TsOptEcn;
        uint ts = (tsNow >> TsBits) << TsBits | options;
        if (ts > tsNow) ts -= 1u << TsBits;
        return ts;
    }

    /// <summary>
    /// cookie_timestamp_decode(): the options a cookie ACK's echo carries; false when it names one this host has
    /// switched off. Without a timestamp the connection has none of them.
    /// </summary>
    /// <remarks>Linux: net/ipv4/syncookies.c cookie_timestamp_decode()</remarks>
    public static bool DecodeTimestamp(bool sawTimestamp, uint tsEcr, int sysctlTimestamps, int sysctlSack, int sysctlWscale,
        out bool sackOk, out bool wscaleOk, out byte sndWscale)
    {
        sackOk = wscaleOk = false;
        sndWscale = 0;
        if (!sawTimestamp) return true;
        if (sysctlTimestamps == 0) return false;
        sackOk = (tsEcr & TsOptSack) != 0;
        if (sackOk && sysctlSack == 0) return false;
        if ((tsEcr & TsOptWscaleMask) == TsOptWscaleMask) return true;
        wscaleOk = true;
        sndWscale = (byte)(tsEcr & TsOptWscaleMask);
        return sysctlWscale != 0;
    }

    /// <summary>
    /// cookie_ecn_ok(): the connection a cookie ACK completes uses ECN if the echoed TSval says the SYN-ACK agreed to it
    /// and tcp_ecn is not 0 now (rcv_tsecr is 0 without a timestamp: no ECN).
    /// </summary>
    /// <remarks>Linux: net/ipv4/syncookies.c cookie_ecn_ok()</remarks>
    public static bool EcnOk(bool sawTimestamp, uint tsEcr, int sysctlTcpEcn) => sawTimestamp && (tsEcr & TsOptEcn) != 0 && sysctlTcpEcn != 0;

    /// <summary>SipHash-2-4 of two 64-bit words (16 bytes), as the kernel's siphash_4u32.</summary>
    internal static ulong SipHash24(ulong k0, ulong k1, ulong m0, ulong m1)
    {
        Span<byte> m = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(m, m0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(m[8..], m1);
        return SipHash.Hash24(k0, k1, m);
    }
}
