using System.Diagnostics;
using System.Threading;
using Xmit.Simulation;
using Xmit.Time;
using Timer = Xmit.Time.Timer;

namespace Xmit.Tests.AspNetCore;

/// <summary>The real-time driver: the simulation's clock follows the wall clock, and work posted from any thread runs on its one thread.</summary>
public class RealTimeSimulationTests
{
    [Fact]
    public async Task The_virtual_clock_follows_the_wall_clock_and_a_timer_fires_on_time()
    {
        using var sim = new Simulation.Simulation(1);
        using var realTime = new RealTimeSimulation(sim);
        var fired = new TaskCompletionSource<(Instant At, TimeSpan Wall)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var wall = Stopwatch.StartNew();
        var armedAt = await realTime.InvokeAsync(() =>
        {
            var timer = new Timer(sim.Scheduler, () => fired.SetResult((sim.Now, wall.Elapsed)), "test");
            timer.Arm(sim.Now + Duration.FromMilliseconds(300));
            return sim.Now;
        });
        var (at, elapsed) = await fired.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(armedAt + Duration.FromMilliseconds(300), at); // at its own instant of virtual time
        Assert.InRange(elapsed.TotalMilliseconds, 290, 2000); // not before its time on the wall clock (late only under load)
        var now = await realTime.InvokeAsync(() => sim.Now);
        Assert.True(now >= at, $"the clock went back: {now} after {at}");
        realTime.Stop();
        Assert.Null(realTime.Failure);
    }

    [Fact]
    public async Task Work_posted_from_many_threads_runs_on_the_simulation_thread_in_order_per_thread()
    {
        using var sim = new Simulation.Simulation(1);
        using var realTime = new RealTimeSimulation(sim);
        var seen = new List<(int Thread, int Index)>();
        int wrongThread = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
        {
            for (int i = 0; i < 1000; i++)
            {
                int index = i;
                realTime.Post(() =>
                {
                    if (!realTime.IsSimulationThread || SynchronizationContext.Current != realTime.Context) wrongThread++;
                    seen.Add((t, index)); // no lock: only the simulation's thread touches the list
                });
            }
            await realTime.InvokeAsync(() => 0);
        })));
        await realTime.InvokeAsync(() => 0);
        realTime.Stop();
        Assert.Equal(0, wrongThread);
        Assert.Equal(4000, seen.Count);
        foreach (var group in seen.GroupBy(s => s.Thread))
            Assert.Equal(Enumerable.Range(0, 1000), group.Select(s => s.Index));
        Assert.Null(realTime.Failure);
    }
}
