using Xmit.Fuzz;

namespace Xmit.Tests.Fuzz;

/// <summary>
/// The fuzzers over fixed seeds, for a bounded count (about a second each): no exception, no broken invariant,
/// no leak. `xmit fuzz rx|syscalls` runs the same code for millions; a finding there becomes a test elsewhere.
/// </summary>
public class FuzzTests
{
    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Mutated_frames_into_live_sockets_throw_nothing_break_nothing_and_leak_nothing(ulong seed)
    {
        var r = RxFuzzer.Run(new RxFuzzOptions { Frames = 20_000, Seed = seed, FramesPerEpoch = 10_000 });
        Assert.True(r.Clean, r.Summary("frames") + "\n" + r.FirstException);
        Assert.Equal(20_000, r.Count);
        Assert.True(r.Tally["legit bytes P→T"] > 1_000_000, r.TallyText());
        // The fuzz reached the state it was aimed at: datagrams reassembled, victims reset and replaced.
        Assert.True(r.Tally["ip ReasmOKs"] > 0 && r.Tally["victim connections"] > 2, r.TallyText());
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Random_system_calls_on_two_hosts_return_only_errnos_and_leak_nothing(ulong seed)
    {
        var r = SyscallFuzzer.Run(new SyscallFuzzOptions { Calls = 100_000, Seed = seed, CallsPerEpoch = 10_000 });
        Assert.True(r.Clean, r.Summary("calls") + "\n" + r.FirstException + "\n" + r.FirstLeak);
        Assert.Equal(100_000, r.Count);
        // Calls got past argument checking: connections accepted, data sent and read.
        Assert.True(r.Tally.GetValueOrDefault("call accept ok") > 0 && r.Tally.GetValueOrDefault("call recv ok") > 0, r.TallyText());
    }

    [Fact]
    public void The_same_seed_gives_the_same_run()
    {
        var a = RxFuzzer.Run(new RxFuzzOptions { Frames = 3000, Seed = 9 });
        var b = RxFuzzer.Run(new RxFuzzOptions { Frames = 3000, Seed = 9 });
        Assert.Equal(a.TallyText(), b.TallyText());
        var c = SyscallFuzzer.Run(new SyscallFuzzOptions { Calls = 5000, Seed = 9 });
        var d = SyscallFuzzer.Run(new SyscallFuzzOptions { Calls = 5000, Seed = 9 });
        Assert.Equal(c.TallyText(), d.TallyText());
    }
}
