using System.CommandLine;
using System.Globalization;
using Xmit.Link.Qdiscs;
using Xmit.Time;

namespace Xmit.Cli;

/// <summary>Option factories with parsing and validation, so every command reports bad values the same way.</summary>
public static class CliOptions
{
    /// <summary>The longest duration any option takes: a million seconds (about 11.6 days of virtual time).</summary>
    public const double MaxDurationSeconds = 1e6;

    /// <summary>The highest link rate any option takes: 10 Tbit/s.</summary>
    public const long MaxRate = 10_000_000_000_000;

    public static Option<Duration> Duration(string name, string description, string defaultText)
    {
        var o = new Option<Duration>(name)
        {
            Description = description,
            DefaultValueFactory = _ => DurationText.TryParse(defaultText, out var d, out string _) ? d : default,
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : defaultText;
                if (TryParseDuration(text, out var d)) return d;
                r.AddError($"{name} must be a duration from 0 to {MaxDurationSeconds:0}s with a unit ns, us, ms, s, m or h (e.g. 50us, 5m), not '{text}'");
                return default;
            },
        };
        return o;
    }

    private static bool TryParseDuration(string text, out Xmit.Time.Duration value)
    {
        value = default;
        // Range first: a huge number would overflow the nanosecond count.
        var t = text.Trim();
        int i = 0;
        while (i < t.Length && (char.IsDigit(t[i]) || t[i] == '.')) i++;
        if (!double.TryParse(t[..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number > MaxDurationSeconds * 1e9) return false;
        if (!DurationText.TryParse(text, out value, out _)) return false;
        return value.Nanoseconds >= 0 && value.Nanoseconds <= MaxDurationSeconds * 1e9;
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
                if (TryParseRate(text, out var v)) return v;
                r.AddError(RateError(name, text));
                return 0;
            },
        };
    }

    /// <summary>A rate as tc writes it, from 1 bit/s to <see cref="MaxRate"/>.</summary>
    public static bool TryParseRate(string text, out long bitsPerSecond)
    {
        // TcUnits saturates a huge rate to long.MaxValue and rounds 0.4bit to 0: both are out of range here.
        return TcUnits.TryParseRate(text, out bitsPerSecond, out _) && bitsPerSecond is >= 1 and <= MaxRate;
    }

    public static string RateError(string name, string text) =>
        $"{name} must be a rate from 1bit to 10tbit with a unit bit, kbit, mbit, gbit, tbit, bps, kbps, mbps or gbps (e.g. 100mbit), not '{text}'";

    /// <summary>A tc size (bytes; units b, kb, mb, gb, kbit, mbit) from 1 byte to 1 GB.</summary>
    public static bool TryParseSize(string text, out long bytes) =>
        TcUnits.TryParseSize(text, out bytes, out _) && bytes is >= 1 and <= 1L << 30;

    public static string SizeError(string name, string text) =>
        $"{name} must be a size from 1 byte to 1gb with a unit b, kb, mb, gb, kbit or mbit (e.g. 1540 or 32kb), not '{text}'";

    /// <summary>A string option holding a tc rate, checked at parse time; null when absent.</summary>
    public static Option<string?> RateText(string name, string description)
    {
        var o = new Option<string?>(name) { Description = description };
        o.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && !TryParseRate(r.Tokens[0].Value, out _)) r.AddError(RateError(name, r.Tokens[0].Value));
        });
        return o;
    }

    /// <summary>A string option holding a tc size, checked at parse time.</summary>
    public static Option<string> SizeText(string name, string description, string defaultText)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultText };
        o.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && !TryParseSize(r.Tokens[0].Value, out _)) r.AddError(SizeError(name, r.Tokens[0].Value));
        });
        return o;
    }

    /// <summary>An optional integer from <paramref name="min"/> to <paramref name="max"/>; null when absent.</summary>
    public static Option<long?> OptionalLong(string name, string description, long min, long max) => new(name)
    {
        Description = description,
        CustomParser = r =>
        {
            if (r.Tokens.Count == 0) return null;
            var text = r.Tokens[0].Value;
            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= min && v <= max) return v;
            r.AddError($"{name} must be between {min} and {max}, not {text}");
            return null;
        },
    };

    /// <summary>An optional integer from <paramref name="min"/> to <paramref name="max"/>; null when absent.</summary>
    public static Option<int?> OptionalInt(string name, string description, int min, int max) => new(name)
    {
        Description = description,
        CustomParser = r =>
        {
            if (r.Tokens.Count == 0) return null;
            var text = r.Tokens[0].Value;
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max) return v;
            r.AddError($"{name} must be between {min} and {max}, not {text}");
            return null;
        },
    };

    public static Option<long> Long(string name, string alias, string description, long defaultValue, long min, long max) => new(name, alias)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            if (r.Tokens.Count == 0) return defaultValue;
            var text = r.Tokens[0].Value;
            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= min && v <= max) return v;
            r.AddError($"{name} must be between {min} and {max}, not {text}");
            return defaultValue;
        },
    };

    /// <summary>A finite number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<double> Double(string name, string description, double defaultValue, double min, double max) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            if (r.Tokens.Count == 0) return defaultValue;
            var text = r.Tokens[0].Value;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v >= min && v <= max) return v;
            r.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be a number from {min} to {max}, not {text}"));
            return defaultValue;
        },
    };

    /// <summary>Like AcceptOnlyFromAmong, but the error is one line.</summary>
    public static void OneOf(Option<string> o, string[] values)
    {
        o.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (Array.IndexOf(values, v) < 0) r.AddError($"{o.Name} must be one of {string.Join(", ", values)}, not {v}");
        });
    }

    /// <summary>
    /// An output file: rejected at parse time, before any work, when it names a directory, sits in a directory
    /// that does not exist, or cannot be opened for writing.
    /// </summary>
    public static Option<FileInfo?> OutputFile(string name, string description, bool recursive = false)
    {
        var o = new Option<FileInfo?>(name) { Description = description, Recursive = recursive };
        o.Validators.Add(r =>
        {
            if (r.Tokens.Count == 0) return;
            var text = r.Tokens[0].Value;
            if (CheckWritable(text) is { } why) r.AddError($"{name} must be a writable file in an existing directory, not '{text}': {why}");
        });
        return o;
    }

    /// <summary>Why <paramref name="path"/> cannot be written, or null when it can. Leaves no file behind.</summary>
    public static string? CheckWritable(string path)
    {
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { return "not a valid path"; }
        if (path.EndsWith('/') || Directory.Exists(full)) return "it is a directory";
        var dir = Path.GetDirectoryName(full);
        if (dir is null || !Directory.Exists(dir)) return $"no such directory {dir}";
        bool existed = File.Exists(full);
        try
        {
            using (new FileStream(full, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite)) { }
            if (!existed) File.Delete(full);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e is UnauthorizedAccessException ? "permission denied" : "cannot be opened for writing";
        }
    }

    public static Option<int> Int(string name, string? alias, string description, int defaultValue, int min, int max)
    {
        return new Option<int>(name, alias is null ? [] : [alias])
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
        CustomParser = r =>
        {
            if (r.Tokens.Count == 0) return 1UL;
            var text = r.Tokens[0].Value;
            if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v)) return v;
            r.AddError($"--seed must be an integer from 0 to {ulong.MaxValue}, not {text}");
            return 1UL;
        },
    };

    public static Option<FileInfo?> Trace() =>
        OutputFile("--trace", "Write Linux's tracepoints (net_dev_queue, net_dev_xmit, qdisc_dequeue, kfree_skb, tcp_probe, tcp_retransmit_skb, " +
            "sock_exceed_buf_limit, inet_sock_set_state) of every host to this file, one line per event as ftrace's trace file shows them", recursive: true);

    public static Option<FileInfo?> Pcap() =>
        OutputFile("--pcap", "Write every frame on the first host's device to this pcap file (Wireshark/tshark read it)", recursive: true);
}
