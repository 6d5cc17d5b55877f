using System.Buffers.Binary;
using System.Numerics;

namespace Xmit.Transport.Tcp;

/// <summary>
/// SipHash-2-4 (Aumasson and Bernstein, 2012) of a byte string under a 128-bit key given as two little-endian
/// 64-bit words, as the kernel's siphash(): two rounds per 8-byte word, the length in the top byte of the last
/// word, four finishing rounds.
/// </summary>
/// <remarks>Linux: lib/siphash.c siphash()</remarks>
public static class SipHash
{
    public static ulong Hash24(ulong k0, ulong k1, ReadOnlySpan<byte> data)
    {
        ulong v0 = k0 ^ 0x736f6d6570736575UL, v1 = k1 ^ 0x646f72616e646f6dUL;
        ulong v2 = k0 ^ 0x6c7967656e657261UL, v3 = k1 ^ 0x7465646279746573UL;
        int whole = data.Length & ~7;
        for (int i = 0; i < whole; i += 8) Compress(ref v0, ref v1, ref v2, ref v3, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        ulong last = (ulong)(data.Length & 0xff) << 56;
        for (int i = whole; i < data.Length; i++) last |= (ulong)data[i] << (8 * (i - whole));
        Compress(ref v0, ref v1, ref v2, ref v3, last);
        v2 ^= 0xff;
        for (int r = 0; r < 4; r++) Round(ref v0, ref v1, ref v2, ref v3);
        return v0 ^ v1 ^ v2 ^ v3;
    }

    private static void Compress(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3, ulong m)
    {
        v3 ^= m;
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        v0 ^= m;
    }

    private static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
    {
        v0 += v1; v1 = BitOperations.RotateLeft(v1, 13); v1 ^= v0; v0 = BitOperations.RotateLeft(v0, 32);
        v2 += v3; v3 = BitOperations.RotateLeft(v3, 16); v3 ^= v2;
        v0 += v3; v3 = BitOperations.RotateLeft(v3, 21); v3 ^= v0;
        v2 += v1; v1 = BitOperations.RotateLeft(v1, 17); v1 ^= v2; v2 = BitOperations.RotateLeft(v2, 32);
    }
}
