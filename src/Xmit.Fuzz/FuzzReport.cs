using System.Globalization;
using System.Text;

namespace Xmit.Fuzz;

/// <summary>What a fuzz run found: how much it did, the exceptions and the broken invariants and leaks (the first of each kept whole), and its cost.</summary>
public sealed class FuzzReport(string kind, ulong seed)
{
    public string Kind { get; } = kind;
    public ulong Seed { get; } = seed;

    /// <summary>Frames injected (rx) or calls made (syscalls).</summary>
    public long Count { get; set; }

    /// <summary>Networks built: a run starts a fresh one every epoch and after an exception.</summary>
    public int Epochs { get; set; }

    public long Exceptions { get; private set; }
    public string? FirstException { get; private set; }

    /// <summary>Invariants broken after a batch (memory over a bound, a negative charge, the checked stream corrupted).</summary>
    public long Violations { get; private set; }
    public string? FirstViolation { get; private set; }

    /// <summary>What was still held when an epoch ended with everything closed and the timers run out.</summary>
    public long Leaks { get; private set; }
    public string? FirstLeak { get; private set; }

    /// <summary>The most managed memory seen (GC.GetTotalMemory, sampled after each batch).</summary>
    public long PeakManagedBytes { get; set; }

    public TimeSpan Elapsed { get; set; }

    /// <summary>Counts by kind: frames built and mutations applied, or calls made and the errno each returned.</summary>
    public SortedDictionary<string, long> Tally { get; } = new(StringComparer.Ordinal);

    public bool Clean => Exceptions == 0 && Violations == 0 && Leaks == 0;

    public double Rate => Elapsed.TotalSeconds > 0 ? Count / Elapsed.TotalSeconds : 0;

    public void Exception(Exception e, string context)
    {
        Exceptions++;
        FirstException ??= $"{context}\n{e}";
    }

    public void Violation(string what)
    {
        Violations++;
        FirstViolation ??= what;
    }

    public void Leak(string what)
    {
        Leaks++;
        FirstLeak ??= what;
    }

    public void Add(string key, long n = 1) => Tally[key] = Tally.GetValueOrDefault(key) + n;

    public void Add(IReadOnlyDictionary<string, long> counts, string prefix)
    {
        foreach (var (k, v) in counts) Add(prefix + k, v);
    }

    /// <summary>A summary for a terminal: one line of totals, then one line per problem found.</summary>
    public string Summary(string unit)
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"xmit fuzz {Kind} seed {Seed}: {Count:N0} {unit} in {Elapsed.TotalSeconds:0.0} s ({Rate:N0}/s), {Epochs} network(s); ");
        s.Append(CultureInfo.InvariantCulture, $"exceptions {Exceptions}, invariant violations {Violations}, leaks {Leaks}; peak managed memory {PeakManagedBytes / (1024.0 * 1024):0.0} MiB");
        if (FirstException is not null) s.Append('\n').Append("first exception: ").Append(FirstException.Split('\n')[0]).Append(" — ").Append(FirstException.Split('\n').ElementAtOrDefault(1));
        if (FirstViolation is not null) s.Append('\n').Append("first violation: ").Append(FirstViolation);
        if (FirstLeak is not null) s.Append('\n').Append("first leak: ").Append(FirstLeak);
        return s.ToString();
    }

    /// <summary>The tally as "key count" lines, for --verbose.</summary>
    public string TallyText() => string.Join('\n', Tally.Select(kv => string.Create(CultureInfo.InvariantCulture, $"  {kv.Key,-40} {kv.Value,12:N0}")));
}
