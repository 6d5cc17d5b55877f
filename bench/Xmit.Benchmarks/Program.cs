using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Xmit.Benchmarks;

// `throughput` (or `throughput udp`): the UDP throughput harness, `throughput tcp` the TCP bulk one, `throughput tcp-scaling` cost per packet for 1…10,000 connections; anything else goes to BenchmarkDotNet (e.g. --filter '*').
if (args.Length > 0 && args[0] == "throughput")
{
    switch (args.Length > 1 ? args[1] : "udp")
    {
        case "udp": Throughput.Run(Console.Out); break;
        case "tcp": TcpThroughput.Run(Console.Out); break;
        case "tcp-scaling": TcpScaling.Run(Console.Out); break;
        default:
            Console.Error.WriteLine($"throughput: unknown harness '{args[1]}' (udp, tcp or tcp-scaling)");
            return 2;
    }
    return 0;
}

// In-process toolchain: BenchmarkDotNet 0.14 predates .NET 10's target moniker, and the memory
// diagnoser works the same in process.
var config = DefaultConfig.Instance.AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
BenchmarkSwitcher.FromAssembly(typeof(HotPathBenchmarks).Assembly).Run(args, config);
return 0;
