namespace Xmit.Tests.Support;

/// <summary>
/// Tests that measure the whole process (the managed heap's growth) run after the parallel ones and one at a time:
/// another test allocating meanwhile would be counted as theirs.
/// </summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;
