#!/usr/bin/env python3
"""Prints the TCP Fast Open cookie Linux gives a client: tfo-cookie.py KEY SADDR DADDR.

KEY is net.ipv4.tcp_fastopen_key's text (four 32-bit hex words, a-b-c-d), SADDR the client (the SYN's source)
and DADDR the server. Behaviour of Linux's tcp_fastopen_cookie_gen_cipher(): SipHash-2-4 of the two IPv4
addresses (8 bytes, network order) under the 128-bit key whose bytes are the four words little-endian; the
cookie is the 64-bit result little-endian. Written from the SipHash paper (Aumasson and Bernstein, 2012);
`tfo-cookie.py --selftest` checks it against the paper's vector (key 00..0f, message 00..0e).
"""
import socket
import struct
import sys

MASK = (1 << 64) - 1


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & MASK


def siphash24(k0, k1, data):
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def sipround():
        v[0] = (v[0] + v[1]) & MASK; v[1] = _rotl(v[1], 13) ^ v[0]; v[0] = _rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & MASK; v[3] = _rotl(v[3], 16) ^ v[2]
        v[0] = (v[0] + v[3]) & MASK; v[3] = _rotl(v[3], 21) ^ v[0]
        v[2] = (v[2] + v[1]) & MASK; v[1] = _rotl(v[1], 17) ^ v[2]; v[2] = _rotl(v[2], 32)

    whole = len(data) // 8 * 8
    words = [struct.unpack("<Q", data[i:i + 8])[0] for i in range(0, whole, 8)]
    words.append(((len(data) & 0xFF) << 56) | int.from_bytes(data[whole:], "little"))
    for m in words:
        v[3] ^= m; sipround(); sipround(); v[0] ^= m
    v[2] ^= 0xFF
    for _ in range(4):
        sipround()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def cookie(key_text, saddr, daddr):
    key = b"".join(struct.pack("<I", int(w, 16)) for w in key_text.split("-"))
    k0, k1 = struct.unpack("<QQ", key)
    h = siphash24(k0, k1, socket.inet_aton(saddr) + socket.inet_aton(daddr))
    return struct.pack("<Q", h).hex()


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        got = siphash24(*struct.unpack("<QQ", bytes(range(16))), bytes(range(15)))
        print("ok" if got == 0xA129CA6149BE45E5 else f"FAIL {got:016x}")
        sys.exit(0 if got == 0xA129CA6149BE45E5 else 1)
    print(cookie(*sys.argv[1:4]))
