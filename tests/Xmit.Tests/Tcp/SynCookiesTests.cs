using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>The SYN-cookie arithmetic on its own: SipHash-2-4, the cookie round trip, its age limit, the timestamp options.</summary>
public class SynCookiesTests
{
    private static readonly TcpFourTuple Tuple = new(new Ipv4Address(198, 18, 0, 2), 80, new Ipv4Address(198, 19, 1, 2), 40000);

    [Fact]
    public void SipHash_2_4_gives_the_reference_vector()
    {
        // The reference implementation's vector for the key 00..0f and the 16-byte message 00..0f.
        ulong k0 = 0x0706050403020100, k1 = 0x0f0e0d0c0b0a0908;
        Assert.Equal(0x3f2acc7f57c29bdbUL, SynCookies.SipHash24(k0, k1, 0x0706050403020100, 0x0f0e0d0c0b0a0908));
    }

    [Theory]
    [InlineData(1460, 1460)]
    [InlineData(1500, 1460)]
    [InlineData(1448, 1440)]
    [InlineData(1300, 1300)]
    [InlineData(1000, 536)]
    [InlineData(536, 536)]
    public void A_cookie_carries_the_MSS_rounded_down_to_the_table(int offered, int encoded)
    {
        var cookies = new SynCookies(new DeterministicRandom(1));
        var now = new Instant(5_000_000_000);
        int mss = offered;
        var isn = cookies.InitSequence(Tuple, new TcpSeq(1000), ref mss, now);
        Assert.Equal(encoded, mss);
        // The ACK: seq = peer ISN + 1, ack = cookie + 1.
        Assert.Equal(encoded, cookies.Check(Tuple, isn + 1, new TcpSeq(1001), now + Duration.FromSeconds(30)));
        Assert.Equal(0, cookies.Check(Tuple with { RemotePort = 40001 }, isn + 1, new TcpSeq(1001), now));
        Assert.Equal(0, cookies.Check(Tuple, isn + 1001, new TcpSeq(1001), now)); // (one off would read as the next MSS index, as on Linux)
        // Good for the minute it was made and the next one: not two minutes later.
        Assert.Equal(0, cookies.Check(Tuple, isn + 1, new TcpSeq(1001), now + Duration.FromSeconds(120)));
    }

    [Fact]
    public void The_cookie_timestamp_carries_wscale_and_SACK_and_is_never_ahead_of_the_clock()
    {
        uint ts = SynCookies.InitTimestamp(100_000, wscaleOk: true, sndWscale: 7, sackOk: true, ecnOk: false);
        Assert.True(ts <= 100_000);
        Assert.True(SynCookies.DecodeTimestamp(true, ts, 1, 1, 1, out bool sack, out bool ws, out byte scale));
        Assert.True(sack && ws);
        Assert.Equal(7, scale);
        ts = SynCookies.InitTimestamp(100_000, wscaleOk: false, sndWscale: 0, sackOk: false, ecnOk: false);
        Assert.True(SynCookies.DecodeTimestamp(true, ts, 1, 1, 1, out sack, out ws, out _));
        Assert.False(sack || ws);
    }
}
