using System.Security.Cryptography;
using Xmit.Tap;
using Xmit.Time;

namespace Xmit.Tests.Interop;

/// <summary>
/// `xmit tap tcp-connect` / `tcp-listen` against the real kernel (root and /dev/net/tun, like the other interop tests),
/// with and without TCP segmentation offload across the TAP's virtio-net header: with it, our GSO skbs cross in one
/// write each (VIRTIO_NET_HDR_GSO_TCPV4) and the kernel's TSO frames reach us whole. Bytes are checked by SHA-256 on
/// both ends; the rates are printed, not asserted.
/// </summary>
[Collection(nameof(KernelBulkCollection))]
public class TapTcpTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const long Size = 20_000_000;

    private static string ExpectedSha()
    {
        var block = TapTcp.Block();
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long off = 0; off < Size; off += block.Length) h.AppendData(block, 0, (int)Math.Min(block.Length, Size - off));
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    private const string KernelSink = "import socket,hashlib,sys\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n" +
        "s.bind((sys.argv[1],5201))\ns.listen(1)\nprint('ready',flush=True)\nc,a=s.accept()\nh=hashlib.sha256()\nn=0\n" +
        "while True:\n b=c.recv(1<<20)\n if not b: break\n h.update(b)\n n+=len(b)\nprint(n,h.hexdigest(),flush=True)\n";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Xmit_sources_a_stream_the_kernel_receives_byte_exact(bool offload)
    {
        using var net = new TapNet(offload, capture: false);
        using var server = net.Ns.Start("python3", "-c", KernelSink, net.Kernel.ToString());
        Assert.Equal("ready", server.StandardOutput.ReadLine());
        var o = new StringWriter();
        int code = TapTcp.Connect(net.Host, net.Kernel, 5201, new TcpAppOptions(TcpAppMode.Source, Size, Duration.FromSeconds(60)), o);
        Assert.True(code == 0, o.ToString());
        net.RunUntil(() => server.HasExited, 10_000);
        Assert.Equal($"{Size} {ExpectedSha()}", server.StandardOutput.ReadToEnd().Trim());
        Assert.Contains($"sha256 sent {ExpectedSha()}", o.ToString());
        if (offload) Assert.True(net.Host.Driver.GsoWrites > 100, $"{net.Host.Driver.GsoWrites} TSO writes");
        else Assert.Equal(0, net.Host.Driver.GsoWrites);
        output.WriteLine(o.ToString().Split('\n')[1]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_kernel_sends_xmit_sinks_and_both_hashes_agree(bool offload)
    {
        using var net = new TapNet(offload, capture: false);
        // The kernel side connects once we listen; its stream is a fixed pattern whose hash it prints.
        const string source = "import socket,hashlib,sys,time\nb=bytes((i*7)%251 for i in range(1<<20))\nh=hashlib.sha256()\n" +
            "for _ in range(50):\n try:\n  s=socket.create_connection((sys.argv[1],5202)); break\n except OSError: time.sleep(0.1)\n" +
            "for _ in range(20):\n s.sendall(b); h.update(b)\ns.shutdown(socket.SHUT_WR)\ns.recv(1)\nprint(h.hexdigest(),flush=True)\n";
        using var client = net.Ns.Start("python3", "-c", source, net.Us.ToString());
        var o = new StringWriter();
        int code = TapTcp.Listen(net.Host, 5202, new TcpAppOptions(TcpAppMode.Sink, 0, Duration.FromSeconds(60)), o);
        Assert.True(code == 0, o.ToString());
        net.RunUntil(() => client.HasExited, 10_000);
        string kernelSha = client.StandardOutput.ReadToEnd().Trim();
        Assert.Contains($"received 20971520 bytes", o.ToString());
        Assert.Contains($"received {kernelSha}", o.ToString());
        if (offload) Assert.True(net.Host.Driver.GsoReads > 10, $"{net.Host.Driver.GsoReads} TSO frames read");
        else Assert.Equal(0, net.Host.Driver.GsoReads);
        output.WriteLine(o.ToString().Split('\n')[2]);
    }
}
