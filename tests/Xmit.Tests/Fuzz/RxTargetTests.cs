using Xmit.Fuzz;
using Xmit.Time;

namespace Xmit.Tests.Fuzz;

/// <summary>The fuzzers' honest parts, alone: what they check must hold before any frame is mutated.</summary>
public class RxTargetTests
{
    [Fact]
    public void Without_fuzzed_frames_the_legitimate_stream_arrives_and_nothing_is_left()
    {
        using var t = new RxTarget(seed: 3);
        for (int i = 0; i < 300; i++) t.Step(Duration.FromMilliseconds(2));
        Assert.True(t.ToT.Read > 1_000_000 && t.ToP.Read > 500_000, $"P→T {t.ToT.Read}/{t.ToT.Written}, T→P {t.ToP.Read}/{t.ToP.Written}");
        Assert.Equal(1, t.VictimsOpened);
        Assert.Empty(t.Finish());
    }
}
