using Xmit.Tap;
using Xmit.Tests.Cli;

namespace Xmit.Tests.Interop;

/// <summary>`xmit tap` as a user runs it (needs root and /dev/net/tun, like the other interop tests).</summary>
public class TapCommandTests
{
    private static string Ns(string tag) => $"xmit-cli-{Environment.ProcessId}-{tag}";

    [Fact]
    public void Ping_creates_the_namespace_talks_to_the_kernel_and_removes_it()
    {
        string ns = Ns("ping");
        try
        {
            var (code, output, err) = SimPingCommandTests.Xmit($"tap --netns {ns} --create-netns --dev xc{Environment.ProcessId % 10000}p --address 198.18.77.2/24 --peer 198.18.77.1 ping 198.18.77.1 -c 2 --interval 100ms");
            Assert.True(code == 0, output + err);
            Assert.Contains("2 packets transmitted, 2 received", output);
            Assert.Contains("Icmp:InEchoReps 2", output);
            Assert.False(NetNamespace.Exists(ns), "the namespace must be gone after the run");
        }
        finally
        {
            NetNamespace.Run("ip", "netns", "del", ns);
        }
    }

    [Fact]
    public void Json_gives_the_results_and_the_books_as_one_document_and_no_text()
    {
        string ns = Ns("json");
        try
        {
            string common = $"tap --netns {ns} --create-netns --dev xc{Environment.ProcessId % 10000}j --address 198.18.78.2/24 --peer 198.18.78.1 --json";
            var (code, output, err) = SimPingCommandTests.Xmit($"{common} ping 198.18.78.1 -c 2 --interval 100ms");
            Assert.True(code == 0, output + err);
            using (var doc = System.Text.Json.JsonDocument.Parse(output)) // the whole output is the document
            {
                var ping = doc.RootElement.GetProperty("ping");
                Assert.Equal(2, ping.GetProperty("statistics").GetProperty("received").GetInt32());
                Assert.Equal(2, ping.GetProperty("replies").GetArrayLength());
                Assert.Equal(2, doc.RootElement.GetProperty("perLayer").GetProperty("counters").GetProperty("Icmp:InEchoReps").GetInt64());
                Assert.Equal(0, doc.RootElement.GetProperty("exitCode").GetInt32());
            }
            (code, output, err) = SimPingCommandTests.Xmit($"{common} udp-send 198.18.78.1:9 -c 50");
            Assert.True(code == 0, output + err);
            using (var doc = System.Text.Json.JsonDocument.Parse(output))
            {
                Assert.Equal(50, doc.RootElement.GetProperty("udpSend").GetProperty("datagrams").GetInt64());
                var ledger = doc.RootElement.GetProperty("perLayer").GetProperty("ledger");
                Assert.True(ledger.GetArrayLength() >= 3, ledger.ToString());
            }
        }
        finally
        {
            NetNamespace.Run("ip", "netns", "del", ns);
        }
    }

    [Fact]
    public void Trace_writes_the_hosts_tracepoints_while_the_application_runs()
    {
        string ns = Ns("trace");
        string file = Path.Combine(Path.GetTempPath(), $"xmit-tap-{Environment.ProcessId}.trace");
        try
        {
            var (code, output, err) = SimPingCommandTests.Xmit($"tap --netns {ns} --create-netns --dev xc{Environment.ProcessId % 10000}t --address 198.18.79.2/24 --peer 198.18.79.1 --trace {file} ping 198.18.79.1 -c 2 --interval 100ms");
            Assert.True(code == 0, output + err);
            Assert.Contains($"trace: {file} (", output);
            var lines = File.ReadAllLines(file);
            Assert.Equal("# tracer: nop", lines[0]);
            // The ARP request and the two echo requests leave through the device (net_dev_queue, net_dev_xmit).
            Assert.Equal(3, lines.Count(l => l.Contains(": net_dev_xmit: dev=", StringComparison.Ordinal)));
            Assert.Equal(3, lines.Count(l => l.Contains(": net_dev_queue: dev=", StringComparison.Ordinal)));
        }
        finally
        {
            File.Delete(file);
            NetNamespace.Run("ip", "netns", "del", ns);
        }
    }

    [Fact]
    public void An_existing_namespace_is_not_reused_when_asked_to_create_one()
    {
        string ns = Ns("exists");
        var (created, error) = NetNamespace.Create(ns);
        Assert.True(created is not null, error);
        using (created)
        {
            var (code, _, err) = SimPingCommandTests.Xmit($"tap --netns {ns} --create-netns ping 198.18.0.1");
            Assert.Equal(2, code);
            Assert.Contains("already exists", err);
            Assert.True(NetNamespace.Exists(ns), "someone else's namespace must be left alone");
        }
    }

    [Theory]
    [InlineData("--address 10.0.0.2/24 --peer 10.0.0.1 ping 10.0.0.1", "198.18.0.0/15")]
    [InlineData("--address 198.18.0.2 ping 198.18.0.1", "must look like")]
    [InlineData("--netns no-such-namespace-here ping 198.18.0.1", "does not exist")]
    [InlineData("udp-send 198.18.0.1", "must look like 198.18.0.1:9000")]
    [InlineData("tcp-connect 198.18.0.1", "must look like 198.18.0.1:5201")]
    [InlineData("tcp-connect 10.0.0.1:5201", "198.18.0.0/15")]
    [InlineData("tcp-connect 198.18.0.1:5201 --mode upload", "--mode")]
    [InlineData("tcp-listen 0", "port must be between 1 and 65535")]
    [InlineData("iperf3", "exactly one of -s (server) and -c ADDR (client)")]
    [InlineData("iperf3 -s -c 198.18.0.1", "exactly one of -s (server) and -c ADDR (client)")]
    [InlineData("iperf3 -c 10.0.0.1", "198.18.0.0/15")]
    [InlineData("iperf3 -c nowhere", "-c needs an IPv4 address")]
    [InlineData("iperf3 -s -P 0", "--parallel")]
    [InlineData("iperf3 -c 198.18.0.1 -u -b fast", "-b needs a bitrate such as 10M")]
    [InlineData("iperf3 -c 198.18.0.1 -b 10q", "-b needs a bitrate such as 10M")]
    [InlineData("iperf3 -c 198.18.0.1 -u -l 8", "-l for a UDP test must be between 16 and 65507")]
    [InlineData("iperf3 -s -u", "-u and -b are client options")]
    public void Bad_arguments_fail_with_a_clear_message(string args, string message)
    {
        var (code, _, err) = SimPingCommandTests.Xmit("tap " + args);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
    }
}
