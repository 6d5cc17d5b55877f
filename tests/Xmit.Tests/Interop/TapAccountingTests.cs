using System.Diagnostics;
using System.Threading;
using System.Text.RegularExpressions;
using Xmit.Tap;
using Xmit.Tests.Cli;

namespace Xmit.Tests.Interop;

/// <summary>
/// issue 11's TAP reproductions: every frame of `tap udp-send` accounted for per layer (the "vanished" ones were
/// dropped from the neighbour queue while ARP resolved), the kernel's side counted for `tap udp-sink`, and the
/// namespace removed when the run is stopped by a signal. Root and /dev/net/tun, namespaces of their own.
/// </summary>
public class TapAccountingTests
{
    private static string Ns(string tag) => $"xmit-acct-{Environment.ProcessId}-{tag}";
    private static string Dev(string tag) => $"xa{Environment.ProcessId % 10000}{tag}";

    [Fact]
    public void Udp_send_accounts_for_every_frame_and_a_refusal_is_explained_not_a_failure()
    {
        string ns = Ns("send");
        try
        {
            var (code, output, err) = SimPingCommandTests.Xmit($"tap --netns {ns} --create-netns --dev {Dev("s")} --address 198.18.91.2/24 --peer 198.18.91.1 udp-send 198.18.91.1:9 -c 20000 --pps 20000");
            Assert.True(code == 0, output + err);
            var layers = Regex.Matches(output, @"^  (.+?): (\d+) \w+ in = (\d+) passed on \+ (\d+) dropped.*? \+ (\d+) still queued(.*)$", RegexOptions.Multiline);
            Assert.True(layers.Count >= 4, output);
            foreach (Match m in layers)
            {
                Assert.True(m.Groups[6].Value.Length == 0, "unaccounted: " + m.Value);
                Assert.Equal(long.Parse(m.Groups[2].Value), long.Parse(m.Groups[3].Value) + long.Parse(m.Groups[4].Value) + long.Parse(m.Groups[5].Value));
            }
            Assert.Equal("20000", layers[0].Groups[2].Value); // Ip:OutTransmits reach the neighbour layer
            if (Regex.IsMatch(output, @"other errors [1-9]")) Assert.Contains("nothing listens on port 9", output);
            Assert.False(NetNamespace.Exists(ns));
        }
        finally
        {
            NetNamespace.Run("ip", "netns", "del", ns);
        }
    }

    [Fact]
    public async Task Udp_sink_reports_what_the_kernel_dropped_at_the_tap_device()
    {
        string ns = Ns("sink");
        var (created, error) = NetNamespace.Create(ns);
        Assert.True(created is not null, error);
        using (created)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "xmit.dll"));
            foreach (var a in $"tap --netns {ns} --dev {Dev("k")} --address 198.18.92.2/24 --peer 198.18.92.1 udp-sink 9000 --duration 4s".Split(' ')) psi.ArgumentList.Add(a);
            using var sink = Process.Start(psi)!;
            var output = sink.StandardOutput.ReadToEndAsync();
            // The kernel sends 20,000 datagrams unpaced once the device is up (one first, so ARP is resolved).
            const string sender = "import socket,time,subprocess\n" +
                "for _ in range(100):\n  if b'198.18.92.1' in subprocess.run(['ip','addr'],capture_output=True).stdout: break\n  time.sleep(0.05)\n" +
                // The address can be there a moment before the link is up (ENETUNREACH): retry the first datagram.
                "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n" +
                "for _ in range(100):\n  try: s.sendto(b'x'*1400,('198.18.92.2',9000)); break\n  except OSError: time.sleep(0.05)\n" +
                "time.sleep(0.3)\n" +
                "for i in range(20000):\n  try: s.sendto(b'x'*1400,('198.18.92.2',9000))\n  except OSError: pass\n";
            var (code, _, err) = created!.Exec("python3", "-c", sender);
            Assert.True(code == 0, err);
            Assert.True(sink.WaitForExit(30_000));
            string text = await output;
            var m = Regex.Match(text, @"the kernel sent (\d+) frames to the TAP device: (\d+) queued to the fd \(Xmit read (\d+)\), (\d+) dropped by the kernel \(tx_dropped");
            Assert.True(m.Success, text);
            long sent = long.Parse(m.Groups[1].Value), queued = long.Parse(m.Groups[2].Value), dropped = long.Parse(m.Groups[4].Value);
            Assert.Equal(sent, queued + dropped);
            Assert.True(sent >= 20001, text);
            var got = Regex.Match(text, @"udp-sink: (\d+) datagrams");
            Assert.True(long.Parse(got.Groups[1].Value) + dropped <= sent, text);
        }
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task A_signal_mid_run_ends_it_with_the_report_and_no_namespace_left(string signal)
    {
        string ns = Ns("sig" + signal);
        try
        {
            // A test run started as a background job inherits SIGINT ignored, and the runtime keeps an ignored signal
            // ignored: env resets it so the run sees the Ctrl-C this test sends, whoever started the tests.
            var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("--default-signal=INT");
            psi.ArgumentList.Add("dotnet");
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "xmit.dll"));
            foreach (var a in $"tap --netns {ns} --create-netns --dev {Dev(signal[..1])} --address 198.18.93.2/24 --peer 198.18.93.1 udp-send 198.18.93.1:9 -c 0 --pps 1000".Split(' ')) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEndAsync();
            var sw = Stopwatch.StartNew();
            while (!NetNamespace.Exists(ns) && sw.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(50);
            Assert.True(NetNamespace.Exists(ns), "the run never created its namespace");
            Thread.Sleep(1000);
            NetNamespace.Run("kill", "-" + signal, p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(p.WaitForExit(20_000), "the run did not end on SIG" + signal);
            Assert.Contains("interrupted", await output);
            Assert.False(NetNamespace.Exists(ns), "the namespace was left behind");
        }
        finally
        {
            NetNamespace.Run("ip", "netns", "del", ns);
        }
    }
}
