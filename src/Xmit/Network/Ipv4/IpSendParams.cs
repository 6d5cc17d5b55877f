using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>
/// What a transport tells IPv4 to build a header: addresses, protocol, TOS/TTL, PMTU discovery mode, and
/// the socket's own IP ID counter when it is connected (null for the shared generator).
/// </summary>
public readonly record struct IpSendParams(
    Ipv4Address Source,
    Ipv4Address Destination,
    byte Protocol,
    byte Ttl = 64,
    byte Tos = 0,
    PmtuDisc PmtuMode = PmtuDisc.Want,
    ushort? SocketIdent = null);
