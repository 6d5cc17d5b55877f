using System.CommandLine;
using System.Globalization;
using Xmit.Link.Qdiscs;
using Xmit.Time;

namespace Xmit.Cli;

/// <summary>Option factories with parsing and validation, so every command reports bad values the same way.</summary>
public static class CliOptions
{
    public static Option<Duration> Duration(string name, string description, string defaultText)
    {
        var o = new Option<Duration>(name)
        {
            Description = description,
            DefaultValueFactory = _ => DurationText.TryParse(defaultText, out var d, out string _) ? d : default,
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : defaultText;
                if (DurationText.TryParse(text, out var d, out var error)) return d;
                r.AddError($"{name}: {error}");
                return default;
            },
        };
        return o;
    }

    public static Option<long> Rate(string name, string description, string defaultText)
    {
        return new Option<long>(name)
        {
            Description = description + $" (default {defaultText})",
            DefaultValueFactory = _ => TcUnits.ParseRate(defaultText),
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : defaultText;
                if (TcUnits.TryParseRate(text, out var v, out var error)) return v;
                r.AddError($"{name}: {error}");
                return 0;
            },
        };
    }

    public static Option<int> Int(string name, string alias, string description, int defaultValue, int min, int max)
    {
        return new Option<int>(name, alias)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return defaultValue;
                var text = r.Tokens[0].Value;
                if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max) return v;
                r.AddError($"{name} must be between {min} and {max}, not {text}");
                return defaultValue;
            },
        };
    }

    /// <summary>A probability from 0 to 1 (as --loss takes it: a plain number, no percent sign).</summary>
    public static Option<double> Probability(string name, string description)
    {
        return new Option<double>(name)
        {
            Description = description + " (0 to 1, default 0)",
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return 0;
                var text = r.Tokens[0].Value;
                if (TryParseProbability(text, out double v)) return v;
                r.AddError($"{name} must be between 0 and 1, not {text}");
                return 0;
            },
        };
    }

    private static bool TryParseProbability(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && value is >= 0 and <= 1;

    /// <summary>Gilbert–Elliott loss as "P,R" or "P,R,BADLOSS" (BADLOSS defaults to 1): each a probability from 0 to 1.</summary>
    public static Option<(double P, double R, double BadLoss)?> GilbertElliott(string name, string description)
    {
        return new Option<(double P, double R, double BadLoss)?>(name)
        {
            Description = description,
            HelpName = "P,R[,BADLOSS]",
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return null;
                var text = r.Tokens[0].Value;
                var parts = text.Split(',');
                if (parts.Length is 2 or 3 && TryParseProbability(parts[0], out double p) && TryParseProbability(parts[1], out double rr))
                {
                    double bad = 1;
                    if (parts.Length == 2 || TryParseProbability(parts[2], out bad)) return (p, rr, bad);
                }
                r.AddError($"{name} must be P,R or P,R,BADLOSS, each between 0 and 1 (e.g. 0.01,0.3), not {text}");
                return null;
            },
        };
    }

    public static Option<ulong> Seed() => new("--seed")
    {
        Description = "Seed for every random choice; the same seed gives the same run, byte for byte",
        DefaultValueFactory = _ => 1UL,
        Recursive = true,
    };

    public static Option<FileInfo?> Pcap() => new("--pcap")
    {
        Description = "Write every frame on the first host's device to this pcap file (Wireshark/tshark read it)",
        Recursive = true,
    };
}
