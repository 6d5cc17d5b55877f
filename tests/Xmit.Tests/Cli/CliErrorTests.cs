using Xmit.Cli;

namespace Xmit.Tests.Cli;

/// <summary>
/// One error style for every command: a bad argument gives exactly one line on stderr naming the option,
/// nothing on stdout, exit code 2, and nothing is started or created. Runs the CLI in-process.
/// </summary>
public class CliErrorTests
{
    private const string Missing = "/no/such/dir/out.file";
    private const string Unwritable = "/proc/xmit-cli-test.out";

    public static TheoryData<string, string> BadArguments()
    {
        var data = new TheoryData<string, string>();
        // Options every simulated command shares: xmit sim, sim ping, sim tcp.
        // Qdisc options that would not take effect are refused, as tc refuses them (sim and sim tcp have a qdisc).
        foreach (var cmd in new[] { "sim", "sim tcp" })
        {
            data.Add($"{cmd} --limit 5", "--limit");                          // pfifo_fast takes no limit
            data.Add($"{cmd} --qdisc noqueue --limit 5", "--limit");
            data.Add($"{cmd} --tbf-rate 1mbit", "--tbf-rate");                // tbf options without tbf
            data.Add($"{cmd} --qdisc pfifo --burst 3000", "--burst");
        }
        data.Add("sim --peakrate 2mbit", "--peakrate");
        foreach (var cmd in new[] { "sim", "sim ping", "sim tcp" })
        {
            data.Add($"{cmd} --rate fast", "--rate");               // non-numeric
            data.Add($"{cmd} --rate -5mbit", "--rate");             // negative
            data.Add($"{cmd} --rate 0", "--rate");                  // zero
            data.Add($"{cmd} --rate 0.5bit", "--rate");             // rounds to zero
            data.Add($"{cmd} --rate 100000000000gbit", "--rate");   // huge
            data.Add($"{cmd} --rate 100parsec", "--rate");          // unknown unit
            data.Add($"{cmd} --delay soon", "--delay");
            data.Add($"{cmd} --delay -1ms", "--delay");
            data.Add($"{cmd} --delay 1e30s", "--delay");
            data.Add($"{cmd} --delay 5fortnights", "--delay");
            data.Add($"{cmd} --loss x", "--loss");
            data.Add($"{cmd} --loss -0.1", "--loss");
            data.Add($"{cmd} --loss 2", "--loss");
            data.Add($"{cmd} --mtu abc", "--mtu");
            data.Add($"{cmd} --mtu 0", "--mtu");
            data.Add($"{cmd} --mtu 99999999999999", "--mtu");
            data.Add($"{cmd} --jitter 1lightyear", "--jitter");
            data.Add($"{cmd} --loss-burst 0.1", "--loss-burst");
            data.Add($"{cmd} --seed abc", "--seed");
            data.Add($"{cmd} --seed -1", "--seed");
            data.Add($"{cmd} --seed 99999999999999999999999", "--seed");
            data.Add($"{cmd} --pcap /tmp", "--pcap");               // a directory
            data.Add($"{cmd} --pcap {Missing}", "--pcap");
            data.Add($"{cmd} --pcap {Unwritable}", "--pcap");
            data.Add($"{cmd} --trace /tmp", "--trace");              // a directory
            data.Add($"{cmd} --trace {Missing}", "--trace");
            data.Add($"{cmd} --trace {Unwritable}", "--trace");
            data.Add($"{cmd} --no-such-option", "--no-such-option");
            data.Add($"{cmd} --rate", "--rate");                    // missing value
        }
        foreach (var cmd in new[] { "sim", "sim tcp" })
        {
            data.Add($"{cmd} --duration forever", "--duration");
            data.Add($"{cmd} --duration -1s", "--duration");
            data.Add($"{cmd} --duration 99999999999s", "--duration");
            data.Add($"{cmd} --qdisc sfq", "--qdisc");
            data.Add($"{cmd} --limit many", "--limit");
            data.Add($"{cmd} --limit -1", "--limit");
            data.Add($"{cmd} --limit 99999999999999999999", "--limit");
            data.Add($"{cmd} --sndbuf big", "--sndbuf");
            data.Add($"{cmd} --sndbuf -1", "--sndbuf");
            data.Add($"{cmd} --tbf-rate 0.5bit", "--tbf-rate");
            data.Add($"{cmd} --burst 0", "--burst");
            data.Add($"{cmd} --burst 10parsec", "--burst");
        }
        data.Add("sim --payload 0", "--payload");
        data.Add("sim --payload 70000", "--payload");
        data.Add("sim --cork zero", "--cork");
        data.Add("sim --ring 0", "--ring");
        data.Add("sim --peakrate 100000000000gbit", "--peakrate");
        data.Add("sim --tbf-mtu -1", "--tbf-mtu");
        data.Add("sim --syscall-cost 1bogus", "--syscall-cost");
        data.Add("sim --html /tmp", "--html");
        data.Add($"sim --html {Missing}", "--html");
        data.Add($"sim --html {Unwritable}", "--html");
        data.Add("sim ping --html /tmp", "--html");
        data.Add($"sim ping --html {Missing}", "--html");
        data.Add($"sim ping --html {Unwritable}", "--html");
        data.Add("sim tcp --html /tmp", "--html");
        data.Add($"sim tcp --html {Missing}", "--html");
        data.Add($"sim tcp --html {Unwritable}", "--html");
        data.Add("sim ping --count 0", "--count");
        data.Add("sim ping --count -4", "--count");
        data.Add("sim ping --count abc", "--count");
        data.Add("sim ping --count 99999999999", "--count");
        data.Add("sim ping --size -1", "--size");
        data.Add("sim ping --interval 1bogus", "--interval");
        data.Add("sim ping --mtu 20", "--mtu");
        data.Add("sim tcp --write-size 0", "--write-size");
        data.Add("sim tcp --rcvbuf -1", "--rcvbuf");
        data.Add("sim tcp --cc bbr9", "--cc");
        data.Add("packetdrill --pcap /tmp x.pkt", "--pcap");
        data.Add($"packetdrill --pcap {Missing} x.pkt", "--pcap");
        data.Add("packetdrill --report /tmp", "--report");
        data.Add($"packetdrill --report {Unwritable}", "--report");
        data.Add("packetdrill --bogus", "--bogus");
        data.Add("packetdrill --corpus", "--corpus");
        return data;
    }

