using System.Security.Cryptography;
using Xmit.Sockets.Api;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.Interop;

/// <summary>
/// Classic ECN against the real kernel on a TAP device: each side asks in turn (tcp_ecn 1) and the other agrees (tcp_ecn
/// 2, the default), and the kernel's own tcp_info says ECN is on (TCPI_OPT_ECN, 8) and that our data came ECT
/// (TCPI_OPT_ECN_SEEN, 16).
/// </summary>
public class KernelEcnTests
{
    private static byte[] Pattern(int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)((i * 13 + 5) % 253);
        return b;
    }

    /// <summary>Reads what the peer sends to its end of file, then prints the byte count, its SHA-256 and tcpi_options.</summary>
    private const string ReadAndReport =
        "got=b''\nwhile True:\n d=c.recv(65536)\n if not d: break\n got+=d\n" +
        "info=c.getsockopt(socket.IPPROTO_TCP,socket.TCP_INFO,104)\n" +
        "print(len(got),hashlib.sha256(got).hexdigest(),info[5],flush=True)\n";

    [Fact]
    public void We_ask_for_ecn_and_the_kernel_agrees_and_sees_our_ect0_data()
    {
        using var net = new TapNet();
        Assert.Equal(0, net.Ns.Exec("sysctl", "-q", "-w", "net.ipv4.tcp_ecn=2").Code);
        net.Host.Host.Sysctls.TcpEcn = 1;
        var script = "import socket,sys,hashlib\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n" +
                     "s.bind((sys.argv[1],9102))\ns.listen(1)\nprint('ready',flush=True)\ns.settimeout(8)\nc,a=s.accept()\n" + ReadAndReport + "c.close()\n";
        using var server = net.Ns.Start("python3", "-c", script, net.Kernel.ToString());
        Assert.Equal("ready", server.StandardOutput.ReadLine());
        var sys = new Syscalls(net.Host.Host);
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_STREAM, 0);
        Assert.Equal(0, sys.Connect(fd, new SockAddrIn(net.Kernel, 9102)));
        var sk = ((TcpSocketFile)sys.File(fd)!).Sk;
        Assert.Equal(TcpEcnFlags.Ok, sk.Ecn & TcpEcnFlags.Ok); // the kernel's SYN-ACK agreed (ECE without CWR)
        var data = Pattern(200_000);
        Assert.Equal(data.Length, sys.Write(fd, data));
        Assert.Equal(0, sys.Shutdown(fd, Shut.SHUT_WR));
        net.RunUntil(() => server.HasExited, 10_000);
        Assert.True(server.HasExited, "the kernel's server did not finish");
        var fields = server.StandardOutput.ReadToEnd().Trim().Split(' ');
        Assert.Equal($"{data.Length} {Convert.ToHexStringLower(SHA256.HashData(data))}", $"{fields[0]} {fields[1]}");
        int options = int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True((options & 8) != 0, $"the kernel has no ECN on the connection (tcpi_options {options})");
        Assert.True((options & 16) != 0, $"the kernel saw no ECT from us (tcpi_options {options})");
        sys.CloseAll();
    }

    [Fact]
    public void The_kernel_asks_for_ecn_and_we_agree_both_ways_ect()
    {
        using var net = new TapNet();
        Assert.Equal(0, net.Ns.Exec("sysctl", "-q", "-w", "net.ipv4.tcp_ecn=1").Code);
        Assert.Equal(2, net.Host.Host.Sysctls.TcpEcn);
        var sys = new Syscalls(net.Host.Host);
        int listener = sys.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sys.Bind(listener, new SockAddrIn(net.Us, 9103)));
        Assert.Equal(0, sys.Listen(listener, 4));
        const int size = 100_000;
        var script = "import socket,sys,hashlib\n" +
                     "n=int(sys.argv[2]); data=bytes((i*13+5)%253 for i in range(n))\n" +
                     "c=socket.create_connection((sys.argv[1],9103),timeout=8)\n" +
                     "c.sendall(data); c.shutdown(socket.SHUT_WR)\n" + ReadAndReport + "c.close()\n";
        using var client = net.Ns.Start("python3", "-c", script, net.Us.ToString(), size.ToString());
        var received = new MemoryStream();
        var buf = new byte[65536];
        int fd = -1, sent = 0;
        bool eof = false, closed = false;
        TcpSock? sk = null;
        net.RunUntil(() =>
        {
            if (fd < 0)
            {
                fd = sys.Accept(listener, out _);
                if (fd >= 0)
                {
                    sys.Fcntl(fd, Fcntl.F_SETFL, Fcntl.O_RDWR | Fcntl.O_NONBLOCK);
                    sk = ((TcpSocketFile)sys.File(fd)!).Sk;
                }
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
                Assert.Equal(TcpEcnFlags.Ok | TcpEcnFlags.Seen, sk!.Ecn & (TcpEcnFlags.Ok | TcpEcnFlags.Seen)); // the kernel's data came ECT
                Assert.Equal(0, sys.Close(fd));
                closed = true;
            }
            return client.HasExited;
        }, 15_000);
        Assert.True(client.HasExited, $"the kernel's client did not finish: received {received.Length}, sent back {sent}");
        Assert.Equal(Pattern(size), received.ToArray());
        var fields = client.StandardOutput.ReadToEnd().Trim().Split(' ');
        Assert.Equal($"{size} {Convert.ToHexStringLower(SHA256.HashData(Pattern(size)))}", $"{fields[0]} {fields[1]}");
        int options = int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True((options & 8) != 0, $"our SYN-ACK did not turn ECN on at the kernel (tcpi_options {options})");
        Assert.True((options & 16) != 0, $"the kernel saw no ECT from us (tcpi_options {options})");
        sys.CloseAll();
    }
}
