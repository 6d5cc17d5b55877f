using Xmit.Transport.Tcp;

namespace Xmit.Tests.Tcp;

/// <summary>CUBIC's arithmetic against the closed form of RFC 9438 with Linux's constants (C = 0.4, β = 0.7).</summary>
public class CubicTests
{
    [Fact]
    public void After_a_loss_at_ten_segments_the_curve_is_flat_at_ssthresh_and_returns_to_wmax_after_k()
    {
        var cubic = new Cubic();
        Assert.Equal(7u, cubic.RecalcSsthresh(10)); // 10 × 717/1024
        // At the start of the epoch the target is W_max − C·K³: 10 − 3 in reals, 10 − 2 in Linux's fixed point
        // (C·K³ = 410·K³ ≫ 40 floors 2.99 to 2), one above cwnd: one segment per 7 ACKs.
        Assert.Equal(7u, cubic.Update(7, 1, nowJiffies: 1000));
        // K = ∛(W_max·(1 − β)/C) = ∛(10 · 0.3 / 0.4) ≈ 1.957 s: just after it the target is back at W_max = 10,
        // three segments above cwnd, so cwnd grows by one every 7 / 3 = 2 ACKs.
        Assert.Equal(2u, cubic.Update(7, 1, nowJiffies: 1000 + 1958));
        // Half a second in (t = 512/1024 s), C·(K − t)³ = 410 · 1492³ ≫ 40 = 1: target 9, one segment per 3 ACKs.
        var early = new Cubic();
        early.RecalcSsthresh(10);
        early.Update(7, 1, 1000);
        Assert.Equal(3u, early.Update(7, 1, 1000 + 500));
    }

    /// <summary>
    /// Fast convergence, then an epoch that starts above W_max, worked by hand with the arithmetic of net/ipv4/tcp_cubic.c
    /// cubictcp_recalc_ssthresh() and bictcp_update()
    /// (beta = 717, BICTCP_BETA_SCALE = 1024, cube_rtt_scale = bic_scale · 10 = 410, BICTCP_HZ = 10, HZ = 1000,
    /// beta_scale = 8·(1024 + 717) / 3 / (1024 − 717) = 13928 / 3 / 307 = 4642 / 307 = 15; delay_min = 0, so
    /// usecs_to_jiffies(delay_min) adds nothing to t):
    /// <code>
    /// recalc_ssthresh(cwnd 10): last_max_cwnd = 10;  ssthresh = max(10·717/1024, 2) = 7170/1024 = 7
    /// recalc_ssthresh(cwnd 7):  7 &lt; 10, so last_max_cwnd = 7·(1024+717)/(2·1024) = 12187/2048 = 5;
    ///                           ssthresh = 7·717/1024 = 5019/1024 = 4
    /// update(7, acked 1, t 5000): epoch_start = 5000, ack_cnt = 1, tcp_cwnd = 7; last_max 5 ≤ 7: K = 0, origin 7
    ///     t = ((5000 − 5000) &lt;&lt; 10) / 1000 = 0, offs = 0, delta = 0, bic_target = 7 + 0 = 7, not above cwnd:
    ///     cnt = 100·7 = 700 (last_max_cwnd ≠ 0: no cap at 20)
    ///     friendliness: delta = (7·15) &gt;&gt; 3 = 105 &gt;&gt; 3 = 13; ack_cnt 1 ≤ 13; tcp_cwnd 7 not above 7  → 700
    /// update(7, acked 13, t 5032): same cwnd, 32 jiffies &gt; HZ/32 = 31 since last_time: recompute
    ///     t = (32 &lt;&lt; 10) / 1000 = 32768/1000 = 32, offs = 32, delta = 410·32³ &gt;&gt; 40 = 13434880 &gt;&gt; 40 = 0:
    ///     bic_target = 7, cnt = 700
    ///     friendliness: ack_cnt = 1 + 13 = 14 &gt; 13: ack_cnt = 1, tcp_cwnd = 8; 8 &gt; 7: max_cnt = 7/(8−7) = 7,
    ///     cnt = min(700, 7) = 7                                                                       → 7
    /// update(7, acked 1, t 7000): t = (2000 &lt;&lt; 10) / 1000 = 2048, offs = 2048,
    ///     delta = 410·2048³ &gt;&gt; 40 = 410·2³³ &gt;&gt; 40 = 410/128 = 3 (3.2 floored): bic_target = 10,
    ///     cnt = 7/(10−7) = 2
    ///     friendliness: ack_cnt = 2 ≤ 13; tcp_cwnd 8 &gt; 7: max_cnt = 7, cnt 2 stays; max(2, 2)      → 2
    /// </code>
    /// </summary>
    [Fact]
    public void A_second_loss_below_wmax_lowers_wmax_further_fast_convergence()
    {
        var cubic = new Cubic();
        Assert.Equal(7u, cubic.RecalcSsthresh(10));
        // cwnd 7 < W_max 10: W_max becomes 7 × (1 + β)/2 ≈ 5.95 → 5, and ssthresh 7 × β = 4.
        Assert.Equal(4u, cubic.RecalcSsthresh(7));
        // With W_max (5) below cwnd the new epoch starts at its origin: K = 0 and the target is cwnd itself, so
        // CUBIC asks for the "very small increment" of one segment per 100 · cwnd ACKs.
        Assert.Equal(700u, cubic.Update(7, 1, 5000));
        // 32 ms on the curve has barely moved, but 14 ACKs are one Reno segment (13 per segment at cwnd 7):
        // the TCP-friendly estimate is ahead and caps the count at cwnd / 1.
        Assert.Equal(7u, cubic.Update(7, 13, 5032));
        // Two seconds into the epoch the curve is 3 segments above cwnd: one segment per 7 / 3 = 2 ACKs.
        Assert.Equal(2u, cubic.Update(7, 1, 7000));
    }
}
