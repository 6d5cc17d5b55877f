using Xmit.Configuration;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Transport.Udp;

namespace Xmit.Sockets.Api;

/// <summary>
/// What the syscall façade needs of one host's kernel — its clock, its protocols, its sysctls — so the façade
/// stays in the core while the host that puts a kernel together (Xmit.Hosting's Host) lives above it.
/// </summary>
public interface INetworkStack
{
    IScheduler Scheduler { get; }
    TcpProtocol Tcp { get; }
    UdpProtocol Udp { get; }
    Sysctls Sysctls { get; }
}
