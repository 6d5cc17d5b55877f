using System.CommandLine;
using System.Text.Json;
using Xmit.Packetdrill;

namespace Xmit.Cli.Commands;

/// <summary>`xmit packetdrill`: run packetdrill scripts against the stack in virtual time.</summary>
public static class PacketdrillCommand
{
    /// <summary>Where a script named "-" is read from (standard input; tests give a reader of their own).</summary>
    public static Func<TextReader> StandardInput { get; set; } = () => Console.In;

    public static Command Create()
    {
        var scripts = new Argument<FileInfo[]>("script") { Description = "Scripts to run (- reads one from standard input)", Arity = ArgumentArity.ZeroOrMore };
        var ratchet = new Option<FileInfo?>("--ratchet") { Description = "With --corpus: a list of scripts (relative to the corpus) that must PASS; the exit code says whether they all did" };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var pcap = CliOptions.OutputFile("--pcap", "Write the traffic of a single script to this pcap file");
        var verbose = new Option<bool>("--verbose") { Description = "Trace every event and every packet sent as it runs" };
        var corpus = new Option<DirectoryInfo?>("--corpus") { Description = "Run every *.pkt below this directory" };
        var report = CliOptions.OutputFile("--report", "With --corpus: write the tally by directory and by reason to this file");
        var cmd = new Command("packetdrill", "Run packetdrill scripts against Xmit in deterministic virtual time (PASS / FAIL / UNSUPPORTED)")
        {
            scripts, json, pcap, verbose, corpus, report, ratchet,
        };
        cmd.SetAction(r =>
        {
            var o = r.InvocationConfiguration.Output;
            var err = r.InvocationConfiguration.Error;
            int Fail(string message)
            {
                err.WriteLine("xmit packetdrill: " + message);
                return 2;
            }
            var files = (r.GetValue(scripts) ?? []).ToList();
            int named = files.Count;
            if (r.GetValue(corpus) is { } dir)
            {
                if (!dir.Exists) return Fail($"--corpus {dir.FullName}: no such directory");
                files.AddRange(dir.EnumerateFiles("*.pkt", SearchOption.AllDirectories).OrderBy(f => f.FullName, StringComparer.Ordinal));
            }
            if (files.Count == 0) return Fail("no scripts: give script paths or --corpus DIR");
            var ratchetFile = r.GetValue(ratchet);
            if (ratchetFile is not null && r.GetValue(corpus) is null) return Fail("--ratchet needs --corpus DIR");
            if (ratchetFile is not null && !ratchetFile.Exists) return Fail($"--ratchet {ratchetFile.FullName}: no such file");
            if (r.GetValue(pcap) is not null && files.Count != 1) return Fail("--pcap needs exactly one script");
            // Scripts named on the command line are read before any runs: a missing, huge or binary one is an
            // argument error. One found under --corpus that cannot be read is that script's FAIL; the run goes on.
            var texts = new List<(string Path, string? Text, string? Error)>();
            for (int k = 0; k < files.Count; k++)
            {
                var f = files[k];
                bool stdin = f.Name == "-" && f.DirectoryName == Directory.GetCurrentDirectory();
                if (!stdin && !f.Exists) return Fail($"{f.FullName}: no such file");
                string? text = stdin ? ScriptText.TryRead(StandardInput(), out var error) : ReadScript(f, out error);
                if (text is null && k < named) return Fail($"{(stdin ? "-" : f.FullName)}: {error}");
                texts.Add((stdin ? "-" : f.FullName, text, error));
            }
            var results = new List<ScriptResult>();
            foreach (var (path, text, error) in texts)
                results.Add(text is null ? new ScriptResult(path, ScriptStatus.Fail, error!) : RunOne(path, text, r.GetValue(pcap), r.GetValue(verbose) ? o : null));
            if (r.GetValue(json))
                o.WriteLine(JsonSerializer.Serialize(results.Select(x => new { x.Path, Status = x.Status.ToString().ToUpperInvariant(), x.Reason, x.Line, x.Expected, x.Actual, x.AtSeconds }),
                    SimFloodCommand.JsonOptions));
            else foreach (var x in results) o.WriteLine(x);
            if (r.GetValue(report) is { } reportFile) File.WriteAllText(reportFile.FullName, Tally(results, r.GetValue(corpus)?.FullName));
            if (r.GetValue(corpus) is not null && !r.GetValue(json)) o.WriteLine(Tally(results, r.GetValue(corpus)!.FullName));
            else if (results.Count > 1 && !r.GetValue(json)) o.WriteLine(Summary(results));
            if (ratchetFile is not null) return Ratchet(ratchetFile, r.GetValue(corpus)!.FullName, results, o);
            return results.All(x => x.Status == ScriptStatus.Pass) ? 0 : 1;
        });
        return cmd;
    }

