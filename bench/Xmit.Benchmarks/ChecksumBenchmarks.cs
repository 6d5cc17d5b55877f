using BenchmarkDotNet.Attributes;
using Xmit.Wire;

namespace Xmit.Benchmarks;

/// <summary>The Internet checksum over a 64 KB TSO-sized buffer and a 1500-byte frame, next to a plain copy of the same bytes.</summary>
[MemoryDiagnoser]
public class ChecksumBenchmarks
{
    private byte[] _data = null!;
    private byte[] _copy = null!;

    [Params(1500, 65536)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Length];
        new Random(1).NextBytes(_data);
        _copy = new byte[Length];
    }

    [Benchmark]
    public ushort Vectorised() => Checksum.Fold(Checksum.Add(0, _data));

    [Benchmark]
    public ushort Scalar() => Checksum.Fold(Checksum.AddScalar(0, _data));

    [Benchmark(Baseline = true)]
    public void Memcpy() => _data.AsSpan().CopyTo(_copy);
}
