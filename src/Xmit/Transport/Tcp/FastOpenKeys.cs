using System.Buffers.Binary;
using System.Globalization;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>The bits of net.ipv4.tcp_fastopen.</summary>
/// <remarks>Linux: include/net/tcp.h TFO_CLIENT_ENABLE … TFO_SERVER_WO_SOCKOPT1</remarks>
public static class FastOpenFlags
{
    public const int ClientEnable = 0x1, ServerEnable = 0x2, ClientNoCookie = 0x4;
    public const int ServerCookieNotRequired = 0x200, ServerWithoutSockopt = 0x400;
}

/// <summary>
/// A Fast Open key context: the primary 128-bit key and an optional backup (accepted, never issued), each two
/// little-endian 64-bit SipHash words. Set from net.ipv4.tcp_fastopen_key's text (per host) or TCP_FASTOPEN_KEY
/// (per listener); without either the host draws one from its seeded randomness on first use.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_fastopen.c tcp_fastopen_reset_cipher(), tcp_fastopen_init_key_once(); net/ipv4/sysctl_net_ipv4.c proc_tcp_fastopen_key()</remarks>
public sealed class FastOpenKeys
{
    /// <summary>TCP_FASTOPEN_KEY_LENGTH and TCP_FASTOPEN_COOKIE_SIZE.</summary>
    public const int KeyLength = 16, CookieSize = 8;

    private readonly (ulong K0, ulong K1)[] _keys;

    private FastOpenKeys((ulong, ulong)[] keys) => _keys = keys;

    /// <summary>The number of keys (1, or 2 with a backup).</summary>
    public int Count => _keys.Length;

    /// <summary>Keys from raw bytes (TCP_FASTOPEN_KEY): 16 (primary) or 32 (primary, backup); null for any other length.</summary>
    public static FastOpenKeys? FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length is not (KeyLength or 2 * KeyLength)) return null;
        var keys = new (ulong, ulong)[bytes.Length / KeyLength];
        for (int i = 0; i < keys.Length; i++)
        {
            var k = bytes.Slice(i * KeyLength, KeyLength);
            keys[i] = (BinaryPrimitives.ReadUInt64LittleEndian(k), BinaryPrimitives.ReadUInt64LittleEndian(k[8..]));
        }
        return new FastOpenKeys(keys);
    }

    /// <summary>
    /// proc_tcp_fastopen_key()'s text: "a-b-c-d" or "a-b-c-d,e-f-g-h", each a 32-bit hex word; a key's bytes are
    /// its four words little-endian (cpu_to_le32 of each). Null if it does not read as one or two keys.
    /// </summary>
    public static FastOpenKeys? Parse(string text)
    {
        var parts = text.Trim().Split(',');
        if (parts.Length is not (1 or 2)) return null;
        Span<byte> bytes = stackalloc byte[2 * KeyLength];
        for (int k = 0; k < parts.Length; k++)
        {
            var words = parts[k].Split('-');
            if (words.Length != 4) return null;
            for (int w = 0; w < 4; w++)
            {
                if (!uint.TryParse(words[w], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint v)) return null;
                BinaryPrimitives.WriteUInt32LittleEndian(bytes[(k * KeyLength + 4 * w)..], v);
            }
        }
        return FromBytes(bytes[..(parts.Length * KeyLength)]);
    }

    /// <summary>The sysctl's text for these keys ("%08x-%08x-%08x-%08x", comma, the backup).</summary>
    public override string ToString()
    {
        var b = new byte[KeyLength];
        var parts = new string[_keys.Length];
        for (int i = 0; i < _keys.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b, _keys[i].K0);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), _keys[i].K1);
            parts[i] = string.Join('-', Enumerable.Range(0, 4).Select(w =>
                BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4 * w)).ToString("x8", CultureInfo.InvariantCulture)));
        }
        return string.Join(',', parts);
    }

    /// <summary>
    /// __tcp_fastopen_cookie_gen_cipher() for IPv4: SipHash-2-4 of the SYN's source and destination addresses
    /// (8 bytes, network order) under key <paramref name="index"/>; the cookie is the hash little-endian.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_fastopen.c __tcp_fastopen_cookie_gen_cipher()</remarks>
    public byte[] Cookie(int index, Ipv4Address saddr, Ipv4Address daddr)
    {
        Span<byte> msg = stackalloc byte[8];
        saddr.Write(msg);
        daddr.Write(msg[4..]);
        var cookie = new byte[CookieSize];
        BinaryPrimitives.WriteUInt64LittleEndian(cookie, SipHash.Hash24(_keys[index].K0, _keys[index].K1, msg));
        return cookie;
    }

    /// <summary>
    /// tcp_fastopen_cookie_gen_check(): 0 when <paramref name="cookie"/> is no key's cookie, else 1 + the index of
    /// the key whose it is (2: the backup's, TCPFastOpenPassiveAltKey).
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_fastopen.c tcp_fastopen_cookie_gen_check(), tcp_fastopen_cookie_match()</remarks>
    public int Check(ReadOnlySpan<byte> cookie, Ipv4Address saddr, Ipv4Address daddr)
    {
        for (int i = 0; i < _keys.Length; i++)
            if (cookie.SequenceEqual(Cookie(i, saddr, daddr))) return i + 1;
        return 0;
    }
}
