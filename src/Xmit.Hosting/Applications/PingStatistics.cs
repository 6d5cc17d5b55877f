using System.Globalization;

namespace Xmit.Applications;

/// <summary>What ping's closing lines say: requests sent, replies, the loss, and the RTTs in milliseconds (null without a reply).</summary>
public sealed record PingSummary(long Transmitted, int Received, double LossPercent, double? MinMs, double? AvgMs, double? MaxMs, double? MdevMs);

/// <summary>ping's closing lines as iputils prints them: transmitted, received, loss, and rtt min/avg/max/mdev in ms.</summary>
/// <remarks>iputils ping/ping_common.c finish(): mdev = sqrt(mean(rtt²) − mean(rtt)²)</remarks>
public static class PingStatistics
{
    public static PingSummary Summarize(long transmitted, IReadOnlyList<PingReply> replies)
    {
        ArgumentNullException.ThrowIfNull(replies);
        int received = replies.Count;
        double loss = transmitted == 0 ? 0 : (transmitted - received) * 100.0 / transmitted;
        if (received == 0) return new PingSummary(transmitted, 0, loss, null, null, null, null);
        double min = double.MaxValue, max = 0, sum = 0, sum2 = 0;
        foreach (var r in replies)
        {
            double ms = r.Rtt.Nanoseconds / 1e6;
            min = Math.Min(min, ms);
            max = Math.Max(max, ms);
            sum += ms;
            sum2 += ms * ms;
        }
        double avg = sum / received;
        return new PingSummary(transmitted, received, loss, min, avg, max, Math.Sqrt(Math.Max(0, sum2 / received - avg * avg)));
    }

    public static IEnumerable<string> Lines(long transmitted, IReadOnlyList<PingReply> replies)
    {
        var s = Summarize(transmitted, replies);
        var inv = CultureInfo.InvariantCulture;
        yield return string.Create(inv, $"{s.Transmitted} packets transmitted, {s.Received} received, {s.LossPercent:0.#}% packet loss");
        if (s.Received == 0) yield break;
        yield return string.Create(inv, $"rtt min/avg/max/mdev = {s.MinMs:0.000}/{s.AvgMs:0.000}/{s.MaxMs:0.000}/{s.MdevMs:0.000} ms");
    }
}
