using System.Text.Json;
using Xmit.Tests.Support;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// Every point of linux-truth's udp-eagain.json: non-blocking sendto in a tight loop until the first error,
/// on a connected socket across a veth shaped by tbf. Same sends before the error, same error, same
/// wmem_alloc at the error, same frames out of the qdisc during the loop, same counter deltas.
/// </summary>
public class UdpEagainTests
{
    public sealed record Point(int? SoSndbufSet, int SndbufGetsockopt, int Payload, int SendsOk, string FirstError,
        int WmemAtError, int FramesLeft, int SndbufErrorsDelta, int OutDiscardsDelta)
    {
        public override string ToString() => $"sndbuf {SoSndbufSet?.ToString() ?? "default"}, payload {Payload}";
    }

    public static TheoryData<Point> Points()
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "udp-eagain.json")));
        var data = new TheoryData<Point>();
        foreach (var r in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            var set = r.GetProperty("so_sndbuf_set");
            data.Add(new Point(set.ValueKind == JsonValueKind.Null ? null : set.GetInt32(), r.GetProperty("sndbuf_getsockopt").GetInt32(),
                r.GetProperty("payload").GetInt32(), r.GetProperty("sends_ok_before_first_error").GetInt32(),
                r.GetProperty("first_error").GetString()!, r.GetProperty("wmem_alloc_at_error").GetInt32(),
                r.GetProperty("frames_left_qdisc_during_loop").GetInt32(), r.GetProperty("udp_sndbuf_errors_delta").GetInt32(),
                r.GetProperty("ip_out_discards_delta").GetInt32()));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Points))]
    public void Tight_nonblocking_loop_matches_linux(Point p)
    {
        using var net = new VethTbf(p.SoSndbufSet);
        Assert.Equal(p.SndbufGetsockopt, net.Socket.SndBuf);
        long sndbufErrors0 = net.A.Mib.Udp.SndbufErrors, outDiscards0 = net.A.Mib.Ip.OutDiscards;
        long left0 = net.Tbf.Stats.Packets;

        int ok = 0;
        int rc;
        while ((rc = net.Send(p.Payload)) >= 0)
        {
            Assert.Equal(p.Payload, rc);
            ok++;
            Assert.True(ok < 100_000, "no error after 100000 sends");
        }
        long wmem = net.Socket.WmemAlloc;
        long left = net.Tbf.Stats.Packets - left0;

        Assert.Equal((p.FirstError, p.SendsOk, p.WmemAtError, p.FramesLeft),
            (((Errno)(-rc)).ToString(), ok, (int)wmem, (int)left));
        Assert.Equal(p.SndbufErrorsDelta, net.A.Mib.Udp.SndbufErrors - sndbufErrors0);
        Assert.Equal(p.OutDiscardsDelta, net.A.Mib.Ip.OutDiscards - outDiscards0);
        Assert.Equal(ok, net.A.Mib.Udp.OutDatagrams);
    }
}
