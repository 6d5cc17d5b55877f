using System.Diagnostics;
using System.Globalization;
using Xmit.Simulation;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Benchmarks;

/// <summary>
/// The throughput harness: simulated packets per wall-clock second for a saturated link, plus the
/// allocation per packet. Compare numbers as ratios within one run: these machines are noisy.
/// </summary>
public static class Throughput
{
    public static void Run(TextWriter o)
    {
        foreach (int payload in new[] { 64, 1472 })
        {
            using var sim = new Simulation.Simulation(1);
            var a = sim.AddHost("A");
            var b = sim.AddHost("B");
            var addrA = new Ipv4Address(198, 18, 0, 1);
            var addrB = new Ipv4Address(198, 18, 0, 2);
            sim.Connect(a, addrA, b, addrB, 24, new LinkConfig { RateBitsPerSecond = 1_000_000_000 });
            var sk = a.Udp.Bind(addrA, 7000);
            var sink = b.Udp.Bind(addrB, 9);
            var data = new byte[payload];
            var buf = new byte[2048];
            var frameTime = new LinkConfig { RateBitsPerSecond = 1_000_000_000 }.SerializationTime(payload + 42);

            void Send(int n)
            {
                for (int i = 0; i < n; i++)
                {
                    a.Udp.SendDatagram(sk, addrA, 7000, addrB, 9, data);
                    sim.RunFor(frameTime); // offered load = line rate
                    while (b.Udp.Receive(sink, buf) is not null) { }
                }
            }

            Send(50_000);
            const int packets = 1_000_000;
            long alloc0 = GC.GetAllocatedBytesForCurrentThread();
            long events0 = sim.Scheduler.EventsRun;
            var t0 = sim.Now;
            var sw = Stopwatch.StartNew();
            Send(packets);
            sw.Stop();
            long alloc = GC.GetAllocatedBytesForCurrentThread() - alloc0;
            double simulated = (sim.Now - t0).TotalSeconds;
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"payload {payload,5} B: {packets / sw.Elapsed.TotalSeconds,12:N0} packets/s wall, {simulated:0.000} s simulated in {sw.Elapsed.TotalSeconds:0.000} s wall ({simulated / sw.Elapsed.TotalSeconds:0.00}x real time), {(sim.Scheduler.EventsRun - events0) / (double)packets:0.0} events/packet, {alloc / (double)packets:0.###} bytes allocated/packet"));
            sim.Shutdown();
        }
    }
}
