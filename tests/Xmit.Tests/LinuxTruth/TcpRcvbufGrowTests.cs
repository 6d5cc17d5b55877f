using System.Text.Json;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// Receive-buffer autotuning step by step against the kernel's own tracepoint: scripts/linux-tcp-rcvbuf-grow.sh
/// recorded every tcp:tcp_rcvbuf_grow of a bulk transfer on Linux 6.18 (linux-truth/tcp-rcvbuf-grow.json) with its
/// inputs — bytes the reader took in the last RTT, rcvq_space before, the out-of-order span, scaling_ratio — and
/// the receive buffer before it; the next event's buffer (the socket's at the end, after the last) is the result.
/// </summary>
public class TcpRcvbufGrowTests
{
    private static readonly JsonElement Truth = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "tcp-rcvbuf-grow.json"))).RootElement;

    [Fact]
    public void Every_growth_step_gives_the_buffer_linux_gave()
    {
        var events = Truth.GetProperty("events").EnumerateArray().ToList();
        long rmemMax = 32L << 20; // tcp_rmem[2] on this kernel
        int grew = 0;
        for (int i = 0; i < events.Count; i++)
        {
            var e = events[i];
            long before = e.GetProperty("rcvbuf").GetInt64();
            long after = i + 1 < events.Count ? events[i + 1].GetProperty("rcvbuf").GetInt64() : Truth.GetProperty("B_final").GetProperty("rcvbuf").GetInt64();
            int copied = e.GetProperty("copied").GetInt32() - e.GetProperty("inq").GetInt32();
            long ours = Math.Max(before, TcpProtocol.RcvbufForGrowth(e.GetProperty("space").GetInt32(), copied, e.GetProperty("ooo").GetInt64(),
                (byte)e.GetProperty("scaling_ratio").GetInt32(), rmemMax));
            Assert.True(after == ours, $"event {i + 1} (space {e.GetProperty("space")} → copied {copied}): Linux's rcvbuf became {after}, Xmit's {ours}");
            if (after > before) grew++;
        }
        Assert.True(grew >= 2, $"the recording has only {grew} growth steps");
    }
}
