using System.Diagnostics;
using Xmit.Time;

namespace Xmit.Fuzz;

public sealed record RxFuzzOptions
{
    public long Frames { get; init; } = 10_000;
    public ulong Seed { get; init; } = 1;

    /// <summary>Frames per network: each epoch ends with the legitimate stream checked and a leak check, then a fresh network.</summary>
    public long FramesPerEpoch { get; init; } = 50_000;

    /// <summary>Frames injected between two runs of the clock (and invariant checks).</summary>
    public int Batch { get; init; } = 32;

    /// <summary>Virtual time each batch runs for.</summary>
    public Duration BatchTime { get; init; } = Duration.FromMilliseconds(2);

    /// <summary>Record where each skb was rented, so a leak names its allocation site (slow).</summary>
    public bool TrackAllocations { get; init; }
}

/// <summary>
/// The RX-path mutation fuzzer: valid frames built against T's live state, mutated from the seed, handed to T's
/// device batch by batch while the honest traffic goes on. After each batch nothing may have thrown and T's
/// memory must be within its bounds; at the end of each epoch the legitimate stream must have arrived byte for
/// byte and, with everything closed and the timers run out, nothing may be left.
/// </summary>
public static class RxFuzzer
{
    public static FuzzReport Run(RxFuzzOptions o, Action<FuzzReport>? progress = null)
    {
        var report = new FuzzReport("rx", o.Seed);
        var clock = Stopwatch.StartNew();
        var random = new DeterministicRandom(o.Seed);
        var frame = new Frame();
        while (report.Count < o.Frames)
        {
            ulong epochSeed = random.NextUInt64();
            report.Epochs++;
            RunEpoch(o, report, epochSeed, Math.Min(o.FramesPerEpoch, o.Frames - report.Count), frame, progress, clock);
        }
        report.Elapsed = clock.Elapsed;
        return report;
    }

    private static void RunEpoch(RxFuzzOptions o, FuzzReport report, ulong seed, long frames, Frame frame, Action<FuzzReport>? progress, Stopwatch clock)
    {
        RxTarget target;
        try { target = new RxTarget(seed, o.TrackAllocations); }
        catch (Exception e) when (e is FuzzSetupException) { report.Violation($"epoch {report.Epochs}: {e.Message}"); report.Count += frames; return; }
        using var _ = target;
        var random = new DeterministicRandom(seed ^ 0x5EED);
        var factory = new FrameFactory(target, random.Fork(1));
        var mutator = new FrameMutator(random.Fork(2));
        long done = 0;
        int batches = 0;
        string context = "";
        try
        {
            while (done < frames)
            {
                int n = (int)Math.Min(o.Batch, frames - done);
                for (int i = 0; i < n; i++)
                {
                    factory.Build(frame);
                    mutator.Mutate(frame);
                    context = $"epoch {report.Epochs} seed {seed}, frame {done + i} of the epoch ({frame.Kind}, {frame.Length} bytes): {Convert.ToHexString(frame.Span)}";
                    target.Inject(frame);
                }
                done += n;
                report.Count += n;
                context = $"epoch {report.Epochs} seed {seed}, running the clock after frame {done}";
                target.Step(o.BatchTime);
                Check(target, report);
                if (++batches % 64 == 0)
                {
                    report.PeakManagedBytes = Math.Max(report.PeakManagedBytes, GC.GetTotalMemory(false));
                    report.Elapsed = clock.Elapsed;
                    progress?.Invoke(report);
                }
            }
            context = $"epoch {report.Epochs} seed {seed}, finishing";
            foreach (var p in target.Finish()) report.Leak($"epoch {report.Epochs} seed {seed}: {p}");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The network's state is unknown after an exception: count it, skip the rest of the epoch, start afresh.
            report.Exception(e, context);
            report.Count += frames - done;
        }
        report.Add(factory.Built, "frame ");
        report.Add(mutator.Applied, "mutation ");
        report.Add("victim connections", target.VictimsOpened);
        report.Add("ip ReasmOKs", target.T.Mib.Ip.ReasmOKs);
        report.Add("ip ReasmFails", target.T.Mib.Ip.ReasmFails);
        report.Add("legit bytes P→T", target.ToT.Read);
        report.Add("legit bytes T→P", target.ToP.Read);
        report.PeakManagedBytes = Math.Max(report.PeakManagedBytes, GC.GetTotalMemory(false));
    }

    /// <summary>T's bounds after a batch: memory charges never negative or runaway, tables within their limits, the checked stream intact.</summary>
    private static void Check(RxTarget t, FuzzReport report)
    {
        var host = t.T;
        Invariants.Check(host, report, maxSkbs: 50_000);
        if (host.Tcp.Sockets.Count > 2048) report.Violation($"{host.Tcp.Sockets.Count} TCP sockets on T");
        if (t.ToT.FirstMismatch >= 0 || t.ToP.FirstMismatch >= 0)
            report.Violation($"legitimate stream corrupted at byte {t.ToT.FirstMismatch} (P→T) / {t.ToP.FirstMismatch} (T→P)");
    }
}
