using System.Security.Cryptography;
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
        Sim.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> from <paramref name="fromFd"/> and reads them at <paramref name="toFd"/>, at most
    /// <paramref name="readSize"/> bytes a read() call; returns whether they arrived intact.
    /// </summary>
    public static bool Transfer(TwoHosts net, Syscalls from, int fromFd, Syscalls to, int toFd, int bytes, int seed, int readSize = 1 << 17)
    {
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);
        using var got = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[readSize];
        int sent = 0, received = 0;
        var deadline = net.Sim.Now + Duration.FromSeconds(30);
        while (received < bytes && net.Sim.Now < deadline)
        {
            if (sent < bytes && from.Write(fromFd, data.AsSpan(sent)) is > 0 and var n) sent += n;
            int r = to.Read(toFd, buf);
            if (r > 0)
            {
                got.AppendData(buf, 0, r);
                received += r;
            }
            else net.RunFor(Duration.FromMicroseconds(20));
        }
        return received == bytes && got.GetHashAndReset().AsSpan().SequenceEqual(SHA256.HashData(data));
    }
}
