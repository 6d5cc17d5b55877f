using System.Text.Json;
using Xmit.Tap;

namespace Xmit.Tests.Interop;

/// <summary>
/// iperf3's UDP tests both ways over TAP (root, /dev/net/tun and the Debian iperf3, as <see cref="TapIperf3Tests"/>):
/// the kernel's `iperf3 -u` against Xmit's server and Xmit's `-u` client against the kernel's `iperf3 -s`, forward and
/// reverse, 2 s at 10 Mbit/s. What one side says it counted is what the other learnt in the results exchange; the
/// receiver's highest sequence number is the sender's count (Xmit counts what is in flight at TEST_END, iperf3 does
/// not: there the kernel may miss a few at the tail); its lost count is the gaps it saw, and the bytes it got are the
/// datagrams that were not lost.
/// </summary>
[Collection(nameof(KernelBulkCollection))]
public class TapIperf3UdpTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const long Rate = 10_000_000;
    private const int Seconds = 2;

    /// <summary>What iperf3 -J says of a UDP test: end.sum_sent and end.sum_received, and the block size it ran with.</summary>
    private sealed record Side(long Bytes, long Packets, long Lost, double JitterMs, double BitsPerSecond);

    private static (Side Sent, Side Received, int BlockSize, string? Error) KernelUdp(string json)
    {
        var d = JsonDocument.Parse(json).RootElement;
        string? error = d.TryGetProperty("error", out var e) ? e.GetString() : null;
        var start = d.GetProperty("start").GetProperty("test_start");
        Assert.Equal("UDP", start.GetProperty("protocol").GetString());
        var end = d.GetProperty("end");
        Side Read(string name)
        {
            var s = end.GetProperty(name);
            return new Side(s.GetProperty("bytes").GetInt64(), s.GetProperty("packets").GetInt64(), s.GetProperty("lost_packets").GetInt64(),
                s.GetProperty("jitter_ms").GetDouble(), s.GetProperty("bits_per_second").GetDouble());
        }
        // The per-stream summary carries the UDP fields too (iperf_print_results(): one "udp" object per stream).
        var stream = end.GetProperty("streams")[0].GetProperty("udp");
        foreach (var field in new[] { "jitter_ms", "lost_packets", "packets", "lost_percent", "out_of_order" }) Assert.True(stream.TryGetProperty(field, out _), field);
        return (Read("sum_sent"), Read("sum_received"), start.GetProperty("blksize").GetInt32(), error);
    }

    private static void JitterIsANumber(double ms) => Assert.True(double.IsFinite(ms) && ms >= 0, $"jitter {ms} ms");

    /// <summary>A receiver's bytes are its datagrams that came: the highest number seen less the gaps it counted.</summary>
    private static void BytesAreTheDatagramsThatCame(long bytes, long highest, long lost, int len) => Assert.Equal((highest - lost) * len, bytes);

    /// <summary>At 10 Mbit/s a TAP loses nothing, unless the machine is starved; a few lost are allowed, not more.</summary>
    private static void LittleLost(long lost, long packets) => Assert.InRange(lost, 0, Math.Max(2, packets / 100));

    private static void PacedTo10M(double bitsPerSecond) => Assert.InRange(bitsPerSecond, Rate * 0.85, Rate * 1.05);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_kernels_iperf3_client_runs_a_UDP_test_against_xmits_server(bool reverse)
    {
        using var net = new TapNet(offload: true, capture: false);
        var serving = Iperf3.ServeOne(net.Host, 5201);
        using var client = net.Ns.Start(["iperf3", "-c", net.Us.ToString(), "-u", "-b", "10M", "-t", Seconds.ToString(), "-J", .. reverse ? new[] { "-R" } : []]);
        bool finished = net.RunUntil(() => serving.IsCompleted && client.HasExited, 30_000);
        if (!client.HasExited) client.Kill(entireProcessTree: true);
        var json = client.StandardOutput.ReadToEnd();
        Assert.True(finished, $"the test did not finish (our server: {serving.Status} {serving.Exception?.InnerException?.Message}): {json}{client.StandardError.ReadToEnd()}");
        Assert.True(serving.IsCompletedSuccessfully, serving.Exception?.ToString() + json);
        var ours = await serving;
        var (kSent, kReceived, len, error) = KernelUdp(json);
        Assert.Null(error);
        Assert.True(ours.IsUdp);
        Assert.Equal(reverse, ours.Ours.Sender);
        var mine = Assert.Single(ours.Ours.Udp!);
        var theirs = Assert.Single(ours.PeerUdp!);
        JitterIsANumber(kReceived.JitterMs);
        if (!reverse)
        {
            // The kernel sent, Xmit received: its sum_received is what Xmit told it; what Xmit learnt is its sum_sent.
            Assert.Equal(kSent.Packets, theirs.Packets);
            Assert.Equal(kSent.Bytes, ours.PeerBytes);
            Assert.Equal(kReceived.Packets, mine.Packets);
            Assert.Equal(kReceived.Lost, mine.Lost);
            Assert.Equal(kReceived.Bytes, ours.Ours.Bytes);
            Assert.Equal(mine.JitterSeconds * 1000, kReceived.JitterMs, 6);
            Assert.Equal(kSent.Packets, mine.Packets); // the tail in flight at TEST_END was counted
            BytesAreTheDatagramsThatCame(ours.Ours.Bytes, mine.Packets, mine.Lost, len);
            LittleLost(mine.Lost, kSent.Packets);
            JitterIsANumber(mine.JitterSeconds * 1000);
        }
        else
        {
            // Xmit sent at 10 Mbit/s, the kernel received until TEST_END.
            Assert.Equal(mine.Packets, kSent.Packets);
            Assert.Equal(ours.Ours.Bytes, kSent.Bytes);
            Assert.Equal(kReceived.Packets, theirs.Packets);
            Assert.Equal(kReceived.Lost, theirs.Lost);
            Assert.Equal(kReceived.Bytes, ours.PeerBytes);
            Assert.Equal(theirs.JitterSeconds * 1000, kReceived.JitterMs, 6);
            Assert.InRange(kReceived.Packets, mine.Packets - Math.Max(10, mine.Packets / 100), mine.Packets);
            BytesAreTheDatagramsThatCame(kReceived.Bytes, kReceived.Packets, kReceived.Lost, len);
            LittleLost(kReceived.Lost, mine.Packets);
            PacedTo10M(kSent.BitsPerSecond);
        }
        output.WriteLine($"{(reverse ? "Xmit → kernel" : "kernel → Xmit")}:\n{string.Join('\n', Iperf3.UdpSummary(ours))}");
    }

    /// <summary>
    /// Two streams: the server's socket that took the first hello is connected to that client, and the second hello
    /// must reach the new socket on the same port (SO_REUSEADDR on both), not the first.
    /// </summary>
    [Fact]
    public async Task The_kernels_client_runs_two_UDP_streams_against_xmits_server()
    {
        using var net = new TapNet(offload: true, capture: false);
        var serving = Iperf3.ServeOne(net.Host, 5201);
        using var client = net.Ns.Start("iperf3", "-c", net.Us.ToString(), "-u", "-b", "5M", "-t", "1", "-P", "2", "-J");
        bool finished = net.RunUntil(() => serving.IsCompleted && client.HasExited, 30_000);
        if (!client.HasExited) client.Kill(entireProcessTree: true);
        var json = client.StandardOutput.ReadToEnd();
        Assert.True(finished && serving.IsCompletedSuccessfully, $"{serving.Status} {serving.Exception}: {json}{client.StandardError.ReadToEnd()}");
        var ours = await serving;
        var (kSent, kReceived, len, error) = KernelUdp(json);
        Assert.Null(error);
        Assert.Equal(2, ours.Ours.Udp!.Length);
        Assert.All(ours.Ours.Udp, s => Assert.True(s.Packets > 100, $"a stream got {s.Packets} datagrams"));
        Assert.Equal(kSent.Packets, ours.Ours.Udp.Sum(s => s.Packets));
        Assert.Equal(kReceived.Bytes, ours.Ours.Bytes);
        Assert.Equal(kSent.Packets, ours.PeerUdp!.Sum(s => s.Packets));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Xmits_iperf3_client_runs_a_UDP_test_against_the_kernels_server(bool reverse)
    {
        using var net = new TapNet(offload: true, capture: false);
        using var server = net.Ns.Start("iperf3", "-s", "-1", "-J", "-B", net.Kernel.ToString());
        net.RunFor(300); // iperf3 -s binds and listens
        var running = Iperf3.RunClient(net.Host, net.Kernel, 5201, new Iperf3.ClientOptions(Seconds, Reverse: reverse, Udp: true, Rate: Rate));
        bool finished = net.RunUntil(() => running.IsCompleted && server.HasExited, 30_000);
        if (!server.HasExited) server.Kill(entireProcessTree: true);
        var json = server.StandardOutput.ReadToEnd();
        Assert.True(finished, $"the test did not finish (our client: {running.Status} {running.Exception?.InnerException?.Message}): {json}{server.StandardError.ReadToEnd()}");
        Assert.True(running.IsCompletedSuccessfully, running.Exception?.ToString() + json);
        var ours = await running;
        var (kSent, kReceived, len, error) = KernelUdp(json);
        Assert.Null(error);
        Assert.Equal(!reverse, ours.Ours.Sender);
        // iperf_connect(): with no -l the datagram is the control connection's MSS, so a 1500-byte MTU carries it whole.
        Assert.InRange(len, 1200, 1500 - 28);
        var mine = Assert.Single(ours.Ours.Udp!);
        var theirs = Assert.Single(ours.PeerUdp!);
        // iperf3 -s reports only its own side (made before the results exchange); that is what it told Xmit.
        if (!reverse)
        {
            Assert.Equal(kReceived.Packets, theirs.Packets);
            Assert.Equal(kReceived.Lost, theirs.Lost);
            Assert.Equal(kReceived.Bytes, ours.PeerBytes);
            Assert.Equal(theirs.JitterSeconds * 1000, kReceived.JitterMs, 6);
            Assert.Equal(mine.Packets, kReceived.Packets); // Xmit let the last datagrams arrive before TEST_END
            BytesAreTheDatagramsThatCame(kReceived.Bytes, kReceived.Packets, kReceived.Lost, len);
            LittleLost(kReceived.Lost, mine.Packets);
            JitterIsANumber(kReceived.JitterMs);
            PacedTo10M(kReceived.BitsPerSecond);
        }
        else
        {
            Assert.Equal(kSent.Packets, theirs.Packets);
            Assert.Equal(kSent.Bytes, ours.PeerBytes);
            Assert.Equal(kSent.Packets, mine.Packets);
            BytesAreTheDatagramsThatCame(ours.Ours.Bytes, mine.Packets, mine.Lost, len);
            LittleLost(mine.Lost, kSent.Packets);
            JitterIsANumber(mine.JitterSeconds * 1000);
            PacedTo10M(kSent.BitsPerSecond);
        }
        output.WriteLine($"{(reverse ? "kernel → Xmit" : "Xmit → kernel")}:\n{string.Join('\n', Iperf3.UdpSummary(ours))}");
    }
}
