using System.Text;

namespace Xmit.Packetdrill;

/// <summary>
/// Reads a script's text with a bound on its size, so a "script" that is an endless stream (/dev/zero, a pipe that
/// never ends) or a binary file is refused with one line instead of filling memory. The largest script of the
/// packetdrill corpus is about 11 KiB; 1 MiB leaves room for any real one.
/// </summary>
public static class ScriptText
{
    public const int MaxBytes = 1 << 20;

    /// <summary>The text, or null and why not (too large, or binary: a NUL byte and the line it is on).</summary>
    public static string? TryRead(Stream input, out string? error)
    {
        var buffer = new byte[MaxBytes + 1];
        int n = 0, got;
        while (n < buffer.Length && (got = input.Read(buffer, n, buffer.Length - n)) > 0) n += got;
        return Check(buffer.AsSpan(0, n), out error);
    }

    /// <inheritdoc cref="TryRead(Stream, out string?)"/>
    public static string? TryRead(TextReader input, out string? error)
    {
        var buffer = new char[MaxBytes + 1];
        int n = 0, got;
        while (n < buffer.Length && (got = input.Read(buffer, n, buffer.Length - n)) > 0) n += got;
        if (n > MaxBytes) return TooLarge(out error);
        return NoNul(new string(buffer, 0, n), out error);
    }

    private static string? Check(ReadOnlySpan<byte> bytes, out string? error)
    {
        if (bytes.Length > MaxBytes) return TooLarge(out error);
        return NoNul(Encoding.UTF8.GetString(bytes), out error);
    }

    private static string? TooLarge(out string? error)
    {
        error = $"larger than {MaxBytes / (1 << 20)} MiB: not a packetdrill script";
        return null;
    }

    private static string? NoNul(string text, out string? error)
    {
        int nul = text.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
        {
            int line = 1;
            for (int i = 0; i < nul; i++) if (text[i] == '\n') line++;
            error = $"line {line}: binary data (a NUL byte): not a packetdrill script";
            return null;
        }
        error = null;
        return text;
    }
}
