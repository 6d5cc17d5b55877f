using Xmit.Hosting;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Support;

/// <summary>A TCP connection from host A to host B opened through the syscall façade, both ends non-blocking.</summary>
public sealed record TcpConnection(Simulation.Simulation Sim, Syscalls A, Syscalls B, int Client, int Server)
{
    public TcpSock ClientSock => ((TcpSocketFile)A.File(Client)!).Sk;
    public TcpSock ServerSock => ((TcpSocketFile)B.File(Server)!).Sk;

    /// <summary>
    /// Listens on <paramref name="addressB"/>:<paramref name="port"/> on B, lets <paramref name="configureClient"/>
    /// set options on A's socket (<paramref name="configureListener"/> on B's listener, which the accepted socket inherits), connects, and runs the simulation until B accepts (a lossy link may take
    /// a retransmitted SYN); the accepted socket is made non-blocking, the listener closed.
    /// </summary>
    public static TcpConnection Open(Simulation.Simulation sim, Host a, Host b, Ipv4Address addressB, ushort port = 5000,
        Action<Syscalls, int>? configureClient = null, Action<Syscalls, int>? configureListener = null)
    {
        var sa = new Syscalls(a);
        var sb = new Syscalls(b);
        int listener = sb.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        configureListener?.Invoke(sb, listener);
        Assert.Equal(0, sb.Bind(listener, new SockAddrIn(addressB, port)));
        Assert.Equal(0, sb.Listen(listener, 8));
        int client = sa.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        configureClient?.Invoke(sa, client);
        Assert.Equal(-(int)Errno.EINPROGRESS, sa.Connect(client, new SockAddrIn(addressB, port)));
        int server;
        var deadline = sim.Now + Duration.FromSeconds(30);
        while ((server = sb.Accept(listener, out _)) < 0 && sim.Now < deadline) sim.RunFor(Duration.FromMilliseconds(1));
        Assert.True(server >= 0, $"no connection accepted: {server}");
        Assert.Equal(0, sb.Fcntl(server, Fcntl.F_SETFL, Fcntl.O_RDWR | Fcntl.O_NONBLOCK)); // accept() does not inherit O_NONBLOCK
        Assert.Equal(0, sb.Close(listener));
        return new TcpConnection(sim, sa, sb, client, server);
    }

    /// <summary>Both ends close; the FINs are exchanged and TIME-WAIT runs out.</summary>
    public void Close()
    {
        A.Close(Client);
        B.Close(Server);
        Sim.RunFor(Duration.FromSeconds(61));
    }
}
