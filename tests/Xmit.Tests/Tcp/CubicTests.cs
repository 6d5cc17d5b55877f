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

    [Fact]
    public void A_second_loss_below_wmax_lowers_wmax_further_fast_convergence()
    {
        var cubic = new Cubic();
        Assert.Equal(7u, cubic.RecalcSsthresh(10));
        // cwnd 7 < W_max 10: W_max becomes 7 × (1 + β)/2 ≈ 5.95 → 5, and ssthresh 7 × β = 4.
        Assert.Equal(4u, cubic.RecalcSsthresh(7));
        // With W_max (5) below cwnd the new epoch starts at its origin: K = 0, the curve only grows.
        Assert.True(cubic.Update(7, 1, 5000) <= 100 * 7);
    }
}
