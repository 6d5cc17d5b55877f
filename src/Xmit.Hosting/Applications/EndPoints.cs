using System.Net;
using System.Net.Sockets;
using Xmit.Sockets.Api;
using Xmit.Wire;

namespace Xmit.Applications;

/// <summary>Between .NET's <see cref="IPEndPoint"/> and the façade's <see cref="SockAddrIn"/> (Xmit is IPv4 only).</summary>
internal static class EndPoints
{
    public static SockAddrIn ToSockAddr(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (endPoint.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException($"Xmit speaks IPv4 only, not {endPoint.AddressFamily}", nameof(endPoint));
        Span<byte> bytes = stackalloc byte[4];
        endPoint.Address.TryWriteBytes(bytes, out _);
        return new SockAddrIn(Ipv4Address.Read(bytes), (ushort)endPoint.Port);
    }

    public static IPEndPoint ToEndPoint(Ipv4Address address, ushort port)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.Write(bytes);
        return new IPEndPoint(new IPAddress(bytes), port);
    }
}
