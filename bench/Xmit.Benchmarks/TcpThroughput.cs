using System.Diagnostics;
using System.Globalization;
using Xmit.Link.Drivers;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Benchmarks;

/// <summary>
/// In-process TCP bulk throughput: wall-clock goodput and segments per second of a 1 GB transfer between two
/// simulated hosts, over a veth pair (TSO and checksum offload: what iperf3 over veth measures in Linux) and over
/// a 100 Gbit/s ring NIC without offloads (software GSO and checksums). Compare as ratios within one run.
/// </summary>
public static class TcpThroughput
{
    public static void Run(TextWriter o, long bytes = 1L << 30)
    {
        foreach (bool veth in new[] { true, false })
        {
            var (seconds, segments) = Transfer(veth, bytes);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(veth ? "veth (TSO + checksum offload)" : "ring NIC 100 Gbit/s (offloads off)"),-36}: {bytes * 8 / seconds / 1e9,6:0.00} Gbit/s wall, {segments / seconds / 1e6,5:0.00} M segments/s ({bytes >> 20} MiB in {seconds:0.00} s)"));
        }
    }

    private static (double Seconds, long Segments) Transfer(bool veth, long bytes)
    {
        var net = new BenchNet(new LinkConfig { RateBitsPerSecond = 100_000_000_000, Propagation = Duration.FromMicroseconds(10) },
            new RingDriverConfig { RingSize = 1024, WakeThreshold = 256 }, veth);
        using var sim = net.Sim;
        var (a, sa, sb) = (net.A, net.SysA, net.SysB);
        var (client, server) = net.OpenTcp(5201);
        var chunk = new byte[128 * 1024];
        var sink = new byte[256 * 1024];
        long segments0 = a.Tcp.Mib.OutSegs;
        long received = 0, written = 0;
        var sw = Stopwatch.StartNew();
        while (received < bytes)
        {
            while (written < bytes)
            {
                int n = sa.Write(client, chunk.AsSpan(0, (int)Math.Min(chunk.Length, bytes - written)));
                if (n <= 0) break;
                written += n;
            }
            sim.RunFor(Duration.FromMicroseconds(20));
            int r;
            while ((r = sb.Read(server, sink)) > 0) received += r;
        }
        sw.Stop();
        long segments = a.Tcp.Mib.OutSegs - segments0;
        sim.Shutdown();
        return (sw.Elapsed.TotalSeconds, segments);
    }
}
