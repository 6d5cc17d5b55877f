using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Xmit.Fuzz;

namespace Xmit.Cli.Commands;

/// <summary>
/// `xmit fuzz rx` and `xmit fuzz syscalls`: the fuzzers the tests run for seconds, for as long as asked. They print
/// what they did and found (exceptions, broken invariants, leaks, peak managed memory, rate); the first exception's
/// stack trace and the first violation and leak go to a file. Exit 0 when nothing was found, 1 otherwise.
/// </summary>
public static class FuzzCommand
{
    public static Command Create()
    {
        var fuzz = new Command("fuzz", "Fuzz the stack: mutated frames into a host with live sockets (rx), or random system calls on two hosts (syscalls)");
        fuzz.Subcommands.Add(Rx());
        fuzz.Subcommands.Add(Syscalls());
        return fuzz;
    }

    private static Command Rx()
    {
        var frames = CliOptions.Long("--frames", "-n", "Frames to inject", 100_000, 1, 10_000_000_000);
        var epoch = CliOptions.Long("--epoch", "-e", "Frames per network: each ends with the legitimate stream checked and a leak check", 50_000, 100, 10_000_000_000);
        var seed = CliOptions.Seed();
        var report = ReportFile();
        var track = new Option<bool>("--track-allocations") { Description = "Record where each skb was rented, so a leak names its allocation site (slow)" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also print frames built and mutations applied, by kind" };
        var json = JsonOption();
        var cmd = new Command("rx", "Inject valid frames of every protocol (ARP, IPv4 with options and fragments, ICMP, UDP, TCP with options), mutated from the seed, into a host with a bound UDP socket, a listener, an established connection and fragments in reassembly")
        {
            frames, seed, epoch, report, track, verbose, json,
        };
        cmd.SetAction(r =>
        {
            var o = new RxFuzzOptions { Frames = r.GetValue(frames), Seed = r.GetValue(seed), FramesPerEpoch = r.GetValue(epoch), TrackAllocations = r.GetValue(track) };
            var output = r.InvocationConfiguration.Output;
            return Finish(RxFuzzer.Run(o, Progress(r.GetValue(json) ? TextWriter.Null : output, "frames")), "frames", r.GetValue(report), r.GetValue(verbose), output, r.GetValue(json));
        });
        return cmd;
    }

    private static Command Syscalls()
    {
        var calls = CliOptions.Long("--calls", "-n", "System calls to make", 100_000, 1, 10_000_000_000);
        var epoch = CliOptions.Long("--epoch", "-e", "Calls per network: each ends with every descriptor closed, the timers run out and a leak check", 20_000, 100, 10_000_000_000);
        var seed = CliOptions.Seed();
        var report = ReportFile();
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also print the calls made and the results they returned, by kind" };
        var json = JsonOption();
        var cmd = new Command("syscalls", "Random socket, bind, connect, listen, accept, send, recv, setsockopt, shutdown, close, poll and epoll calls with random (also invalid) arguments on two hosts exchanging packets; only errno results are allowed")
        {
            calls, seed, epoch, report, verbose, json,
        };
        cmd.SetAction(r =>
        {
            var o = new SyscallFuzzOptions { Calls = r.GetValue(calls), Seed = r.GetValue(seed), CallsPerEpoch = r.GetValue(epoch) };
            var output = r.InvocationConfiguration.Output;
            return Finish(SyscallFuzzer.Run(o, Progress(r.GetValue(json) ? TextWriter.Null : output, "calls")), "calls", r.GetValue(report), r.GetValue(verbose), output, r.GetValue(json));
        });
        return cmd;
    }

    private static Option<bool> JsonOption() =>
        new("--json") { Description = "Print the summary and the tally of what was built and returned as JSON instead of text" };

    /// <summary>`--json`: what the text summary says, and the whole tally.</summary>
    private sealed record FuzzJson(string Kind, ulong Seed, string Unit, long Count, int Epochs, double RatePerSecond, double ElapsedSeconds,
        long Exceptions, long Violations, long Leaks, bool Clean, long PeakManagedBytes, string? Details, IReadOnlyDictionary<string, long> Tally);

    private static Option<FileInfo?> ReportFile() =>
        CliOptions.OutputFile("--report", "Where the first exception's stack trace and the first violation and leak are written when there are any (default xmit-fuzz-KIND-SEED.txt)");

    /// <summary>A line every ten seconds, so a long run shows it is alive.</summary>
    private static Action<FuzzReport> Progress(TextWriter o, string unit)
    {
        var last = Stopwatch.StartNew();
        return r =>
        {
            if (last.Elapsed < TimeSpan.FromSeconds(10)) return;
            last.Restart();
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  … {r.Count:N0} {unit}, {r.Rate:N0}/s, exceptions {r.Exceptions}, violations {r.Violations}, leaks {r.Leaks}, peak {r.PeakManagedBytes / (1024.0 * 1024):0.0} MiB"));
        };
    }

    private static int Finish(FuzzReport r, string unit, FileInfo? file, bool verbose, TextWriter o, bool json = false)
    {
        var text = json ? TextWriter.Null : o;
        text.WriteLine(r.Summary(unit));
        if (verbose) text.WriteLine(r.TallyText());
        string? path = r.Clean ? null : file?.FullName ?? Path.GetFullPath($"xmit-fuzz-{r.Kind}-{r.Seed}.txt");
        if (json)
            o.WriteLine(System.Text.Json.JsonSerializer.Serialize(new FuzzJson(r.Kind, r.Seed, unit, r.Count, r.Epochs, r.Rate, r.Elapsed.TotalSeconds,
                r.Exceptions, r.Violations, r.Leaks, r.Clean, r.PeakManagedBytes, path, r.Tally), SimFloodCommand.JsonOptions));
        if (path is null) return 0;
        File.WriteAllText(path, string.Join("\n\n", new[]
        {
            r.Summary(unit),
            r.FirstException is null ? null : "first exception:\n" + r.FirstException,
            r.FirstViolation is null ? null : "first violation:\n" + r.FirstViolation,
            r.FirstLeak is null ? null : "first leak:\n" + r.FirstLeak,
        }.Where(s => s is not null)) + "\n");
        text.WriteLine($"details: {path}");
        return 1;
    }
}
