using Xmit.Simulation;
using Xmit.Time;

namespace Xmit.Tests.Support;

/// <summary>The mixed-fault link the socket-option fault tests share: 1 ms each way, 2 % loss, 5 % reordering, 2 % duplication, 1 % corruption.</summary>
public static class FaultyLink
{
    public static LinkConfig Mixed() => new()
    {
        Propagation = Duration.FromMilliseconds(1), LossRate = 0.02,
        Faults = new LinkFaults { ReorderRate = 0.05, DuplicateRate = 0.02, CorruptRate = 0.01 },
    };
}
