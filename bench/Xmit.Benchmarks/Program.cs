using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Xmit.Benchmarks;

// `throughput`: the UDP throughput harness, `throughput tcp` the TCP bulk one, `throughput tcp-scaling` cost per packet for 1…10,000 connections; anything else goes to BenchmarkDotNet (e.g. --filter '*').
if (args.Length > 0 && args[0] == "throughput")
{
    if (args.Length > 1 && args[1] == "tcp") TcpThroughput.Run(Console.Out);
    else if (args.Length > 1 && args[1] == "tcp-scaling") TcpScaling.Run(Console.Out);
    else Throughput.Run(Console.Out);
    return 0;
}

// In-process toolchain: BenchmarkDotNet 0.14 predates .NET 10's target moniker, and the memory
// diagnoser works the same in process.
var config = DefaultConfig.Instance.AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
BenchmarkSwitcher.FromAssembly(typeof(HotPathBenchmarks).Assembly).Run(args, config);
return 0;
