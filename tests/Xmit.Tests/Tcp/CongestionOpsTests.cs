using Xmit.Hosting;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>The congestion-control hooks (tcp_congestion_ops) and the sequence-number type they and the rest of TCP use.</summary>
public class CongestionOpsTests
{
    [Fact]
    public void Reno_halves_on_loss_and_grows_one_segment_per_window_in_congestion_avoidance()
    {
        using var net = new TwoHosts();
        var sk = net.A.Tcp.Create();
        var reno = new Reno();
        sk.SndCwnd = 20;
        Assert.Equal(10u, reno.SsThresh(sk));          // tcp_reno_ssthresh: cwnd / 2
        sk.SndCwnd = 3;
        Assert.Equal(2u, reno.SsThresh(sk));           // never below 2

        // Slow start: cwnd 4 → 8 after 4 ACKed segments, capped at ssthresh 6; the 2 left over start the count.
        sk.SndCwnd = 4;
        sk.SndSsthresh = 6;
        sk.IsCwndLimited = true;
        reno.CongAvoid(sk, 4, nowJiffies: 0);
        Assert.Equal(6u, sk.SndCwnd);
        Assert.Equal(2u, sk.SndCwndCnt);
        // Congestion avoidance: one more segment after cwnd (6) segments were ACKed.
        reno.CongAvoid(sk, 3, 0);
        Assert.Equal(6u, sk.SndCwnd);
        reno.CongAvoid(sk, 1, 0);
        Assert.Equal(7u, sk.SndCwnd);
        // Not cwnd-limited: no growth at all (tcp_is_cwnd_limited).
        sk.IsCwndLimited = false;
        sk.MaxPacketsOut = 0;
        reno.CongAvoid(sk, 100, 0);
        Assert.Equal(7u, sk.SndCwnd);
    }

    [Fact]
    public void The_sysctl_chooses_the_algorithm_of_new_sockets_and_children_inherit_the_listeners()
    {
        using var net = new TwoHosts();
        Assert.Equal("cubic", net.A.Tcp.Create().CongestionOps.Name); // Linux's default
        Assert.True(net.A.Sysctls.TrySet("net.ipv4.tcp_congestion_control", "reno", out _));
        Assert.Equal("reno", net.A.Tcp.Create().CongestionOps.Name);
        Assert.False(net.A.Sysctls.TrySet("net.ipv4.tcp_congestion_control", "vegas", out var error));
        Assert.Contains("vegas", error);
        Assert.Equal("reno", net.A.Sysctls.TcpCongestionControl);
    }

    [Theory]
    [InlineData(1u, 2u, true)]
    [InlineData(0xFFFF_FFF0u, 0x10u, true)]       // across the wrap
    [InlineData(0x10u, 0xFFFF_FFF0u, false)]
    [InlineData(5u, 5u, false)]
    public void Sequence_numbers_compare_modulo_two_to_the_32(uint a, uint b, bool before)
    {
        var x = new TcpSeq(a);
        var y = new TcpSeq(b);
        Assert.Equal(before, x < y);
        Assert.Equal(before, y > x);
        Assert.Equal(!before, x >= y);
        Assert.Equal(a == b || before, x <= y);
        Assert.Equal(b - a, y - x);
        Assert.Equal(y, x + (b - a));
    }
}
