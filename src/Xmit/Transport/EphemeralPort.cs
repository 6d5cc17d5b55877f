using Xmit.Time;

namespace Xmit.Transport;

/// <summary>Choosing a local port for a socket bound to port 0 or connecting unbound.</summary>
internal static class EphemeralPort
{
    /// <summary>
    /// The first free port of ip_local_port_range, scanning from a random start (0 when all are taken).
    /// </summary>
    /// <remarks>Linux: net/ipv4/udp.c udp_lib_get_port(); net/ipv4/inet_connection_sock.c inet_csk_find_open_port()</remarks>
    public static ushort Pick(DeterministicRandom random, (ushort Low, ushort High) range, Func<ushort, bool> inUse)
    {
        int count = range.High - range.Low + 1;
        int start = (int)random.NextUInt32((uint)count);
        for (int i = 0; i < count; i++)
        {
            ushort candidate = (ushort)(range.Low + (start + i) % count);
            if (!inUse(candidate)) return candidate;
        }
        return 0;
    }
}
