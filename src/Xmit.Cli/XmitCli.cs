using System.CommandLine;
using System.CommandLine.Help;
using System.Text.RegularExpressions;
using Xmit.Cli.Commands;

namespace Xmit.Cli;

/// <summary>
/// The whole command line: builds the commands and runs one. Every parse error (unknown option, missing value,
/// a value out of range, an unwritable output path) is reported the same way: one line on stderr, nothing on
/// stdout, exit code 2. `--help` prints help on stdout and exits 0.
/// </summary>
public static partial class XmitCli
{
    public const int UsageError = 2;

    public static RootCommand Build()
    {
        var seed = CliOptions.Seed();
        var pcap = CliOptions.Pcap();
        var trace = CliOptions.Trace();

        var sim = new Command("sim", "Run hosts on simulated links in deterministic virtual time. With no subcommand: host A floods host B with UDP and the report explains every EAGAIN") { seed, pcap, trace };
        SimFloodCommand.Configure(sim, seed, pcap, trace);
        sim.Subcommands.Add(SimPingCommand.Create(seed, pcap, trace));
        sim.Subcommands.Add(SimTcpCommand.Create(seed, pcap, trace));

        var root = new RootCommand("xmit: a user-space TCP/UDP/IPv4 stack whose transmit path behaves like Linux's");
        root.Subcommands.Add(sim);
        root.Subcommands.Add(TapCommand.Create(seed, pcap, trace));
        root.Subcommands.Add(PacketdrillCommand.Create());
        root.Subcommands.Add(FuzzCommand.Create());
        GroupedHelp.Install(root);
        return root;
    }

    /// <summary>Runs the command line <paramref name="args"/>, writing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var parse = Build().Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            error.WriteLine($"{CommandPath(parse)}: {Describe(parse.Errors[0].Message, parse)}");
            return UsageError;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Never a stack trace: one line naming what went wrong.
            error.WriteLine($"{CommandPath(parse)}: {OneLine(e.Message)}");
            return 1;
        }
    }

    /// <summary>"xmit sim ping" for the command being parsed.</summary>
    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null && r.Command is not RootCommand; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, r.Command.Name);
        return string.Join(' ', ["xmit", .. names]);
    }

    /// <summary>System.CommandLine's own messages, reworded as one line without .NET type names.</summary>
    private static string Describe(string message, ParseResult parse)
    {
        message = OneLine(message);
        if (UnrecognizedRegex().Match(message) is { Success: true } u)
            return u.Groups[1].Value.StartsWith('-')
                ? $"unknown option '{u.Groups[1].Value}' (see --help for the options)"
                : $"unexpected argument '{u.Groups[1].Value}' (see --help)";
        if (MissingForOptionRegex().Match(message) is { Success: true } m)
        {
            if (m.Groups[1].Value.StartsWith('-')) return $"{m.Groups[1].Value} needs a value";
            var wanted = string.Join(' ', parse.CommandResult.Command.Arguments.Select(a => a.Name));
            return $"missing argument {wanted} (see --help)";
        }
        if (CannotParseRegex().Match(message) is { Success: true } c)
            return $"{c.Groups[2].Value} must be {TypeName(c.Groups[3].Value)}, not '{c.Groups[1].Value}'";
        return message;
    }

    private static string TypeName(string type) => type switch
    {
        var t when t.Contains("Int", StringComparison.Ordinal) => "an integer",
        var t when t.Contains("Double", StringComparison.Ordinal) || t.Contains("Single", StringComparison.Ordinal) => "a number",
        var t when t.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ => "a valid value",
    };

    private static string OneLine(string s)
    {
        var line = s.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return line.Length == 0 ? "error" : string.Join(' ', line);
    }

    [GeneratedRegex(@"^Unrecognized command or argument '(.*)'\.?$")]
    private static partial Regex UnrecognizedRegex();

    [GeneratedRegex(@"^Required argument missing for (?:option|command): '(.*)'\.?$")]
    private static partial Regex MissingForOptionRegex();

    [GeneratedRegex(@"^Cannot parse argument '(.*)' for (?:option|command|argument) '(.*)' as expected type '?([^']*)'?\.?$")]
    private static partial Regex CannotParseRegex();
}
