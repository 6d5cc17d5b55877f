using System.Globalization;

namespace Xmit.Applications;

/// <summary>ping's closing lines as iputils prints them: transmitted, received, loss, and rtt min/avg/max/mdev in ms.</summary>
/// <remarks>iputils ping/ping_common.c finish(): mdev = sqrt(mean(rtt²) − mean(rtt)²)</remarks>
public static class PingStatistics
{
    public static IEnumerable<string> Lines(long transmitted, IReadOnlyList<PingReply> replies)
    {
        ArgumentNullException.ThrowIfNull(replies);
        var inv = CultureInfo.InvariantCulture;
        int received = replies.Count;
        double loss = transmitted == 0 ? 0 : (transmitted - received) * 100.0 / transmitted;
        yield return string.Create(inv, $"{transmitted} packets transmitted, {received} received, {loss:0.#}% packet loss");
        if (received == 0) yield break;
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
        double mdev = Math.Sqrt(Math.Max(0, sum2 / received - avg * avg));
        yield return string.Create(inv, $"rtt min/avg/max/mdev = {min:0.000}/{avg:0.000}/{max:0.000}/{mdev:0.000} ms");
    }
}
