using System.Buffers.Binary;
using Xmit.Tap;
using Xmit.Time;

namespace Xmit.Tests.Interop;

/// <summary>
/// iperf3's UDP bookkeeping without a TAP device (no root needed): the receiver's lost, out-of-order and jitter counts
/// as iperf_udp_recv() keeps them, and -b's rates as unit_atof_rate() reads them.
/// </summary>
public class Iperf3UdpAccountingTests
{
    private static byte[] Datagram(long sentMicros, long pcount, int len = 100, bool counters64 = false)
    {
        var d = new byte[len];
        BinaryPrimitives.WriteUInt32BigEndian(d, (uint)(sentMicros / 1_000_000));
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), (uint)(sentMicros % 1_000_000));
        if (counters64) BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(8), (ulong)pcount);
        else BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(8), (uint)pcount);
        return d;
    }

    private static Instant At(long micros) => new(micros * 1000);

    [Fact]
    public void A_gap_counts_as_lost_until_the_late_datagram_fills_it()
    {
        var c = new Iperf3.UdpReceiveCounter();
        c.Account(Datagram(0, 1), At(500), false);
        c.Account(Datagram(1000, 2), At(1500), false);
        c.Account(Datagram(4000, 5), At(4500), false); // 3 and 4 missing
        Assert.Equal((5L, 2L, 0L), (c.Stats.Packets, c.Stats.Lost, c.Stats.OutOfOrder));
        c.Account(Datagram(2000, 3), At(4600), false); // 3 comes late
        Assert.Equal((5L, 1L, 1L), (c.Stats.Packets, c.Stats.Lost, c.Stats.OutOfOrder));
        Assert.Equal(400, c.Bytes);
    }

    [Fact]
    public void A_constant_transit_time_is_no_jitter_and_a_change_is_smoothed_by_a_sixteenth()
    {
        var c = new Iperf3.UdpReceiveCounter();
        // The sender's clock is far from ours: only the differences count.
        for (int i = 1; i <= 10; i++) c.Account(Datagram(9_000_000_000 + i * 1000, i, counters64: true), At(i * 1000 + 250), true);
        Assert.Equal(0, c.Stats.JitterSeconds, 9); // to a nanosecond: the seconds are doubles, as in iperf3
        c.Account(Datagram(9_000_000_000 + 11_000, 11, counters64: true), At(11_000 + 250 + 1600), true); // 1.6 ms later than the rest
        Assert.Equal(0.0016 / 16, c.Stats.JitterSeconds, 9);
        Assert.Equal(11, c.Stats.Packets);
    }

    [Theory]
    [InlineData("10M", 10_000_000)]
    [InlineData("1.5k", 1_500)]
    [InlineData("2g", 2_000_000_000)]
    [InlineData("0", 0)]
    [InlineData("800", 800)]
    public void Rates_take_powers_of_1000(string text, long bps)
    {
        Assert.True(Iperf3.TryParseRate(text, out long v));
        Assert.Equal(bps, v);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fast")]
    [InlineData("10x")]
    [InlineData("-5M")]
    public void Garbage_is_not_a_rate(string text) => Assert.False(Iperf3.TryParseRate(text, out _));
}
