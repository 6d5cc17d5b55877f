using System.Threading;
using Xmit.Time;
using Timer = Xmit.Time.Timer;

namespace Xmit.Simulation;

/// <summary>
/// Async application code (TcpStream, TcpListener, UdpSocket waits) in a simulation: an app starts as an event
/// of the simulation, its awaits resume as the simulation processes the wake-ups, and the test runs virtual time
/// until the app's task is done. Deterministic: one thread, no thread pool, no wall clock.
/// </summary>
public static class SimulationTasks
{
    /// <summary>
    /// Starts <paramref name="app"/> as an event at the current instant; the returned task completes with it.
    /// Run the simulation with <see cref="RunUntilCompleted"/> so its awaits resume inline.
    /// </summary>
    public static Task Start(this Simulation simulation, Func<Task> app)
    {
        ArgumentNullException.ThrowIfNull(simulation);
        ArgumentNullException.ThrowIfNull(app);
        var done = new TaskCompletionSource();
        var kick = new Timer(simulation.Scheduler, () =>
        {
            Task task;
            try
            {
                task = app();
            }
            catch (Exception e)
            {
                done.SetException(e);
                return;
            }
            // ExecuteSynchronously: the completion is passed on in the same event, not queued to the thread pool.
            task.ContinueWith(static (t, s) => ((TaskCompletionSource)s!).SetFromTask(t), done,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }, "app-start");
        kick.Arm(simulation.Now);
        return done.Task;
    }

    /// <summary>
    /// Runs events until <paramref name="task"/> completes (the clock then stands at that instant) or
    /// <paramref name="limit"/> of virtual time has passed, or nothing is left to run; returns whether it completed.
    /// No SynchronizationContext is current meanwhile, so an await inside the app — on a TcpStream or on another
    /// task of the app — resumes inline on this thread instead of being posted to a test runner's or UI's context.
    /// </summary>
    public static bool RunUntilCompleted(this Simulation simulation, Task task, Duration limit)
    {
        ArgumentNullException.ThrowIfNull(simulation);
        ArgumentNullException.ThrowIfNull(task);
        var saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            var end = simulation.Now + limit;
            while (!task.IsCompleted && simulation.Scheduler.RunOne(end)) { }
            return task.IsCompleted;
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }
}
