using Xmit.Tests.Support;
using Xmit.Tap;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Interop;

/// <summary>
/// A namespace of the test's own with a TAP device: the kernel at 198.18.N.1, Xmit at 198.18.N.2, every
/// frame captured. Disposing stops everything and deletes the namespace, also after a failure.
/// These tests need root and /dev/net/tun because they create a namespace and a TAP device; they say so
/// and fail (not skip) where that is missing, so a green run always means they ran.
/// </summary>
public sealed class TapNet : IDisposable
{
    private static int _counter;
    private readonly string? _pcap;
    private readonly bool _offload;

    /// <param name="offload">Checksum offload and UDP GSO on the virtio-net header. Captures then hold what the
    /// driver was handed — partial checksums, GSO frames — as tcpdump shows on an offloading NIC, so only
    /// malformed frames are looked for.</param>
    /// <param name="capture">Capture every frame and have tshark check them at the end. A bulk transfer turns
    /// it off: hundreds of megabytes of pcap written on the stack's thread, then read by tshark, would measure
    /// the capture, not the stack.</param>
    public TapNet(bool offload = false, bool capture = true)
    {
        _offload = offload;
        if (Environment.UserName != "root" && Tap.Native.GetEuid() != 0)
            throw new InvalidOperationException("interop tests need root: they create a network namespace and a TAP device");
        if (!File.Exists("/dev/net/tun"))
            throw new InvalidOperationException("interop tests need /dev/net/tun: this machine has no TUN/TAP support");
        int k = System.Threading.Interlocked.Increment(ref _counter);
        int subnet = 100 + (Environment.ProcessId + k * 7) % 150;
        Kernel = new Ipv4Address(198, 18, (byte)subnet, 1);
        Us = new Ipv4Address(198, 18, (byte)subnet, 2);
        string ns = $"xmit-test-{Environment.ProcessId}-{k}";
        var (host, error) = TapHost.Start(new TapHostOptions
        {
            DeviceName = $"xmt{Environment.ProcessId % 10000}x{k}",
            Netns = ns,
            CreateNetns = true,
            Address = Us,
            PeerAddress = Kernel,
            ChecksumOffload = offload,
        });
        Assert.True(host is not null, error);
        Host = host!;
        if (!capture) return;
        _pcap = Path.Combine(Path.GetTempPath(), $"{ns}.pcap");
        Host.Capture(File.Create(_pcap));
    }

    public TapHost Host { get; }
    public Ipv4Address Kernel { get; }
    public Ipv4Address Us { get; }
    public NetNamespace Ns => Host.Namespace!;
    public RealTimeLoop Loop => Host.Loop;

    /// <summary>Runs our side until <paramref name="done"/> or the time limit.</summary>
    public bool RunUntil(Func<bool> done, int ms = 10_000) => Loop.RunUntil(done, Loop.Now + Duration.FromMilliseconds(ms));

    public void RunFor(int ms) => RunUntil(() => false, ms);

    /// <summary>Starts a command in the namespace and runs our side until it exits.</summary>
    public (int Code, string Out, string Err) ExecWhileRunning(params string[] command)
    {
        using var p = Ns.Start(command);
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        RunUntil(() => p.HasExited, 20_000);
        if (!p.HasExited)
        {
            p.Kill(entireProcessTree: true);
            return (-1, o.Result, "timed out");
        }
        return (p.ExitCode, o.Result, e.Result);
    }

    public void Dispose()
    {
        Host.Dispose();
        if (_pcap is null) return;
        try
        {
            Tshark.AssertNone(_pcap, _offload ? "_ws.malformed"
                : "_ws.malformed || _ws.expert.severity >= 8388608 || ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0");
        }
        finally
        {
            File.Delete(_pcap);
        }
    }
}
