using System.Buffers.Binary;
using Xmit.Buffers;
using Xmit.Wire;

namespace Xmit.Link;

/// <summary>
/// skb_get_hash() for an skb that carries no socket hash: the flow dissector's keys (IPv4 addresses and protocol, the
/// ports unless the packet is a fragment; ARP's sender and target addresses) mixed with the host's random seed
/// (hashrnd), so every packet of a flow gets the same hash and different flows spread. Linux mixes with jhash; any
/// well-mixed keyed hash serves, since the seed is random anyway. Never 0, which means "not computed".
/// </summary>
/// <remarks>Linux: net/core/flow_dissector.c __skb_get_hash(), __flow_hash_from_keys(), flow_hash_from_keys()</remarks>
public static class FlowHash
{
    /// <summary>skb_get_hash(): the skb's hash, computed from its headers (and kept in it) the first time it is asked for.</summary>
    public static uint Get(SkBuff skb, ulong seed)
    {
        if (skb.Hash == 0) skb.Hash = Of(skb, seed);
        return skb.Hash;
    }

    public static uint Of(SkBuff skb, ulong seed)
    {
        ulong a = skb.Protocol, b = 0;
        if (skb.NetworkHeader >= 0)
        {
            var net = skb.NetworkHeaderSpan;
            if (skb.Protocol == EtherType.Ipv4 && net.Length >= Ipv4Packet.MinHeaderLength)
            {
                int ihl = (net[0] & 0xF) * 4;
                byte proto = net[9];
                bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(net[6..]) & 0x3FFF) != 0; // MF or an offset
                a = (ulong)BinaryPrimitives.ReadUInt32BigEndian(net[12..]) << 32 | BinaryPrimitives.ReadUInt32BigEndian(net[16..]);
                b = proto;
                if (!fragment && proto is IpProtocol.Tcp or IpProtocol.Udp && net.Length >= ihl + 4)
                    b |= (ulong)BinaryPrimitives.ReadUInt32BigEndian(net[ihl..]) << 8;
            }
            else if (skb.Protocol == EtherType.Arp && net.Length >= 28)
            {
                a = (ulong)BinaryPrimitives.ReadUInt32BigEndian(net[14..]) << 32 | BinaryPrimitives.ReadUInt32BigEndian(net[24..]);
                b = EtherType.Arp;
            }
        }
        uint h = (uint)Mix(Mix(a ^ seed) ^ b);
        return h == 0 ? 1 : h;
    }

    /// <summary>A 64-bit finaliser (splitmix64's): every input bit affects every output bit.</summary>
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
