using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Xmit.Packetdrill;

/// <summary>The little of sh that packetdrill's shell lines use: words with double quotes, $((a*b)) arithmetic, redirections.</summary>
internal static partial class Shell
{
    /// <summary>Drops "&gt; /dev/null 2&gt;&amp;1" style redirections.</summary>
    public static string StripRedirections(string cmd) => Redirection().Replace(cmd, "").Trim();

    /// <summary>Splits into words; double quotes group (and are removed); $((…)) products are evaluated.</summary>
    public static string[] Words(string cmd)
    {
        cmd = Arithmetic().Replace(cmd, m =>
        {
            long v = 1;
            foreach (var f in m.Groups[1].Value.Split('*')) v *= long.Parse(f.Trim(), CultureInfo.InvariantCulture);
            return v.ToString(CultureInfo.InvariantCulture);
        });
        var words = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false, any = false;
        foreach (char c in cmd)
        {
            if (c == '"') { quoted = !quoted; any = true; continue; }
            if (char.IsWhiteSpace(c) && !quoted)
            {
                if (any) words.Add(sb.ToString());
                sb.Clear();
                any = false;
                continue;
            }
            sb.Append(c);
            any = true;
        }
        if (any) words.Add(sb.ToString());
        return [.. words];
    }

    [GeneratedRegex(@"\s*\d?>\s*(/dev/null|&\d)")]
    private static partial Regex Redirection();

    [GeneratedRegex(@"\$\(\(([0-9*\s]+)\)\)")]
    private static partial Regex Arithmetic();
}
