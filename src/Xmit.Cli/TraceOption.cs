using System.Globalization;

namespace Xmit.Cli;

/// <summary>What the sim commands do with `--trace FILE`: open the ftrace writer before the run, name the file after it.</summary>
public static class TraceOption
{
    /// <summary>Starts writing to <paramref name="file"/> (nothing when null); false with a one-line reason when it cannot be written.</summary>
    public static bool TryOpen(FileInfo? file, out FtraceWriter? writer, out string? error)
    {
        writer = null;
        error = null;
        if (file is null) return true;
        try
        {
            writer = FtraceWriter.Open(file);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot write {file.FullName}: {e.Message}";
            return false;
        }
    }

    public static string Summary(FileInfo file, FtraceWriter writer) =>
        string.Create(CultureInfo.InvariantCulture, $"trace: {file.FullName} ({writer.Events} events)");
}
