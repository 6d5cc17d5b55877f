using System.Text.Json;
using Xmit.Cli;
using Xmit.Cli.Commands;
using Xmit.Time;

namespace Xmit.Tests.Cli;

/// <summary>
/// The whole-run plots of `xmit sim tcp`: per pixel column, the true min and max of each quantity (observed after every
/// simulated event), in a number of buckets that does not grow with the run.
/// </summary>
public class TcpEnvelopeTests
{
    private static readonly int Quantities = Enum.GetValues<TcpPlotted>().Length;

    private static long[] All(long v) => [.. Enumerable.Repeat(v, Quantities)];

    [Fact]
    public void Each_bucket_holds_the_exact_min_and_max_of_a_fast_sawtooth_and_the_value_carried_into_it()
    {
        // A 0..999 sawtooth stepping every 7 µs over 100 ms, with a sparse stretch (one value held 30 ms) in the middle.
        var r = new TcpEnvelopeRecorder(100);
        var seen = new List<(double At, long V)>();
        for (double t = 0; t <= 100; t += 0.007)
        {
            if (t is > 40 and < 70) continue;
            long v = (long)(t * 1000 / 0.007) % 1000 + (t > 70 ? 5000 : 0);
            seen.Add((t, v));
            r.Observe(t, All(v));
        }
        var env = r.Build();
        Assert.Equal(TcpEnvelopeRecorder.Buckets, env.Buckets.Count);
        for (int c = 0; c < env.Buckets.Count; c++)
        {
            double from = c * env.BucketMs, to = from + env.BucketMs;
            // Brute force: the values observed in the bucket, and the one held into it from before.
            var inside = seen.Where(p => Math.Min((int)(p.At / env.BucketMs), TcpEnvelopeRecorder.Buckets - 1) == c).Select(p => p.V).ToList();
            var before = seen.LastOrDefault(p => p.At < from && Math.Min((int)(p.At / env.BucketMs), TcpEnvelopeRecorder.Buckets - 1) < c);
            if (c > 0) inside.Add(before.V);
            var b = env.Buckets[c];
            Assert.Equal(from, b.FromMs, 9);
            foreach (var m in new[] { b.Cwnd, b.QdiscBacklog, b.WmemAlloc, b.SrttUs })
                Assert.True(m == new MinMax(inside.Min(), inside.Max()), $"bucket {c}: {m} against {inside.Min()}..{inside.Max()}");
        }
        var quiet = env.Buckets.Where(b => b.FromMs > 41 && b.FromMs + env.BucketMs < 70).ToList();
        Assert.NotEmpty(quiet);
        Assert.All(quiet, b => Assert.Equal(b.QdiscBacklog.Min, b.QdiscBacklog.Max)); // nothing happened: the held value alone
    }

    [Fact]
    public void The_bucket_count_is_fixed_however_many_events_the_run_has()
    {
        var r = new TcpEnvelopeRecorder(3_600_000); // an hour
        for (int i = 0; i < 2_000_000; i++) r.Observe(i * 1.8, All(i));
        var env = r.Build();
        Assert.Equal(TcpEnvelopeRecorder.Buckets, env.Buckets.Count);
        Assert.Equal(0, env.Buckets[0].Cwnd.Min);
        Assert.Equal(1_999_999, env.Buckets[^1].Cwnd.Max);
    }

    private static JsonElement Json(TcpBulkConfig c)
    {
        var json = new StringWriter();
        Assert.Equal(0, SimTcpCommand.Run(c, null, true, null, json, TextWriter.Null));
        return JsonDocument.Parse(json.ToString()).RootElement;
    }

    private static readonly string[] Names = ["cwnd", "packetsInFlight", "wmemQueued", "sndBuf", "wmemAlloc", "tsqLimit", "qdiscBacklog", "srttUs"];

    [Fact]
    public void Every_sample_lies_in_its_bucket_and_the_envelope_holds_dips_the_samples_miss()
    {
        var doc = Json(new TcpBulkConfig { Duration = Duration.FromSeconds(2) });
        var env = doc.GetProperty("envelope");
        double bucketMs = env.GetProperty("bucketMs").GetDouble();
        var buckets = env.GetProperty("buckets").EnumerateArray().ToList();
        Assert.Equal(TcpEnvelopeRecorder.Buckets, buckets.Count);
        Assert.Equal(2000.0 / TcpEnvelopeRecorder.Buckets, bucketMs, 9);
        var samples = doc.GetProperty("samples").EnumerateArray().Concat(doc.GetProperty("detailSamples").EnumerateArray()).ToList();
        Assert.True(samples.Count > 1000);
        foreach (var s in samples)
        {
            var b = buckets[Math.Min((int)(s.GetProperty("atMs").GetDouble() / bucketMs), buckets.Count - 1)];
            foreach (var name in Names)
            {
                if (!s.TryGetProperty(name, out var v)) continue; // the fine series has no ssthresh etc.
                long x = v.GetInt64();
                var m = b.GetProperty(name);
                Assert.InRange(x, m.GetProperty("min").GetInt64(), m.GetProperty("max").GetInt64());
            }
        }
        // After the first second the samples are 100 ms apart, and sk_wmem_alloc (the bytes below TCP) dips lower
        // between them than at any of them: the envelope has the dips.
        long sampledMin = samples.Where(s => s.GetProperty("atMs").GetDouble() >= 1000).Min(s => s.GetProperty("wmemAlloc").GetInt64());
        long trueMin = buckets.Skip(buckets.Count / 2).Min(b => b.GetProperty("wmemAlloc").GetProperty("min").GetInt64());
        Assert.True(trueMin < sampledMin, $"envelope min {trueMin}, sampled min {sampledMin}");
    }

    [Fact]
    public void A_long_run_keeps_the_same_number_of_buckets()
    {
        var doc = Json(new TcpBulkConfig { Duration = Duration.FromSeconds(120), RateBitsPerSecond = 2_000_000 });
        var env = doc.GetProperty("envelope");
        Assert.Equal(TcpEnvelopeRecorder.Buckets, env.GetProperty("buckets").GetArrayLength());
        Assert.Equal(120_000.0 / TcpEnvelopeRecorder.Buckets, env.GetProperty("bucketMs").GetDouble(), 9);
        Assert.True(doc.GetProperty("simulatedEvents").GetInt64() > 50 * TcpEnvelopeRecorder.Buckets); // far more events than buckets
    }
}
