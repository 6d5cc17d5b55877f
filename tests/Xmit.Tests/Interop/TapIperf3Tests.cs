using System.Text.Json;
using Xmit.Tap;

namespace Xmit.Tests.Interop;

/// <summary>
/// iperf3 both ways over TAP (root, /dev/net/tun and the Debian iperf3, which test.sh installs): the kernel's
/// `iperf3 -c` measures Xmit's server and Xmit's client measures the kernel's `iperf3 -s`, forward and reverse (-R).
/// Each side learns the other's count from the results exchange; the receiver's count is the sender's, less at most
/// what was still in flight when the server closed its data connections (iperf3 does so at TEST_END).
/// </summary>
[Collection(nameof(KernelBulkCollection))]
public class TapIperf3Tests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const long Bytes = 50_000_000;

    private static (long Sent, long Received, string? Error) KernelCounts(string json)
    {
        var d = JsonDocument.Parse(json).RootElement;
        string? error = d.TryGetProperty("error", out var e) ? e.GetString() : null;
        var end = d.GetProperty("end");
        return (end.GetProperty("sum_sent").GetProperty("bytes").GetInt64(), end.GetProperty("sum_received").GetProperty("bytes").GetInt64(), error);
    }

    private static void SenderAndReceiverAgree(long sent, long received)
    {
        Assert.True(received >= Bytes, $"received {received} of at least {Bytes}");
        Assert.InRange(received, sent * 0.9, sent);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_kernels_iperf3_client_measures_xmits_server(bool reverse)
    {
        using var net = new TapNet(offload: true, capture: false);
        var serving = Iperf3.ServeOne(net.Host, 5201);
        using var client = net.Ns.Start(["iperf3", "-c", net.Us.ToString(), "-n", Bytes.ToString(), "-J", .. reverse ? new[] { "-R" } : []]);
        Assert.True(net.RunUntil(() => serving.IsCompleted && client.HasExited, 30_000), "the test did not finish");
        var json = client.StandardOutput.ReadToEnd();
        Assert.True(serving.IsCompletedSuccessfully, serving.Exception?.ToString() + json);
        var ours = await serving; // completed: the loop ran it
        var (kSent, kReceived, error) = KernelCounts(json);
        Assert.Null(error);
        Assert.Equal(reverse, ours.Ours.Sender);
        // What iperf3 prints for our side is what we counted; what we got of its side is what it counted.
        Assert.Equal(ours.Ours.Bytes, reverse ? kSent : kReceived);
        Assert.Equal(ours.PeerBytes, reverse ? kReceived : kSent);
        SenderAndReceiverAgree(kSent, kReceived);
        output.WriteLine($"{(reverse ? "Xmit → kernel" : "kernel → Xmit")}: {Iperf3.Summary(ours)}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Xmits_iperf3_client_measures_the_kernels_server(bool reverse)
    {
        using var net = new TapNet(offload: true, capture: false);
        using var server = net.Ns.Start("iperf3", "-s", "-1", "-J", "-B", net.Kernel.ToString());
        net.RunFor(300); // iperf3 -s binds and listens
        var running = Iperf3.RunClient(net.Host, net.Kernel, 5201, seconds: 10, bytes: Bytes, reverse, parallel: 1, len: 128 * 1024);
        Assert.True(net.RunUntil(() => running.IsCompleted && server.HasExited, 30_000), "the test did not finish");
        var json = server.StandardOutput.ReadToEnd();
        Assert.True(running.IsCompletedSuccessfully, running.Exception?.ToString() + json);
        var ours = await running;
        var (kSent, kReceived, error) = KernelCounts(json);
        Assert.Null(error);
        Assert.Equal(!reverse, ours.Ours.Sender);
        // iperf3 -s reports only its own side (sum_sent when it sends, sum_received when it receives); what it told
        // us in the results exchange is that count.
        long theirs = reverse ? kSent : kReceived;
        Assert.Equal(0, reverse ? kReceived : kSent);
        Assert.Equal(theirs, ours.PeerBytes);
        if (reverse) SenderAndReceiverAgree(theirs, ours.Ours.Bytes);
        else SenderAndReceiverAgree(ours.Ours.Bytes, theirs);
        output.WriteLine($"{(reverse ? "kernel → Xmit" : "Xmit → kernel")}: {Iperf3.Summary(ours)}");
    }

    /// <summary>-b on a TCP test holds each stream to the rate (iperf_check_throttle() applies to every protocol).</summary>
    [Fact]
    public async Task Xmits_client_holds_a_TCP_test_to_its_bitrate()
    {
        const long rate = 50_000_000;
        using var net = new TapNet(offload: true, capture: false);
        using var server = net.Ns.Start("iperf3", "-s", "-1", "-J", "-B", net.Kernel.ToString());
        net.RunFor(300);
        var running = Iperf3.RunClient(net.Host, net.Kernel, 5201, new Iperf3.ClientOptions(Seconds: 2, Rate: rate));
        Assert.True(net.RunUntil(() => running.IsCompleted && server.HasExited, 30_000), "the test did not finish");
        var json = server.StandardOutput.ReadToEnd();
        Assert.True(running.IsCompletedSuccessfully, running.Exception?.ToString() + json);
        var ours = await running;
        var (_, kReceived, error) = KernelCounts(json);
        Assert.Null(error);
        Assert.Equal(ours.Ours.Bytes, kReceived);
        double bps = ours.Ours.Bytes * 8 / ours.Ours.Seconds;
        Assert.InRange(bps, rate * 0.85, rate * 1.05); // unpaced, the same test runs at gigabits
        output.WriteLine($"Xmit → kernel at -b 50M: {Iperf3.Summary(ours)}");
    }
}
