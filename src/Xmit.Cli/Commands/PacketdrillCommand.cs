using System.CommandLine;
using System.Text.Json;
using Xmit.Packetdrill;

namespace Xmit.Cli.Commands;

/// <summary>`xmit packetdrill`: run packetdrill scripts against the stack in virtual time.</summary>
public static class PacketdrillCommand
{
    public static Command Create()
    {
        var scripts = new Argument<FileInfo[]>("script") { Description = "Scripts to run", Arity = ArgumentArity.ZeroOrMore };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var pcap = CliOptions.OutputFile("--pcap", "Write the traffic of a single script to this pcap file");
        var verbose = new Option<bool>("--verbose") { Description = "Trace every event and every packet sent as it runs" };
        var corpus = new Option<DirectoryInfo?>("--corpus") { Description = "Run every *.pkt below this directory" };
        var report = CliOptions.OutputFile("--report", "With --corpus: write the tally by directory and by reason to this file");
        var cmd = new Command("packetdrill", "Run packetdrill scripts against Xmit in deterministic virtual time (PASS / FAIL / UNSUPPORTED)")
        {
            scripts, json, pcap, verbose, corpus, report,
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
            if (r.GetValue(corpus) is { } dir)
            {
                if (!dir.Exists) return Fail($"--corpus {dir.FullName}: no such directory");
                files.AddRange(dir.EnumerateFiles("*.pkt", SearchOption.AllDirectories).OrderBy(f => f.FullName, StringComparer.Ordinal));
            }
            if (files.Count == 0) return Fail("no scripts: give script paths or --corpus DIR");
            if (r.GetValue(pcap) is not null && files.Count != 1) return Fail("--pcap needs exactly one script");
            var results = new List<ScriptResult>();
            foreach (var f in files)
            {
                if (!f.Exists) return Fail($"{f.FullName}: no such file");
                results.Add(RunOne(f, r.GetValue(pcap), r.GetValue(verbose) ? o : null));
            }
            if (r.GetValue(json))
                o.WriteLine(JsonSerializer.Serialize(results.Select(x => new { x.Path, Status = x.Status.ToString().ToUpperInvariant(), x.Reason, x.Line, x.Expected, x.Actual, x.AtSeconds }),
                    SimFloodCommand.JsonOptions));
            else foreach (var x in results) o.WriteLine(x);
            if (r.GetValue(report) is { } reportFile) File.WriteAllText(reportFile.FullName, Tally(results, r.GetValue(corpus)?.FullName));
            if (r.GetValue(corpus) is not null && !r.GetValue(json)) o.WriteLine(Tally(results, r.GetValue(corpus)!.FullName));
            return results.All(x => x.Status == ScriptStatus.Pass) ? 0 : 1;
        });
        return cmd;
    }

    private static ScriptResult RunOne(FileInfo file, FileInfo? pcap, TextWriter? trace)
    {
        var (script, error) = ScriptParser.ParseFile(file.FullName);
        if (script is null) return new ScriptResult(file.FullName, ScriptStatus.Fail, "syntax error: " + error!.Message, error.Line);
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
