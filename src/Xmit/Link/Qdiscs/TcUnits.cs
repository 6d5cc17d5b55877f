using System.Globalization;

namespace Xmit.Link.Qdiscs;

/// <summary>Parses rates and sizes the way `tc` writes them ("1mbit", "10kbps", "1540", "32kb").</summary>
/// <remarks>tc: tc/tc_util.c get_rate64(), get_size()</remarks>
public static class TcUnits
{
    /// <summary>A rate in bits per second. Bit units are decimal (kbit = 1000 bit), "bps" units are bytes per second; "Kibit" etc. are binary.</summary>
    public static bool TryParseRate(string text, out long bitsPerSecond, out string error)
    {
        bitsPerSecond = 0;
        var (number, unit) = Split(text);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v <= 0)
        {
            error = $"invalid rate '{text}': expected a positive number with a unit, e.g. 100mbit";
            return false;
        }
        double mult = unit.ToLowerInvariant() switch
        {
            "" or "bit" => 1,
            "kbit" => 1e3, "mbit" => 1e6, "gbit" => 1e9, "tbit" => 1e12,
            "kibit" => 1024, "mibit" => 1024.0 * 1024, "gibit" => 1024.0 * 1024 * 1024,
            "bps" => 8, "kbps" => 8e3, "mbps" => 8e6, "gbps" => 8e9,
            _ => double.NaN,
        };
        if (double.IsNaN(mult))
        {
            error = $"invalid rate unit '{unit}' in '{text}': use bit, kbit, mbit, gbit, bps, kbps, mbps, gbps";
            return false;
        }
        bitsPerSecond = (long)Math.Round(v * mult);
        error = "";
        return bitsPerSecond > 0;
    }

    /// <summary>A size in bytes: plain bytes, or k/kb, m/mb, g/gb (binary, as tc), or kbit/mbit/gbit.</summary>
    public static bool TryParseSize(string text, out long bytes, out string error)
    {
        bytes = 0;
        var (number, unit) = Split(text);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < 0)
        {
            error = $"invalid size '{text}': expected a number of bytes, e.g. 1540 or 32kb";
            return false;
        }
        double mult = unit.ToLowerInvariant() switch
        {
            "" or "b" => 1,
            "k" or "kb" => 1024, "m" or "mb" => 1024 * 1024, "g" or "gb" => 1024.0 * 1024 * 1024,
            "kbit" => 1024 / 8.0, "mbit" => 1024 * 1024 / 8.0, "gbit" => 1024.0 * 1024 * 1024 / 8,
            _ => double.NaN,
        };
        if (double.IsNaN(mult))
        {
            error = $"invalid size unit '{unit}' in '{text}': use b, kb, mb, gb, kbit, mbit";
            return false;
        }
        bytes = (long)(v * mult);
        error = "";
        return true;
    }

    public static long ParseRate(string text) => TryParseRate(text, out var r, out var e) ? r : throw new FormatException(e);
    public static long ParseSize(string text) => TryParseSize(text, out var r, out var e) ? r : throw new FormatException(e);

    public static string FormatRate(long bitsPerSecond) => bitsPerSecond switch
    {
        >= 1_000_000_000 when bitsPerSecond % 1_000_000_000 == 0 => $"{bitsPerSecond / 1_000_000_000}Gbit",
        >= 1_000_000 when bitsPerSecond % 1_000_000 == 0 => $"{bitsPerSecond / 1_000_000}Mbit",
        >= 1_000 when bitsPerSecond % 1_000 == 0 => $"{bitsPerSecond / 1_000}Kbit",
        _ => $"{bitsPerSecond}bit",
    };

    /// <summary>
    /// iproute2's sprint_size(): whole MiB or KiB (within 1 KiB or 16 bytes of one) as "Mb" / "Kb", otherwise bytes ("b").
    /// </summary>
    public static string FormatSize(long bytes)
    {
        const long Kilo = 1024, Mega = Kilo * Kilo;
        double mb = Math.Round(bytes / (double)Mega, MidpointRounding.ToEven), kb = Math.Round(bytes / (double)Kilo, MidpointRounding.ToEven);
        if (bytes >= Mega && Math.Abs(Mega * mb - bytes) < 1024) return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{mb}Mb");
        if (bytes >= Kilo && Math.Abs(Kilo * kb - bytes) < 16) return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{kb}Kb");
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes}b");
    }

    private static (string Number, string Unit) Split(string text)
    {
        text = text.Trim();
        int i = 0;
        while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.' || text[i] == 'e' && i > 0 && i + 1 < text.Length && char.IsDigit(text[i + 1]))) i++;
        return (text[..i], text[i..]);
    }
}
