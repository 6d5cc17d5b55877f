using System.CommandLine;
using System.CommandLine.Help;

namespace Xmit.Cli;

/// <summary>
/// `--help` that a person can read: a command with many options lists them in groups — its own first, then the link,
/// the device and driver, the qdisc, the wire faults, and the output — rather than one column of forty lines.
/// </summary>
public static class GroupedHelp
{
    /// <summary>Fewer options than this are listed as System.CommandLine lists them.</summary>
    private const int GroupAbove = 12;

    private static readonly (string Title, string[] Names)[] Groups =
    [
        ("Link", ["--rate", "--delay", "--loss", "--mtu", "--tx-queues"]),
        ("Device and driver", ["--txqueuelen", "--ring", "--tx-usecs", "--tx-frames", "--rx-ring", "--rx-usecs", "--rx-frames", "--rx-cost",
            "--netdev-budget", "--netdev-budget-usecs", "--netdev-max-backlog", "--bql", "--bql-limit-max", "--tso"]),
        ("Qdisc", ["--qdisc", "--limit", "--tbf-rate", "--burst", "--peakrate", "--tbf-mtu"]),
        ("Wire faults", ["--reorder", "--reorder-delay", "--duplicate", "--corrupt", "--jitter", "--loss-burst", "--ce-mark"]),
        ("Output", ["--json", "--html", "--pcap", "--trace", "--seed", "--help"]),
    ];

    /// <summary>Makes the root's help option print grouped options for every command that has many.</summary>
    public static void Install(RootCommand root)
    {
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new GroupedHelpAction((HelpAction)help.Action!);
    }

    /// <summary>The command's options and the recursive ones of its parents, as the default help lists them.</summary>
    private static List<Option> Options(Command command)
    {
        var seen = new List<Option>();
        foreach (var o in command.Options.Where(o => !o.Hidden && !seen.Contains(o))) seen.Add(o);
        for (var p = command.Parents.OfType<Command>().FirstOrDefault(); p is not null; p = p.Parents.OfType<Command>().FirstOrDefault())
            foreach (var o in p.Options.Where(o => o.Recursive && !o.Hidden && !seen.Contains(o))) seen.Add(o);
        return seen;
    }

    /// <summary>System.CommandLine's own help for short option lists; for long ones the same sections with the options grouped.</summary>
    private sealed class GroupedHelpAction(HelpAction standard) : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            var command = parseResult.CommandResult.Command;
            var options = Options(command);
            if (options.Count <= GroupAbove) return standard.Invoke(parseResult);
            var o = parseResult.InvocationConfiguration.Output;
            o.WriteLine("Description:");
            o.WriteLine("  " + command.Description);
            o.WriteLine();
            o.WriteLine("Usage:");
            var path = string.Join(' ', Path(command).Reverse());
            o.WriteLine($"  {path}{(command.Subcommands.Count > 0 ? " [command]" : "")}{string.Concat(command.Arguments.Select(a => $" <{a.Name}>"))} [options]");
            var grouped = Groups.SelectMany(g => g.Names).ToHashSet();
            var sections = new List<(string Title, List<Option> Options)> { ("Options", options.Where(x => !grouped.Contains(x.Name)).ToList()) };
            foreach (var (title, names) in Groups) sections.Add((title, options.Where(x => names.Contains(x.Name)).ToList()));
            foreach (var (title, list) in sections.Where(x => x.Options.Count > 0))
            {
                o.WriteLine();
                o.WriteLine(title + ":");
                Columns(o, list.Select(x => (Label(x), Description(x))));
            }
            if (command.Subcommands.Count > 0)
            {
                o.WriteLine();
                o.WriteLine("Commands:");
                Columns(o, command.Subcommands.Where(c => !c.Hidden).Select(c => (c.Name + string.Concat(c.Arguments.Select(a => $" <{a.Name}>")), c.Description ?? "")));
            }
            return 0;
        }

        private static IEnumerable<string> Path(Command c)
        {
            for (Command? p = c; p is not null; p = p.Parents.OfType<Command>().FirstOrDefault())
                yield return p is RootCommand ? "xmit" : p.Name;
        }

        /// <summary>"-m, --mtu &lt;mtu&gt;": short aliases first, then the name, then the value's label unless it is a flag.</summary>
        private static string Label(Option option)
        {
            if (option is HelpOption) return "-?, -h, --help";
            var names = option.Aliases.Append(option.Name).Distinct().OrderBy(n => n.StartsWith("--", StringComparison.Ordinal) ? 1 : 0).ThenBy(n => n.Length);
            string label = string.Join(", ", names);
            if (option.ValueType != typeof(bool)) label += $" <{option.HelpName ?? option.Name.TrimStart('-')}>";
            return label;
        }

        private static string Description(Option option)
        {
            var d = option.Description ?? "";
            if (option.HasDefaultValue && option.ValueType != typeof(bool) && option.GetDefaultValue() is { } v)
                d += $" [default: {Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)}]";
            return d;
        }

        private static void Columns(TextWriter o, IEnumerable<(string Left, string Right)> rows)
        {
            var list = rows.ToList();
            int width = list.Max(r => r.Left.Length) + 2;
            foreach (var (left, right) in list) o.WriteLine("  " + left.PadRight(width) + right);
        }
    }
}