    /// <summary>Tap argument errors, all found before any device or namespace is created.</summary>
    public static TheoryData<string, string> BadTapArguments()
    {
        var data = new TheoryData<string, string>();
        // Only the benchmarking range is ever a destination.
        data.Add("tap ping 8.8.8.8", "198.18.0.0/15");
        data.Add("tap udp-send 10.0.0.1:9", "198.18.0.0/15");
        foreach (var sub in new[] { "ping 198.18.0.1", "udp-send 198.18.0.1:9000", "udp-sink 9000", "raw-bench write" })
        {
            data.Add($"tap {sub} --trace /tmp", "--trace");
            data.Add($"tap {sub} --trace {Missing}", "--trace");
            data.Add($"tap {sub} --mtu abc", "--mtu");
            data.Add($"tap {sub} --mtu 0", "--mtu");
            data.Add($"tap {sub} --mtu 99999999999", "--mtu");
            data.Add($"tap {sub} --address 198.18.0.2", "--address");
            data.Add($"tap {sub} --address 198.18.0.2/99", "--address");
            data.Add($"tap {sub} --peer nowhere", "--peer");
            data.Add($"tap {sub} --dev xmit-device-name-too-long", "--dev");
            data.Add($"tap {sub} --seed -1", "--seed");
            data.Add($"tap {sub} --pcap /tmp", "--pcap");
            data.Add($"tap {sub} --pcap {Missing}", "--pcap");
            data.Add($"tap {sub} --bogus", "--bogus");
        }
        data.Add("tap ping nowhere", "address");
        data.Add("tap ping 198.18.0.1 --count 0", "--count");
        data.Add("tap ping 198.18.0.1 --interval -1s", "--interval");
        data.Add("tap ping 198.18.0.1 --size 99999999", "--size");
        data.Add("tap udp-send 198.18.0.1", "destination");
        data.Add("tap udp-send 198.18.0.1:0", "destination");
        data.Add("tap udp-send 198.18.0.1:9000 --count -1", "--count");
        data.Add("tap udp-send 198.18.0.1:9000 --count many", "--count");
        data.Add("tap udp-send 198.18.0.1:9000 --pps -1", "--pps");
        data.Add("tap udp-send 198.18.0.1:9000 --pps fast", "--pps");
        data.Add("tap udp-send 198.18.0.1:9000 --sndbuf -1", "--sndbuf");
        data.Add("tap udp-sink 0", "port");
        data.Add("tap udp-sink 70000", "port");
        data.Add("tap udp-sink http", "port");
        data.Add("tap udp-sink", "port");
        data.Add("tap udp-sink 9000 --count -1", "--count");
        data.Add("tap udp-sink 9000 --duration 1bogus", "--duration");
        data.Add("tap raw-bench sideways", "direction");
        data.Add("tap raw-bench write --size 9999", "--size");
        return data;
    }

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void Bad_arguments_give_one_line_and_exit_2(string args, string option)
    {
        var (code, output, error) = Run(args);
        AssertOneLineError(code, output, error, option);
    }

