using System.Text.Json;
using Xmit.Link.Qdiscs;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// Bulk TCP (cubic) from A to B over a veth whose root qdisc is `tbf rate 100mbit burst 15140 limit 4000000`,
/// against Linux 6.18 measured the same way by scripts/linux-tcp-bulk-growth.sh (linux-truth/tcp-bulk-growth.json):
/// the steady state (medians of 50 ms samples from 2 s on) of the bytes TSQ lets sit below TCP, and the send buffer
/// autotuning makes per cwnd segment. Not cwnd itself: this one run's 160 is one of many that Linux's cwnd takes here
/// (106 to 309 over the runs of TcpTbfGsoTests, higher the busier the machine), compared there with their range.
/// </summary>
public class TcpBulkGrowthTests
{
    private static readonly JsonElement Linux = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "tcp-bulk-growth.json"))).RootElement
        .GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("summary").GetProperty("congestion_control").GetString() == "cubic")
        .GetProperty("summary").GetProperty("steady_state_medians_t_ge_2s");

    private static double Median(List<long> v)
    {
        v.Sort();
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2.0;
    }

    [Fact]
    public void Steady_state_through_a_100_mbit_tbf_is_linuxs()
    {
        using var sim = new Simulation.Simulation(1);
        var a = sim.AddHost("A");
        var b = sim.AddHost("B");
        var link = sim.ConnectVeth(a, TwoHosts.AddrA, b, TwoHosts.AddrB, 24);
        link.DeviceA.SetRootQdisc(new TbfQdisc(sim.Scheduler, new TbfConfig(100_000_000, 15140, 4_000_000)));
        var tcp = TcpConnection.Open(sim, a, b, TwoHosts.AddrB);
        var sk = tcp.ClientSock;
        var chunk = new byte[65536];
        var buf = new byte[65536];
        var cwnd = new List<long>();
        var sndbuf = new List<long>();
        var walloc = new List<long>();
        var start = sim.Now;
        var next = start + Duration.FromSeconds(2);
        while (sim.Now < start + Duration.FromSeconds(5))
        {
            tcp.A.Write(tcp.Client, chunk);
            if (tcp.B.Read(tcp.Server, buf) <= 0) sim.RunFor(Duration.FromMicroseconds(50));
            if (sim.Now < next) continue;
            cwnd.Add(sk.SndCwnd);
            sndbuf.Add(sk.SndBuf);
            walloc.Add(sk.WmemAlloc);
            next += Duration.FromMilliseconds(50);
        }
        void Near(string what, double ours, string field, double tolerance)
        {
            double theirs = Linux.GetProperty(field).GetDouble();
            Assert.True(Math.Abs(ours - theirs) <= tolerance * theirs, $"{what}: Xmit {ours}, Linux {theirs} (±{tolerance:P0})");
        }
        Near("sk_wmem_alloc", Median(walloc), "A_wmem_alloc", 0.10);
        // tcp_sndbuf_expand(): sndbuf follows cwnd, as Linux's does whatever cwnd came to be
        double ours = Median(sndbuf) / Median(cwnd), theirs = Linux.GetProperty("A_sndbuf").GetDouble() / Linux.GetProperty("A_snd_cwnd").GetDouble();
        Assert.True(Math.Abs(ours - theirs) <= 0.10 * theirs, $"sndbuf per cwnd segment: Xmit {ours:F0}, Linux {theirs:F0} (±10 %)");
        tcp.Close();
        sim.Shutdown();
    }
}
