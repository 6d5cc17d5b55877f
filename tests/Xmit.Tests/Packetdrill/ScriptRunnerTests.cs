using Xmit.Packetdrill;
using Xunit.Abstractions;

namespace Xmit.Tests.Packetdrill;

public class ScriptRunnerTests(ITestOutputHelper output)
{
    private static string ScriptsDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Xmit.slnx"))) dir = dir.Parent;
        return Path.Combine(dir!.FullName, "tests", "scripts", "udp");
    }

    public static TheoryData<string> OurScripts()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(ScriptsDirectory(), "*.pkt").OrderBy(f => f)) data.Add(Path.GetFileName(f));
        return data;
    }

    private static string TcpScriptsDirectory() => Path.Combine(ScriptsDirectory(), "..", "tcp");

    public static TheoryData<string> OurTcpScripts()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(TcpScriptsDirectory(), "*.pkt").OrderBy(f => f)) data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(OurTcpScripts))]
    public void Our_tcp_scripts_pass(string name)
    {
        var result = Run(File.ReadAllText(Path.Combine(TcpScriptsDirectory(), name)), name);
        Assert.True(result.Status == ScriptStatus.Pass, result.ToString());
    }

    [Theory]
    [InlineData("delayed-ack.pkt", "+.040 > . 51:51(0) ack 201", "+.030 > . 51:51(0) ack 201", "wrong time")]
    [InlineData("delayed-ack.pkt", "> S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>", "> S. 0:0(0) ack 1 <mss 1460,nop,wscale 7>", "options")]
    [InlineData("rto-backoff.pkt", "+.600 > P. 1:1001(1000) ack 1", "+.300 > P. 1:1001(1000) ack 1", "wrong time")]
    [InlineData("rst-no-listener.pkt", "> R. 0:0(0) ack 1 win 0", "> R. 0:0(0) ack 2 win 0", "ACK")]
    public void A_changed_tcp_expectation_fails_at_its_line(string name, string original, string changed, string reason)
    {
        var text = File.ReadAllText(Path.Combine(TcpScriptsDirectory(), name));
        Assert.Contains(original, text);
        var lines = text.Split('\n');
        int line = Array.FindIndex(lines, l => l.Contains(original, StringComparison.Ordinal)) + 1;
        var result = Run(text.Replace(original, changed, StringComparison.Ordinal), name);
        Assert.Equal(ScriptStatus.Fail, result.Status);
        Assert.Equal(line, result.Line);
        Assert.Contains(reason, result.Reason + result.Expected + result.Actual, StringComparison.OrdinalIgnoreCase);
    }

    private static ScriptResult Run(string text, string name = "t.pkt", Stream? pcap = null)
    {
        var (script, error) = ScriptParser.Parse(name, text);
        Assert.True(error is null, error?.ToString());
        return ScriptRunner.Run(script!, pcap);
    }

    [Theory]
    [MemberData(nameof(OurScripts))]
    public void Our_udp_scripts_pass(string name)
    {
        var result = Run(File.ReadAllText(Path.Combine(ScriptsDirectory(), name)), name);
        Assert.True(result.Status == ScriptStatus.Pass, result.ToString());
    }

    [Theory]
    [InlineData("eagain-tbf.pkt", "ioctl(3, 0x5411, [34560]) = 0", "ioctl(3, 0x5411, [34561]) = 0", "[34561]")]
    [InlineData("eagain-tbf.pkt", "= -1 EAGAIN (Resource temporarily unavailable)", "= 1400", "1400")]
    [InlineData("eagain-tbf.pkt", "0.010752 > udp (1400)", "0.020752 > udp (1400)", "between")]
    [InlineData("cork.pkt", "+0 > udp (600)", "+0 > udp (601)", "udp (601)")]
    [InlineData("epollout.pkt", "+0...0.092 epoll_wait", "+0...0.062 epoll_wait", "return at")] // beyond 12.5 % of the wait
    [InlineData("icmp-out.pkt", "> icmp unreachable port_unreachable", "> icmp unreachable host_unreachable", "host_unreachable")]
    public void Changing_one_expected_value_makes_the_script_fail_at_that_line(string name, string from, string to, string shownInExpected)
    {
        var text = File.ReadAllText(Path.Combine(ScriptsDirectory(), name));
        Assert.Contains(from, text);
        int at = text.IndexOf(from, StringComparison.Ordinal);
        var mutated = text[..at] + to + text[(at + from.Length)..];
        int line = text[..at].Count(c => c == '\n') + 1;
        var result = Run(mutated, name);
        Assert.Equal(ScriptStatus.Fail, result.Status);
        Assert.Equal(line, result.Line);
        Assert.Contains(shownInExpected, result.Expected);
    }

    [Fact]
    public void The_same_script_gives_the_same_result_and_pcap_bytes()
    {
        var text = File.ReadAllText(Path.Combine(ScriptsDirectory(), "eagain-tbf.pkt"));
        var a = new MemoryStream();
        var b = new MemoryStream();
        var ra = Run(text, pcap: a);
        var rb = Run(text, pcap: b);
        Assert.Equal(ra, rb);
        Assert.True(a.ToArray().Length > 1000);
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Fact]
    public void A_script_past_its_wall_clock_limit_is_a_failure_not_a_hang()
    {
        var (script, error) = ScriptParser.Parse("t.pkt", File.ReadAllText(Path.Combine(TcpScriptsDirectory(), "rto-backoff.pkt")));
        Assert.True(error is null, error?.ToString());
        var r = ScriptRunner.Run(script!, TimeSpan.FromTicks(1));
        Assert.Equal(ScriptStatus.Fail, r.Status);
        Assert.Contains("did not finish", r.Reason);
        Assert.Equal(ScriptStatus.Pass, ScriptRunner.Run(script!, TimeSpan.FromSeconds(30)).Status);
    }

    /// <summary>TCP too, with a blocking call on the helper thread: same result, same pcap bytes.</summary>
    [Theory]
    [InlineData("rto-backoff.pkt")]
    [InlineData("delayed-ack.pkt")]
    public void The_same_tcp_script_gives_the_same_result_and_pcap_bytes(string name)
    {
        var text = File.ReadAllText(Path.Combine(TcpScriptsDirectory(), name));
        var a = new MemoryStream();
        var b = new MemoryStream();
        var ra = Run(text, name, a);
        var rb = Run(text, name, b);
        Assert.Equal(ScriptStatus.Pass, ra.Status);
        Assert.Equal(ra, rb);
        Assert.True(a.ToArray().Length > 500);
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Theory]
    [InlineData("+.05...0.080 read(3, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)", ScriptStatus.Pass)] // starts 0.05 after the previous event, ends 0.08 after it
    [InlineData("+.05...0.130 read(3, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)", ScriptStatus.Fail)]
    public void A_relative_blocking_call_ends_relative_to_the_previous_event(string call, ScriptStatus status)
    {
        var text = "0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n+0 bind(3, ..., ...) = 0\n" +
                   "+0 setsockopt(3, SOL_SOCKET, SO_RCVTIMEO, {tv_sec=0, tv_usec=30000}, 16) = 0\n+0.1 getsockopt(3, SOL_SOCKET, SO_TYPE, [2], [4]) = 0\n" + call + "\n";
        var r = Run(text);
        Assert.True(r.Status == status, r.ToString());
    }

    /// <summary>`nstat | grep NAME` succeeds only if NAME changed since the last nstat, as the real one's history makes it.</summary>
    [Fact]
    public void Nstat_grep_sees_only_the_counters_changed_since_the_last_nstat()
    {
        const string open = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
            + "+0 `nstat > /dev/null`\n+0 < S 0:0(0) win 32792 <mss 1460>\n+0 > S. 0:0(0) ack 1 <mss 1460>\n+.1 < . 1:1(0) ack 1 win 32792\n"
            + "+0 `nstat | grep TcpPassiveOpens`\n";
        var changed = Run(open);
        Assert.True(changed.Status == ScriptStatus.Pass, changed.ToString());
        var again = Run(open + "+0 `nstat | grep TcpPassiveOpens`\n");
        Assert.Equal(ScriptStatus.Fail, again.Status);
        Assert.Equal(9, again.Line);
    }

    [Fact]
    public void Missing_and_unexpected_packets_fail_with_an_explanation()
    {
        var missing = Run("0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n+0 connect(3, ..., ...) = 0\n+0 > udp (10)\n");
        Assert.Equal(ScriptStatus.Fail, missing.Status);
        Assert.Contains("no packet", missing.Reason);
        // As in packetdrill (checked against it on Linux 6.18): a packet no line lists is compared with the next
        // outbound line and fails there; one still unread at the end is never looked at.
        var unlisted = Run("0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n+0 connect(3, ..., ...) = 0\n+0 write(3, ..., 10) = 10\n+0 write(3, ..., 20) = 20\n+0 > udp (20)\n");
        Assert.Equal(ScriptStatus.Fail, unlisted.Status);
        var extra = Run("0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n+0 connect(3, ..., ...) = 0\n+0 write(3, ..., 10) = 10\n");
        Assert.Equal(ScriptStatus.Pass, extra.Status);
    }

    [Theory]
    [InlineData("0 socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP) = 3\n", "IPv6 is not implemented")]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_IP, IP_TRANSPARENT, [1], 4) = 0\n", "IP_TRANSPARENT is not known")]
    [InlineData("+0 > S. 0:0(0) ack 1 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>\n", "MD5 keys is not modelled")]
    [InlineData("0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n+0 %{ import os }%\n", "python")]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 %{ assert tcpi_delivery_rate == 0 }%\n", "tcpi_delivery_rate is not known")]
    [InlineData("0 `ip route add 1.2.3.4 dev tun0`\n", "shell command not supported")]
    [InlineData("0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n+0 splice(3, 4) = 0\n", "splice is not supported")]
    public void What_the_stack_lacks_is_unsupported_with_a_reason(string text, string reason)
    {
        var r = Run(text);
        Assert.Equal(ScriptStatus.Unsupported, r.Status);
        Assert.Contains(reason, r.Reason);
    }

    /// <summary>
    /// The corpus ratchet: every script gives a verdict without crashing (FAIL with a line and a reason,
    /// UNSUPPORTED with a reason); every script listed in tests/packetdrill-expected-pass.txt passes; scripts
    /// that pass but are not listed are reported so they can be added.
    /// </summary>
    [Fact]
    public void Corpus_ratchet_listed_scripts_pass_and_none_crashes()
    {
        var corpus = ScriptParserTests.CorpusDirectory();
        var listFile = Path.Combine(ScriptsDirectory(), "..", "..", "packetdrill-expected-pass.txt");
        var mustPass = File.ReadAllLines(listFile).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet();
        var failsOnLinux = File.ReadAllLines(Path.Combine(ScriptsDirectory(), "..", "..", "packetdrill-fails-on-linux.txt"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet();
        var tally = new Dictionary<ScriptStatus, int>();
        var broken = new List<string>();
        var ownFailures = new List<string>();
        foreach (var path in Directory.GetFiles(corpus, "*.pkt", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var (script, error) = ScriptParser.ParseFile(path);
            Assert.True(error is null, error?.ToString());
            var r = ScriptRunner.Run(script!, TimeSpan.FromSeconds(30));
            Assert.False(r.Status == ScriptStatus.Unsupported && string.IsNullOrWhiteSpace(r.Reason), path);
            Assert.False(r.Status == ScriptStatus.Fail && (r.Line == 0 || string.IsNullOrWhiteSpace(r.Reason)), r.ToString());
            tally[r.Status] = tally.GetValueOrDefault(r.Status) + 1;
            string rel = Path.GetRelativePath(corpus, path);
            if (mustPass.Contains(rel) && r.Status != ScriptStatus.Pass) broken.Add(r.ToString());
            if (r.Status == ScriptStatus.Fail && !failsOnLinux.Contains(rel)) ownFailures.Add(r.ToString());
            if (!mustPass.Contains(rel) && r.Status == ScriptStatus.Pass) output.WriteLine($"newly passing, add to packetdrill-expected-pass.txt: {rel}");
        }
        Assert.True(broken.Count == 0, "listed scripts that no longer pass:\n" + string.Join("\n", broken));
        Assert.True(ownFailures.Count == 0, "scripts that fail in Xmit but not on Linux (packetdrill-fails-on-linux.txt):\n" + string.Join("\n", ownFailures));
        Assert.True(tally.Values.Sum() > 100);
        output.WriteLine(string.Join(", ", tally.Select(t => $"{t.Key} {t.Value}")));
    }
}
