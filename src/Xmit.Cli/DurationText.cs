using System.Globalization;
using Xmit.Time;

namespace Xmit.Cli;

/// <summary>Durations as people type them: "50us", "1.5ms", "2s", "100ns", "5m", "1h" (a bare number is seconds).</summary>
public static class DurationText
{
    public static bool TryParse(string text, out Duration value, out string error)
    {
        value = default;
        text = text.Trim();
        int i = 0;
        while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.')) i++;
        if (!double.TryParse(text[..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number < 0)
        {
            error = $"invalid duration '{text}': expected e.g. 50us, 1ms, 2s";
            return false;
        }
        double ns = text[i..].ToLowerInvariant() switch
        {
            "ns" => 1,
            "us" or "µs" => 1e3,
            "ms" => 1e6,
            "" or "s" => 1e9,
            "m" or "min" => 60e9,
            "h" => 3600e9,
            _ => double.NaN,
        };
        if (double.IsNaN(ns))
        {
            error = $"invalid duration unit in '{text}': use ns, us, ms, s, m or h";
            return false;
        }
        value = Duration.FromNanoseconds((long)Math.Round(number * ns));
        error = "";
        return true;
    }

    public static string Format(Duration d) => d.Nanoseconds switch
    {
        >= 1_000_000_000 => $"{d.TotalSeconds:0.######} s",
        >= 1_000_000 => $"{d.TotalMilliseconds:0.###} ms",
        _ => $"{d.TotalMicroseconds:0.###} us",
    };
}
