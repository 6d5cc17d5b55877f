using System.Text.Json;
using Xmit.Sockets.Api;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// An unanswered SYN on Linux 6.18 (scripts/linux-syn-linear-timeouts.sh → Data/linux-truth/syn-linear-timeouts.json):
/// with tcp_syn_linear_timeouts 4 the first four RTOs stay at 1 s and later ones double, TCP_SYNCNT + 4
/// retransmissions are allowed, and the exponential model's time bound still ends TCP_SYNCNT 1 after three SYNs.
/// Both fire their timers late by up to their timer-wheel level's granularity (32 ms for a 1 s RTO at HZ=250, 2.048 s
/// for the 32 s one), by how far the expiry falls from a granule's end — which depends on the jiffies at the SYN, a
/// different value in every run: each Linux interval must be within that granularity (and a tick) of Xmit's — far
/// inside the factor of two that separates a linear RTO from a doubled one.
/// </summary>
public class SynLinearTimeoutTests
{
    public static TheoryData<int> Runs() => [1, 3, 6];

    [Theory]
    [MemberData(nameof(Runs))]
    public void An_unanswered_SYN_is_resent_and_given_up_as_on_Linux(int syncnt)
    {
        var run = LinuxRun(syncnt);
        using var net = new TwoHosts(new LinkConfig { LossRate = 1.0 });
        net.A.Neighbours.AddPermanent(net.DevA, TwoHosts.AddrB, net.DevB.Mac);
        var s = new Syscalls(net.A);
        int fd = s.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, SockOpt.TCP_SYNCNT, syncnt));
        var sk = ((TcpSocketFile)s.File(fd)!).Sk;
        var start = net.Sim.Now;
        Assert.Equal(-(int)Errno.EINPROGRESS, s.Connect(fd, new SockAddrIn(TwoHosts.AddrB, 80)));
        var synTimes = new List<double> { 0 };
        long segs = net.A.Tcp.Mib.OutSegs;
        double? gaveUp = null;
        for (int ms = 1; ms <= 200_000 && gaveUp is null; ms++)
        {
            net.Sim.RunUntil(start + Duration.FromMilliseconds(ms));
            if (net.A.Tcp.Mib.OutSegs != segs) synTimes.Add(ms / 1000.0);
            segs = net.A.Tcp.Mib.OutSegs;
            if (sk.State == TcpState.Close) gaveUp = ms / 1000.0;
        }
        Assert.Equal(run.SynTimes.Length, synTimes.Count);
        for (int i = 1; i < synTimes.Count; i++) AssertInterval(net, synTimes[i] - synTimes[i - 1], run.SynTimes[i] - run.SynTimes[i - 1], $"SYN {i}");
        Assert.NotNull(gaveUp);
        AssertInterval(net, gaveUp.Value - synTimes[^1], run.GaveUpAt - run.SynTimes[^1], "ETIMEDOUT");
        Assert.Equal(0, s.GetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_ERROR, out int err));
        Assert.Equal(run.Errno, err);
        s.Close(fd);
    }

    private static void AssertInterval(TwoHosts net, double xmit, double linux, string what)
    {
        var j = net.A.Jiffies;
        double slack = (j.Granularity(Duration.FromSeconds(xmit)) + j.Tick).Nanoseconds / 1e9 + 0.002;
        Assert.True(Math.Abs(linux - xmit) <= slack, $"{what}: {xmit:F3} s after the previous event, Linux {linux:F3} s (within {slack:F3} s)");
    }

    private sealed record Run(double[] SynTimes, int Errno, double GaveUpAt);

    private static Run LinuxRun(int syncnt)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "syn-linear-timeouts.json")));
        Assert.Equal(4, doc.RootElement.GetProperty("tcp_syn_linear_timeouts").GetInt32()); // Xmit's default
        foreach (var r in doc.RootElement.GetProperty("runs").EnumerateArray())
        {
            if (r.GetProperty("syncnt").GetInt32() != syncnt) continue;
            var connect = r.GetProperty("connect").GetString()!.Split(' ');
            return new Run([.. r.GetProperty("syn_times").EnumerateArray().Select(t => t.GetDouble())],
                int.Parse(connect[0], System.Globalization.CultureInfo.InvariantCulture),
                double.Parse(connect[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        throw new InvalidOperationException($"no Linux run for TCP_SYNCNT {syncnt}");
    }
}
