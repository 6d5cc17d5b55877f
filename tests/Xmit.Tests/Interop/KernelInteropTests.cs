using Xmit.Applications;
using Xmit.Network.Ipv4;
using Xmit.Neighbour;
using Xmit.Wire;

namespace Xmit.Tests.Interop;

/// <summary>Xmit on a TAP device against the real Linux kernel in a namespace of the test's own.</summary>
public class KernelInteropTests
{
    [Fact]
    public void The_kernel_pings_us_and_learns_our_mac()
    {
        using var net = new TapNet();
        var (code, output, err) = net.ExecWhileRunning("ping", "-c", "3", "-i", "0.2", "-W", "2", net.Us.ToString());
        Assert.True(code == 0, $"ping failed ({code}): {output} {err}");
        Assert.Contains("3 received", output);
        Assert.Equal(3, net.Host.Host.Mib.Icmp.InEchos);
        var (_, neigh, _) = net.Ns.Exec("ip", "neigh", "show", net.Us.ToString());
        Assert.Contains(net.Host.Device.Mac.ToString(), neigh); // the kernel resolved us by ARP
        Assert.Equal(1, net.Host.Host.Arp.Stats.RepliesSent);
    }

    [Fact]
    public void We_ping_the_kernel_after_resolving_it_by_arp()
    {
        using var net = new TapNet();
        var ping = new PingSession(net.Host.Host, net.Kernel, 3, Xmit.Time.Duration.FromMilliseconds(100));
        ping.Start();
        Assert.True(net.RunUntil(() => ping.Replies.Count == 3, 5_000), $"{ping.Replies.Count} replies");
        var n = net.Host.Host.Neighbours.Lookup(net.Host.Device, net.Kernel)!;
        Assert.True(n.State.Has(NudStates.Valid));
        Assert.Equal(net.Host.PeerMac(), n.LinkAddress);
        Assert.All(ping.Replies, r => Assert.InRange(r.Rtt.TotalMilliseconds, 0, 1000));
    }

    private static readonly int[] Sizes = [0, 1, 100, 1472, 1473, 3000, 8000, 65507];

    private static byte[] Pattern(int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)((i * 7 + n) % 251);
        return b;
    }

    [Fact]
    public void Udp_from_the_kernel_arrives_byte_exact_including_datagrams_we_reassemble()
    {
        using var net = new TapNet();
        Assert.Equal(0, net.ExecWhileRunning("ping", "-c", "1", "-W", "2", net.Us.ToString()).Code); // ARP first
        var sk = net.Host.Host.Udp.Bind(net.Us, 9000);
        var script = "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n" +
                     "for n in map(int,sys.argv[2:]): s.sendto(bytes((i*7+n)%251 for i in range(n)),(sys.argv[1],9000))\n";
        var (code, _, err) = net.ExecWhileRunning(["python3", "-c", script, net.Us.ToString(), .. Sizes.Select(s => s.ToString())]);
        Assert.True(code == 0, err);
        net.RunUntil(() => sk.ReceiveQueue.Count == Sizes.Length, 3_000);
        var buf = new byte[65536];
        foreach (int size in Sizes)
        {
            var got = net.Host.Host.Udp.Receive(sk, buf);
            Assert.True(got is not null, $"datagram of {size} bytes missing");
            Assert.Equal(size, got!.Value.Length);
            Assert.Equal(Pattern(size), buf[..size]);
            Assert.Equal(net.Kernel, got.Value.Source);
        }
        Assert.True(net.Host.Host.Mib.Ip.ReasmOKs >= 4, $"ReasmOKs {net.Host.Host.Mib.Ip.ReasmOKs}");
    }

    [Fact]
    public void Udp_to_the_kernel_arrives_byte_exact_including_datagrams_it_reassembles()
    {
        using var net = new TapNet();
        var script = "import socket,sys,hashlib\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind((sys.argv[1],9001))\ns.settimeout(5)\n" +
                     "print('ready',flush=True)\nfor _ in range(int(sys.argv[2])):\n d,a=s.recvfrom(70000)\n print(len(d),hashlib.sha256(d).hexdigest(),flush=True)\n";
        using var server = net.Ns.Start("python3", "-c", script, net.Kernel.ToString(), Sizes.Length.ToString());
        Assert.Equal("ready", server.StandardOutput.ReadLine());
        var sys = new Xmit.Sockets.Api.Syscalls(net.Host.Host);
        int fd = sys.Socket(Xmit.Sockets.Api.Af.AF_INET, Xmit.Sockets.Api.SockType.SOCK_DGRAM, 0);
        Assert.Equal(0, sys.Connect(fd, new Xmit.Sockets.Api.SockAddrIn(net.Kernel, 9001)));
        foreach (int size in Sizes)
            Assert.Equal(size, sys.Send(fd, Pattern(size))); // blocking sends: ARP and the socket buffer wait in real time
        net.RunUntil(() => server.HasExited, 8_000); // our side keeps running: fragments, ARP, completions
        Assert.True(server.HasExited, "the kernel's socket did not receive every datagram in time");
        var lines = server.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        var expected = Sizes.Select(n => $"{n} {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Pattern(n)))}");
        Assert.Equal(expected, lines);
        sys.CloseAll();
    }

    [Fact]
    public void Port_unreachable_from_the_kernel_is_econnrefused_on_a_connected_socket()
    {
        using var net = new TapNet();
        var sys = new Xmit.Sockets.Api.Syscalls(net.Host.Host);
        int fd = sys.Socket(Xmit.Sockets.Api.Af.AF_INET, Xmit.Sockets.Api.SockType.SOCK_DGRAM, 0);
        Assert.Equal(0, sys.Connect(fd, new Xmit.Sockets.Api.SockAddrIn(net.Kernel, 9))); // nobody listens on 9
        Assert.Equal(4, sys.Send(fd, new byte[4]));
        net.RunUntil(() => net.Host.Host.Mib.Icmp.InDestUnreachs > 0, 3_000);
        Assert.Equal(-(int)Errno.ECONNREFUSED, sys.Send(fd, new byte[4]));
        sys.CloseAll();
    }
}