    private static string Summary(IReadOnlyCollection<ScriptResult> results) =>
        $"{results.Count(r => r.Status == ScriptStatus.Pass)} pass, {results.Count(r => r.Status == ScriptStatus.Fail)} fail, {results.Count(r => r.Status == ScriptStatus.Unsupported)} unsupported";

    /// <summary>--ratchet: every listed script (a path relative to the corpus a line; # comments) must have passed.</summary>
    private static int Ratchet(FileInfo list, string corpus, List<ScriptResult> results, TextWriter o)
    {
        var byPath = results.ToDictionary(x => Path.GetRelativePath(corpus, x.Path).Replace('\\', '/'), StringComparer.Ordinal);
        var listed = File.ReadLines(list.FullName).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        int broken = 0;
        foreach (var rel in listed)
        {
            if (byPath.TryGetValue(rel, out var x) && x.Status == ScriptStatus.Pass) continue;
            broken++;
            o.WriteLine(x is null ? $"ratchet: {rel} is not in the corpus" : $"ratchet: {rel} did not pass: {x}");
        }
        o.WriteLine(broken == 0 ? $"ratchet: all {listed.Count} listed scripts pass" : $"ratchet: {broken} of {listed.Count} listed scripts did not pass");
        return broken == 0 ? 0 : 1;
    }

    private static string? ReadScript(FileInfo f, out string? error)
    {
        try
        {
            using var stream = f.OpenRead();
            return ScriptText.TryRead(stream, out error);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return null;
        }
    }

    private static ScriptResult RunOne(string path, string text, FileInfo? pcap, TextWriter? trace)
    {
        var (script, error) = ScriptParser.Parse(path, text);
        if (script is null) return new ScriptResult(path, ScriptStatus.Fail, "syntax error: " + error!.Message, error.Line);
        using var capture = pcap?.Create();
        return ScriptRunner.Run(script, TimeSpan.FromSeconds(60), capture, trace);
    }

    /// <summary>Counts by directory and, for UNSUPPORTED, by reason (line numbers left out).</summary>
    public static string Tally(IReadOnlyList<ScriptResult> results, string? root)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"{results.Count(r => r.Status == ScriptStatus.Pass)} pass, {results.Count(r => r.Status == ScriptStatus.Fail)} fail, {results.Count(r => r.Status == ScriptStatus.Unsupported)} unsupported");
        sb.AppendLine("by directory (pass / fail / unsupported):");
        foreach (var g in results.GroupBy(r => Path.GetDirectoryName(root is null ? r.Path : Path.GetRelativePath(root, r.Path)) ?? ".").OrderBy(g => g.Key, StringComparer.Ordinal))
            sb.AppendLine($"  {g.Key,-24} {g.Count(r => r.Status == ScriptStatus.Pass),4} {g.Count(r => r.Status == ScriptStatus.Fail),4} {g.Count(r => r.Status == ScriptStatus.Unsupported),4}");
        sb.AppendLine("unsupported, by reason:");
        foreach (var g in results.Where(r => r.Status == ScriptStatus.Unsupported).GroupBy(r => WithoutLine(r.Reason)).OrderByDescending(g => g.Count()))
            sb.AppendLine($"  {g.Count(),4}  {g.Key}");
        var fails = results.Where(r => r.Status == ScriptStatus.Fail).GroupBy(r => r.Reason).OrderByDescending(g => g.Count()).ToList();
        if (fails.Count > 0)
        {
            sb.AppendLine("fail, by reason:");
            foreach (var g in fails) sb.AppendLine($"  {g.Count(),4}  {g.Key}");
        }
        return sb.ToString();
    }

    private static string WithoutLine(string reason) =>
        reason.StartsWith("line ", StringComparison.Ordinal) && reason.IndexOf(": ", StringComparison.Ordinal) is > 0 and var i ? reason[(i + 2)..] : reason;
}
