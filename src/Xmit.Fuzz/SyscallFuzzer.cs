using System.Diagnostics;
using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Fuzz;

public sealed record SyscallFuzzOptions
{
    public long Calls { get; init; } = 10_000;
    public ulong Seed { get; init; } = 1;

    /// <summary>Calls per network: each epoch ends with every descriptor closed, the timers run out and a leak check.</summary>
    public long CallsPerEpoch { get; init; } = 20_000;
}

/// <summary>
/// The random-syscall fuzzer: two hosts on a link, each a process making random calls through the syscall
/// façade with random (often invalid) arguments while virtual time advances and packets flow. Every call must
/// return a count or an errno — never throw; memory charges must stay sane; and once every descriptor is closed
/// and the timers have run out, no socket, skb or charged byte may be left.
/// </summary>
public static class SyscallFuzzer
{
    public static FuzzReport Run(SyscallFuzzOptions o, Action<FuzzReport>? progress = null)
    {
        var report = new FuzzReport("syscalls", o.Seed);
        var clock = Stopwatch.StartNew();
        var random = new DeterministicRandom(o.Seed);
        while (report.Count < o.Calls)
        {
            ulong epochSeed = random.NextUInt64();
            report.Epochs++;
            RunEpoch(report, epochSeed, Math.Min(o.CallsPerEpoch, o.Calls - report.Count), progress, clock);
        }
        report.Elapsed = clock.Elapsed;
        return report;
    }

    private static void RunEpoch(FuzzReport report, ulong seed, long calls, Action<FuzzReport>? progress, Stopwatch clock)
    {
        using var sim = new Simulation.Simulation(seed);
        var a = sim.AddHost("A");
        var b = sim.AddHost("B");
        sim.Connect(a, new Ipv4Address(198, 18, 0, 1), b, new Ipv4Address(198, 18, 0, 2), 24);
        var caller = new SyscallCaller(sim, [new Syscalls(a), new Syscalls(b)], new DeterministicRandom(seed ^ 0xCA11));
        long done = 0;
        try
        {
            for (; done < calls; done++)
            {
                caller.One();
                report.Count++;
                if (done % 256 == 255)
                {
                    Check(sim, report);
                    report.PeakManagedBytes = Math.Max(report.PeakManagedBytes, GC.GetTotalMemory(false));
                    report.Elapsed = clock.Elapsed;
                    progress?.Invoke(report);
                }
            }
            var sockets = RxTarget.Sockets(sim);
            caller.CloseAll();
            foreach (var p in RxTarget.Drained(sim, sockets)) report.Leak($"epoch {report.Epochs} seed {seed}: {p}\nlast calls:\n{caller.Recent}");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            report.Exception(e, $"epoch {report.Epochs} seed {seed}, call {done} of the epoch; last calls (newest last):\n{caller.Recent}");
            report.Count += calls - done;
        }
        report.Add(caller.Results, "");
        report.PeakManagedBytes = Math.Max(report.PeakManagedBytes, GC.GetTotalMemory(false));
    }

    private static void Check(Simulation.Simulation sim, FuzzReport report)
    {
        foreach (var h in sim.Hosts) Invariants.Check(h, report, maxSkbs: 100_000);
    }
}
