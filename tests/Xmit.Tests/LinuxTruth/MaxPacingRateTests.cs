using System.Text.Json;
using Xmit.Buffers;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// TCP's own pacing (SO_MAX_PACING_RATE without fq) against Linux 6.18 over a veth pair
/// (scripts/linux-max-pacing-rate.sh → Data/linux-truth/max-pacing-rate.json): a bulk sender capped at 10 and
/// 100 Mbit/s delivers the cap — the receiver counts bytes from 1 s to 4 s — and tcp_info reports the cap as both
/// the pacing rate and the maximum. Here over a 10 Gbit/s simulated veth-like link, so only pacing holds the flow
/// back; Xmit must come within 3 % of Linux's goodput. Without the cap the same flow runs far faster (the control).
/// The pacing steps themselves (2-segment TSO skbs, one every 20 ms at 100 kB/s, the first ten segments unpaced)
/// are pinned by tests/scripts/tcp/max-pacing-rate.pkt.
/// </summary>
public class MaxPacingRateTests
{
    public static TheoryData<ulong> Rates() => [1_250_000UL, 12_500_000UL];

    [Theory]
    [MemberData(nameof(Rates))]
    public void A_capped_bulk_flow_delivers_the_cap_as_on_Linux(ulong rate)
    {
        var linux = LinuxRun(rate);
        var (goodput, sk) = Run(rate);
        Assert.True(Math.Abs(goodput - linux.Goodput) <= 0.03 * linux.Goodput, $"goodput {goodput:F0} B/s, Linux {linux.Goodput} B/s");
        Assert.Equal(SkPacingStatus.Needed, sk.PacingStatus);
        Assert.Equal(linux.PacingRate, sk.PacingRate);
        Assert.Equal(linux.MaxPacingRate, sk.MaxPacingRate);
    }

    [Fact]
    public void Without_the_cap_the_same_flow_is_not_held_to_it()
    {
        var (goodput, sk) = Run(rate: null);
        Assert.True(goodput > 20 * 12_500_000, $"goodput {goodput:F0} B/s");
        Assert.Equal(SkPacingStatus.None, sk.PacingStatus);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void A_paced_flow_under_faults_arrives_byte_exact(ulong seed)
    {
        var link = new LinkConfig
        {
            RateBitsPerSecond = 1_000_000_000, Propagation = Duration.FromMilliseconds(1), LossRate = 0.01,
            Faults = new LinkFaults { ReorderRate = 0.01, DuplicateRate = 0.01, CorruptRate = 0.005 },
        };
        using var net = new TwoHosts(link, seed: seed, trackAllocations: false);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5801, configureClient: (s, fd) =>
            Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_MAX_PACING_RATE, 12_500_000)));
        var start = net.Sim.Now;
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 2 << 20, seed: (int)seed), "A to B");
        // Paced at 100 Mbit/s, 2 MiB cannot arrive sooner than the cap allows (less the unpaced first segments).
        Assert.True(net.Sim.Now - start >= Duration.FromMilliseconds(150), $"took {(net.Sim.Now - start).TotalMilliseconds} ms");
        Assert.Equal(0, tcp.ClientSock.RmemAlloc);
        Assert.Equal(0, tcp.ServerSock.RmemAlloc);
        tcp.Close();
    }

    private static (double Goodput, Transport.Tcp.TcpSock Sender) Run(ulong? rate)
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 10_000_000_000, Propagation = Duration.FromMicroseconds(20) }, trackAllocations: false);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5800, configureClient: (s, fd) =>
        {
            if (rate is { } r) Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_MAX_PACING_RATE, (int)(uint)r));
        });
        var start = net.Sim.Now;
        var chunk = new byte[65536];
        var buf = new byte[1 << 20];
        long counted = 0;
        while (net.Sim.Now < start + Duration.FromSeconds(4))
        {
            while (tcp.A.Write(tcp.Client, chunk) > 0) { }
            int n;
            while ((n = tcp.B.Read(tcp.Server, buf)) > 0)
            {
                var t = net.Sim.Now - start;
                if (t >= Duration.FromSeconds(1)) counted += n;
            }
            net.RunFor(Duration.FromMicroseconds(200));
        }
        var sk = tcp.ClientSock;
        tcp.A.Close(tcp.Client);
        tcp.B.Close(tcp.Server);
        net.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
        return (counted / 3.0, sk);
    }

    private sealed record Linux(double Goodput, ulong PacingRate, ulong MaxPacingRate);

    private static Linux LinuxRun(ulong rate)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "max-pacing-rate.json")));
        foreach (var r in doc.RootElement.GetProperty("runs").EnumerateArray())
            if (r.GetProperty("max_pacing_rate").GetUInt64() == rate)
                return new Linux(r.GetProperty("goodput_bytes_per_s").GetDouble(), r.GetProperty("tcpi_pacing_rate").GetUInt64(), r.GetProperty("tcpi_max_pacing_rate").GetUInt64());
        throw new InvalidOperationException($"no Linux run at {rate} B/s");
    }
}