    [Theory]
    [MemberData(nameof(BadTapArguments))]
    public void Bad_tap_arguments_give_one_line_exit_2_and_create_nothing(string args, string option)
    {
        string dev = $"xmiterr{Environment.ProcessId % 100000}";
        string ns = $"xmit-cli-err-{Environment.ProcessId}";
        // A device and namespace of our own, so the check below cannot be fooled by another test's.
        var names = args.Contains("--dev", StringComparison.Ordinal) ? $"--netns {ns} --create-netns" : $"--dev {dev} --netns {ns} --create-netns";
        var (code, output, error) = Run($"tap {names} {args["tap ".Length..]}");
        AssertOneLineError(code, output, error, option);
        Assert.False(Directory.Exists($"/sys/class/net/{dev}"), "a TAP device was created");
        Assert.False(File.Exists($"/run/netns/{ns}"), "a network namespace was created");
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("/")]
    [InlineData("n256")]
    public void Netns_names_ip_netns_would_refuse_give_one_line_and_exit_2(string name)
    {
        if (name == "n256") name = new string('n', 256);
        var (code, output, error) = Run($"tap --netns {name} --create-netns ping 198.18.0.1");
        AssertOneLineError(code, output, error, "--netns");
        Assert.False(File.Exists($"/run/netns/{name}") && name.Length > 2, "a namespace was created");
    }

    [Fact]
    public void Output_files_are_left_alone_when_checked()
    {
        var path = Path.Combine(Path.GetTempPath(), $"xmit-cli-err-{Environment.ProcessId}.pcap");
        var (code, _, error) = Run($"sim ping --count 0 --pcap {path}");
        Assert.Equal(2, code);
        Assert.Contains("--count", error);
        Assert.False(File.Exists(path), "checking --pcap left a file behind");
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("sim --help")]
    [InlineData("sim ping --help")]
    [InlineData("sim tcp --help")]
    [InlineData("tap --help")]
    [InlineData("tap udp-send --help")]
    [InlineData("packetdrill --help")]
    public void Help_goes_to_stdout_and_exits_0(string args)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Equal("", error);
    }

    private static void AssertOneLineError(int code, string output, string error, string option)
    {
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var lines = error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1 && lines[0].Length > 0, $"expected one line on stderr, got {lines.Length}:\n{error}");
        Assert.StartsWith("xmit ", lines[0]);
        Assert.Contains(option, lines[0]);
        Assert.DoesNotContain("System.", lines[0]);
        Assert.DoesNotContain("   at ", lines[0]);
    }

    internal static (int Code, string Out, string Err) Run(string args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = XmitCli.Run(args.Split(' ', StringSplitOptions.RemoveEmptyEntries), o, e);
        return (code, o.ToString(), e.ToString());
    }
}
