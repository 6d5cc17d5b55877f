using System.Diagnostics;

namespace Xmit.Tests.Support;

/// <summary>
/// Runs tshark on a capture: the independent reader our pcaps are checked with. The one place tests start it:
/// IP, TCP and UDP checksums are always verified, and a missing tshark, a run that does not finish or one that
/// fails fails the test with the reason.
/// </summary>
public static class Tshark
{
    /// <summary>What tshark needs to check every checksum it can.</summary>
    private static readonly string[] ChecksumOptions =
        ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"];

    /// <summary>The lines tshark prints reading <paramref name="pcap"/> with <paramref name="args"/> (checksums verified).</summary>
    public static string[] Run(string pcap, params string[] args)
    {
        var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-r");
        psi.ArgumentList.Add(pcap);
        foreach (var a in ChecksumOptions) psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("tshark is needed to check captures and was not found; ./test.sh installs it (apt-get install tshark)", e);
        }
        using (p)
        {
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(60_000), "tshark did not finish in 60 s");
            Assert.True(p.ExitCode == 0, $"tshark could not read {pcap} ({p.ExitCode}): {error.Result}");
            return output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    /// <summary>The lines tshark prints for packets matching <paramref name="filter"/> (checksums verified).</summary>
    public static string[] Matching(string pcap, string filter, params string[] extra) => Run(pcap, ["-Y", filter, .. extra]);

    /// <summary>Asserts that no packet matches <paramref name="problems"/>, a filter for what must not be there.</summary>
    public static void AssertNone(string pcap, string problems, params string[] extra)
    {
        var found = Matching(pcap, problems, extra);
        Assert.True(found.Length == 0, "tshark found problems:\n" + string.Join('\n', found));
    }
}
