using System.Security.Cryptography;
using Xmit.Sockets.Api;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.Interop;

/// <summary>TCP between Xmit on a TAP device and the real Linux kernel in a namespace of the test's own.</summary>
public class KernelTcpTests
{
    private static byte[] Pattern(int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)((i * 13 + 5) % 253);
        return b;
    }

    /// <summary>
    /// The kernel connects to us, sends 300 kB and shuts down its side; we read to end of file, send the
    /// bytes back and close. Both directions arrive byte-exact, and both ends finish the close handshake.
    /// </summary>
    [Fact]
    public void The_kernel_connects_and_data_goes_both_ways_byte_exact()
    {
        using var net = new TapNet();
        const int size = 300_000;
        var sys = new Syscalls(net.Host.Host);
        int listener = sys.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sys.Bind(listener, new SockAddrIn(net.Us, 9100)));
        Assert.Equal(0, sys.Listen(listener, 4));
        var script = "import socket,sys,hashlib\n" +
                     "n=int(sys.argv[2]); data=bytes((i*13+5)%253 for i in range(n))\n" +
                     "s=socket.create_connection((sys.argv[1],9100),timeout=8)\n" +
                     "s.sendall(data); s.shutdown(socket.SHUT_WR)\n" +
                     "got=b''\nwhile True:\n d=s.recv(65536)\n if not d: break\n got+=d\n" +
                     "print(len(got),hashlib.sha256(got).hexdigest(),flush=True)\ns.close()\n";
        using var client = net.Ns.Start("python3", "-c", script, net.Us.ToString(), size.ToString());

        var received = new MemoryStream();
        var buf = new byte[65536];
        int fd = -1, sent = 0;
        bool eof = false, closed = false;
        net.RunUntil(() =>
        {
            if (fd < 0)
            {
                fd = sys.Accept(listener, out _);
                if (fd >= 0) sys.Fcntl(fd, Fcntl.F_SETFL, Fcntl.O_RDWR | Fcntl.O_NONBLOCK);
                return false;
            }
            while (!eof)
            {
                int r = sys.Read(fd, buf);
                if (r > 0) received.Write(buf, 0, r);
                else if (r == 0) eof = true;
                else return false;
            }
            var echo = received.GetBuffer().AsSpan(0, (int)received.Length);
            while (sent < echo.Length)
            {
                int w = sys.Write(fd, echo[sent..]);
                if (w <= 0) return false;
                sent += w;
            }
            if (!closed)
            {
                Assert.Equal(0, sys.Close(fd));
                closed = true;
            }
            return client.HasExited;
        }, 15_000);
        Assert.True(client.HasExited, $"the kernel's client did not finish: received {received.Length}, sent back {sent}");
        Assert.Equal(size, received.Length);
        Assert.Equal(Pattern(size), received.ToArray());
        var line = client.StandardOutput.ReadToEnd().Trim();
        Assert.Equal($"{size} {Convert.ToHexStringLower(SHA256.HashData(Pattern(size)))}", line);
        // Our side saw the kernel's FIN, sent its own and had it acknowledged: nothing but TIME-WAIT is left
        // of the connection (the kernel closed second, so it may linger in LAST-ACK briefly on its side).
        net.RunUntil(() => net.Host.Host.Tcp.Sockets.All(s => s.State is TcpState.TimeWait or TcpState.Listen), 3_000);
        Assert.All(net.Host.Host.Tcp.Sockets, s => Assert.True(s.State is TcpState.TimeWait or TcpState.Listen, s.ToString()));
        Assert.Equal(0, net.Host.Host.Tcp.Mib.OutRsts);
        sys.CloseAll();
    }

    /// <summary>We connect to the kernel: the handshake negotiates timestamps, SACK and window scaling, and a refused port gives ECONNREFUSED.</summary>
    [Fact]
    public void We_connect_to_the_kernel_and_a_closed_port_refuses()
    {
        using var net = new TapNet();
        var script = "import socket,sys,hashlib\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n" +
                     "s.bind((sys.argv[1],9101))\ns.listen(1)\nprint('ready',flush=True)\ns.settimeout(8)\nc,a=s.accept()\n" +
                     "got=b''\nwhile True:\n d=c.recv(65536)\n if not d: break\n got+=d\n" +
                     "print(len(got),hashlib.sha256(got).hexdigest(),flush=True)\nc.close()\n";
        using var server = net.Ns.Start("python3", "-c", script, net.Kernel.ToString());
        Assert.Equal("ready", server.StandardOutput.ReadLine());
        var sys = new Syscalls(net.Host.Host);
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_STREAM, 0);
        Assert.Equal(0, sys.Connect(fd, new SockAddrIn(net.Kernel, 9101))); // blocking: ARP and handshake in real time
        var sk = ((TcpSocketFile)sys.File(fd)!).Sk;
        Assert.True(sk.TimestampOk && sk.SackOk && sk.WscaleOk, "the kernel offers timestamps, SACK and window scaling");
        Assert.Equal(1448, sk.MssCache); // 1500 − 40 − 12 bytes of timestamp option
        var data = Pattern(100_000);
        Assert.Equal(data.Length, sys.Write(fd, data));
        Assert.Equal(0, sys.Shutdown(fd, Shut.SHUT_WR));
        net.RunUntil(() => server.HasExited, 10_000);
        Assert.True(server.HasExited, "the kernel's server did not finish");
        Assert.Equal($"{data.Length} {Convert.ToHexStringLower(SHA256.HashData(data))}", server.StandardOutput.ReadToEnd().Trim());
        Assert.Equal(0, sys.Read(fd, new byte[10])); // its FIN
        sys.Close(fd);

        int refused = sys.Socket(Af.AF_INET, SockType.SOCK_STREAM, 0);
        Assert.Equal(-(int)Errno.ECONNREFUSED, sys.Connect(refused, new SockAddrIn(net.Kernel, 9)));
        sys.CloseAll();
    }
}
