using Xmit.Sockets.Api;

namespace Xmit.Tests.Interop;

/// <summary>GSO across the TAP's virtio-net header: a large UDP_SEGMENT send crosses in one frame, both ways.</summary>
public class TapGsoTests
{
    private static byte[] Data()
    {
        var d = new byte[10_500];
        for (int i = 0; i < d.Length; i++) d[i] = (byte)(i * 13);
        return d;
    }

    [Fact]
    public void Our_udp_segment_send_crosses_in_one_frame_and_the_kernel_receives_each_datagram()
    {
        using var net = new TapNet(offload: true);
        var script = "import socket,sys,hashlib\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind((sys.argv[1],9002))\ns.settimeout(5)\n" +
                     "print('ready',flush=True)\nfor _ in range(11):\n d,a=s.recvfrom(70000)\n print(len(d),flush=True)\n";
        using var server = net.Ns.Start("python3", "-c", script, net.Kernel.ToString());
        Assert.Equal("ready", server.StandardOutput.ReadLine());
        var sys = new Syscalls(net.Host.Host);
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(0, sys.Connect(fd, new SockAddrIn(net.Kernel, 9002)));
        Assert.Equal(1, sys.Send(fd, new byte[1])); // resolves ARP (a datagram of its own: the server counts it)
        Assert.Equal(0, sys.SetSockOpt(fd, SockOpt.IPPROTO_UDP, SockOpt.UDP_SEGMENT, 1000));
        net.RunFor(200);
        long writes0 = net.Host.Driver.Writes;
        Assert.Equal(10_500, sys.Send(fd, Data()));
        net.RunUntil(() => server.HasExited, 8_000);
        Assert.Equal(1, net.Host.Driver.GsoWrites);
        Assert.Equal(1, net.Host.Driver.Writes - writes0); // one frame for eleven datagrams
        var lines = server.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["1", "1000", "1000", "1000", "1000", "1000", "1000", "1000", "1000", "1000", "1000"], lines);
        sys.CloseAll();
    }

    [Fact]
    public void A_udp_gso_frame_from_the_kernel_is_cut_into_its_datagrams()
    {
        using var net = new TapNet(offload: true);
        Assert.Equal(0, net.ExecWhileRunning("ping", "-c", "1", "-W", "2", net.Us.ToString()).Code); // ARP first
        var sk = net.Host.Host.Udp.Bind(net.Us, 9003);
        var script = "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.setsockopt(17,103,1000)\n" +
                     "s.sendto(bytes((i*13)%256 for i in range(10500)),(sys.argv[1],9003))\n";
        var (code, _, err) = net.ExecWhileRunning("python3", "-c", script, net.Us.ToString());
        Assert.True(code == 0, err);
        net.RunUntil(() => sk.ReceiveQueue.Count == 11, 3_000);
        Assert.True(net.Host.Driver.GsoReads >= 1, "the kernel sent the datagrams as one GSO frame");
        var all = new List<byte>();
        var buf = new byte[2000];
        for (int i = 0; i < 11; i++)
        {
            var got = net.Host.Host.Udp.Receive(sk, buf);
            Assert.True(got is not null, $"datagram {i} missing");
            Assert.Equal(i < 10 ? 1000 : 500, got!.Value.Length);
            all.AddRange(buf.AsSpan(0, got.Value.Length).ToArray());
        }
        Assert.Equal(Data(), all.ToArray());
    }
}
