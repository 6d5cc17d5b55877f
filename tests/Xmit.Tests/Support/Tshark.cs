using System.Diagnostics;

namespace Xmit.Tests.Support;

/// <summary>Runs tshark on a capture: the independent reader our pcaps are checked with.</summary>
public static class Tshark
{
    /// <summary>The lines tshark prints for packets matching <paramref name="filter"/> (checksums verified).</summary>
    public static string[] Matching(string pcap, string filter, params string[] extra)
    {
        var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-r", pcap, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-Y", filter })
            psi.ArgumentList.Add(a);
        foreach (var a in extra) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit(60_000);
        Assert.True(p.ExitCode == 0, $"tshark failed ({p.ExitCode}): {err}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
