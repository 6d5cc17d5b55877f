using System.Buffers.Binary;
using System.Text.Json;
using Xmit.Cli;
using Xmit.Cli.Commands;
using Xmit.Time;

namespace Xmit.Tests.Cli;

/// <summary>
/// `xmit sim tcp`'s applications (`--app rr`, `--app stream`) and knobs (`--cork`, `--autocorking`, `--tso`, the device's
/// `--txqueuelen`, `--ring`, `--tx-usecs`, `--tx-frames`, `--bql`, `--bql-limit-max`): each does what it says, and the
/// numbers of each application add up.
/// </summary>
public class SimTcpApplicationTests
{
    private static JsonElement Json(TcpBulkConfig c)
    {
        var j = new StringWriter();
        Assert.Equal(0, SimTcpCommand.Run(c, null, true, j, TextWriter.Null));
        return JsonDocument.Parse(j.ToString()).RootElement;
    }

    private static string Text(TcpBulkConfig c)
    {
        var t = new StringWriter();
        Assert.Equal(0, SimTcpCommand.Run(c, null, false, t, TextWriter.Null));
        return t.ToString();
    }

    private static long Counter(JsonElement doc, string name) =>
        doc.GetProperty("senderCounters").TryGetProperty(name, out var v) ? v.GetInt64() : 0;

    [Fact]
    public void Request_response_moves_transactions_times_request_and_response_bytes()
    {
        var c = new TcpBulkConfig { Duration = Duration.FromMilliseconds(500), App = TcpApplication.RequestResponse, RequestSize = 100, ResponseSize = 10_000, NoDelay = true };
        var doc = Json(c);
        var rr = doc.GetProperty("requestResponse");
        long n = rr.GetProperty("transactions").GetInt64();
        Assert.True(n > 100, $"{n} transactions");
        // One transaction outstanding: B has read the completed requests and at most one more, written their responses
        // (and at most one more); A has read the completed responses and part of at most one more.
        long requestsRead = rr.GetProperty("requestBytesRead").GetInt64();
        long responsesWritten = rr.GetProperty("responseBytesWritten").GetInt64();
        long responsesRead = rr.GetProperty("responseBytesRead").GetInt64();
        Assert.InRange(requestsRead, n * 100, (n + 1) * 100);
        Assert.InRange(responsesWritten, n * 10_000, (n + 1) * 10_000);
        Assert.InRange(responsesRead, n * 10_000, n * 10_000 + 9_999);
        Assert.Equal(requestsRead, doc.GetProperty("goodput").GetProperty("bytesReceived").GetInt64());
        Assert.Equal(n / 0.5, rr.GetProperty("transactionsPerSecond").GetDouble(), 6);
        // A wrote every request it started: the completed ones and the one under way.
        Assert.InRange(doc.GetProperty("writes").GetProperty("bytesWritten").GetInt64(), n * 100, (n + 1) * 100);

        var lat = rr.GetProperty("latency");
        Assert.Equal(n, lat.GetProperty("count").GetInt64());
        // Latency × transactions fills the run (one at a time, the next at once), and a transaction cannot beat the
        // response's serialisation plus one round trip: 7 frames of 1514 bytes at 100 Mbit/s and 100 µs.
        Assert.InRange(lat.GetProperty("meanUs").GetDouble() * n, 0.98 * 500_000, 500_000);
        Assert.True(lat.GetProperty("minUs").GetDouble() > 7 * 1514 * 8 / 100.0 + 100, lat.ToString());
        Assert.True(lat.GetProperty("minUs").GetDouble() <= lat.GetProperty("p50Us").GetDouble()
            && lat.GetProperty("p50Us").GetDouble() <= lat.GetProperty("p99Us").GetDouble()
            && lat.GetProperty("p99Us").GetDouble() <= lat.GetProperty("maxUs").GetDouble());
        Assert.False(doc.TryGetProperty("stream", out _));
        Assert.Contains($"request/response: {n} transactions in 500 ms", Text(c), StringComparison.Ordinal);
    }

    [Fact]
    public void Stream_writes_the_rate_times_the_time_within_one_write()
    {
        var c = new TcpBulkConfig { Duration = Duration.FromSeconds(1), App = TcpApplication.Stream, StreamRateBitsPerSecond = 20_000_000, WriteSize = 10_000 };
        var doc = Json(c);
        var st = doc.GetProperty("stream");
        long offered = st.GetProperty("bytesOffered").GetInt64();
        long written = st.GetProperty("bytesWritten").GetInt64();
        Assert.Equal(4000, st.GetProperty("intervalUs").GetDouble(), 6); // 10,000 bytes × 8 / 20 Mbit/s
        Assert.Equal(250, st.GetProperty("messages").GetInt64()); // due at 0, 4, …, 996 ms
        Assert.Equal(st.GetProperty("messages").GetInt64() * 10_000, offered);
        Assert.InRange(offered, 20_000_000 / 8 * 1.0, 20_000_000 / 8 + 10_000); // rate × time, within one write
        // 20 Mbit/s on a 100 Mbit/s link: the socket takes everything at once, nothing waits in the application.
        Assert.Equal(offered, written);
        Assert.Equal(0, st.GetProperty("appBacklog").GetInt64());
        Assert.Equal(0, st.GetProperty("writeLatency").GetProperty("maxUs").GetDouble());
        Assert.Equal(written, doc.GetProperty("writes").GetProperty("bytesWritten").GetInt64());
        long read = st.GetProperty("bytesRead").GetInt64();
        Assert.InRange(read, written - 10_000, written); // all but the last write's tail reached B within the run
        var delivery = st.GetProperty("deliveryLatency");
        Assert.InRange(delivery.GetProperty("count").GetInt64(), 249, 250);
        // A write is serialised (7 frames at 100 Mbit/s) and crosses the 50 µs wire.
        Assert.True(delivery.GetProperty("minUs").GetDouble() > 10_000 * 8 / 100.0 + 50, delivery.ToString());
        Assert.False(doc.TryGetProperty("requestResponse", out _));
    }

    [Fact]
    public void A_stream_faster_than_the_link_waits_in_the_application()
    {
        var doc = Json(new TcpBulkConfig { Duration = Duration.FromSeconds(1), App = TcpApplication.Stream, StreamRateBitsPerSecond = 200_000_000 });
        var st = doc.GetProperty("stream");
        long offered = st.GetProperty("bytesOffered").GetInt64(), written = st.GetProperty("bytesWritten").GetInt64();
        Assert.Equal(offered - written, st.GetProperty("appBacklog").GetInt64());
        Assert.True(st.GetProperty("appBacklog").GetInt64() > offered / 3, st.ToString()); // 200 offered, ~94 carried
        Assert.True(st.GetProperty("appBacklogMax").GetInt64() >= st.GetProperty("appBacklog").GetInt64());
        Assert.True(st.GetProperty("writeLatency").GetProperty("p99Us").GetDouble() > 100_000, st.ToString());
        Assert.InRange(st.GetProperty("readBitsPerSecond").GetDouble(), 90e6, 94.2e6);
    }

    [Fact]
    public void Cork_sends_a_request_of_small_writes_as_one_full_segment()
    {
        // 1000-byte requests in ten 100-byte writes with TCP_NODELAY: without the cork the first write leaves alone
        // (autocorking holds the rest until it is transmitted); with it, the request leaves whole at the uncork.
        TcpBulkConfig Rr(bool cork) => new()
        {
            Duration = Duration.FromMilliseconds(200), App = TcpApplication.RequestResponse, RequestSize = 1000, ResponseSize = 100, WriteSize = 100,
            NoDelay = true, Cork = cork,
        };
        var open = Json(Rr(false));
        var corked = Json(Rr(true));
        long PerTransaction(JsonElement d) => Counter(d, "OutSegs") * 1000 / d.GetProperty("requestResponse").GetProperty("transactions").GetInt64();
        Assert.InRange(PerTransaction(corked), 1000, 1010); // one segment per request (and the handshake's)
        Assert.True(PerTransaction(open) >= 2000, $"{PerTransaction(open)} segments per 1000 transactions without the cork");
        Assert.Equal(0, Counter(corked, "TCPAutoCorking"));
    }

    [Fact]
    public void Cork_on_a_bulk_stream_of_small_writes_sends_only_full_segments()
    {
        // 100-byte writes with TCP_NODELAY at a link with room: alone, writes leave as they come when nothing is below
        // TCP; corked for good, every segment is a full MSS (IP datagrams of 1500 bytes, the MTU).
        var sizes = new List<int>();
        using (var pcap = new MemoryStream())
        {
            var c = new TcpBulkConfig { Duration = Duration.FromMilliseconds(200), WriteSize = 100, NoDelay = true, Cork = true, SndBuf = 20_000 };
            new TcpBulk(c, pcap).Run();
            foreach (var (len, data) in Frames(pcap.ToArray()))
                if (IsDataFromA(data)) sizes.Add(len);
        }
        Assert.NotEmpty(sizes);
        Assert.All(sizes, n => Assert.Equal(1514, n));
    }

    [Fact]
    public void Autocorking_0_never_autocorks()
    {
        var on = Json(new TcpBulkConfig { Duration = Duration.FromMilliseconds(500), WriteSize = 100, NoDelay = true });
        var off = Json(new TcpBulkConfig { Duration = Duration.FromMilliseconds(500), WriteSize = 100, NoDelay = true, Autocorking = 0 });
        Assert.True(Counter(on, "TCPAutoCorking") > 0);
        Assert.Equal(0, Counter(off, "TCPAutoCorking"));
        Assert.Contains("tcp_autocorking 0", off.GetProperty("scenario").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tso_off_puts_no_frame_longer_than_the_mtu_on_As_device_and_on_hands_the_driver_whole_skbs(bool tso)
    {
        var lengths = new List<int>();
        TcpBulkReport r;
        using (var pcap = new MemoryStream())
        {
            r = new TcpBulk(new TcpBulkConfig { Duration = Duration.FromMilliseconds(500), Tso = tso }, pcap).Run();
            foreach (var (len, data) in Frames(pcap.ToArray()))
                if (IsDataFromA(data)) lengths.Add(len);
        }
        int mssFrame = r.Goodput.FrameBytes; // one MSS and its headers
        if (!tso) Assert.All(lengths, n => Assert.True(n <= mssFrame, $"{n}-byte frame"));
        else Assert.Contains(lengths, n => n > 10 * mssFrame);
        // Either way the wire carries MSS-sized frames and the link is full.
        Assert.True(r.Goodput.Utilisation > 0.99, r.Goodput.ToString());
        var wire = r.Ledger.Single(l => l.Layer == "wire A→B");
        var ring = r.Ledger.Single(l => l.Layer == "driver ring (A)");
        Assert.Equal(ring.Out, wire.In);
        Assert.All(r.Ledger, l => Assert.True(l.Balanced, l.Describe()));
        Assert.Equal(0, r.LeakedSkbs);
    }

    [Fact]
    public void Device_knobs_reach_the_device_and_driver()
    {
        var c = new TcpBulkConfig
        {
            Duration = Duration.FromMilliseconds(300),
            Device = new DeviceKnobs { TxQueueLen = 5, RingSize = 64, TxUsecs = Duration.FromMicroseconds(20), TxFrames = 4, BqlLimitMax = 3000 },
        };
        var r = new TcpBulk(c).Run();
        Assert.Contains("limit 5p per band", r.Qdisc, StringComparison.Ordinal);
        Assert.Contains("txqueuelen 5, ring 64, tx-usecs 20us, tx-frames 4, BQL limit_max 3000", r.Scenario, StringComparison.Ordinal);
        Assert.True(r.Goodput.Utilisation > 0.9, r.Goodput.ToString());
        // txqueuelen 5 with 64 KiB skbs and BQL capped at 3000 bytes: the qdisc never holds more than 5 skbs per band.
        Assert.All(r.Samples, s => Assert.True(s.QdiscBacklog <= 5 * 66_000, $"{s.QdiscBacklog}"));
    }

    [Fact]
    public void Bql_limit_max_caps_the_bytes_in_the_ring_and_bql_off_lets_it_fill()
    {
        // Through the UDP command, whose report has the ring's bytes and BQL's limit (the option is the same one).
        var capped = Device(new UdpFloodConfig { Duration = Duration.FromMilliseconds(100), Device = new DeviceKnobs { BqlLimitMax = 1514 } });
        var on = Device(new UdpFloodConfig { Duration = Duration.FromMilliseconds(100) });
        var off = Device(new UdpFloodConfig { Duration = Duration.FromMilliseconds(100), Device = new DeviceKnobs { Bql = false } });
        Assert.InRange(capped.GetProperty("bqlLimit").GetInt64(), 1, 1514);
        Assert.True(capped.GetProperty("ringBytesMax").GetInt64() < on.GetProperty("ringBytesMax").GetInt64(), $"capped {capped}, default {on}");
        Assert.True(off.GetProperty("ringBytesMax").GetInt64() > on.GetProperty("ringBytesMax").GetInt64(), $"off {off}, default {on}");
        Assert.Equal(0, off.GetProperty("bqlStops").GetInt64());
    }

    private static JsonElement Device(UdpFloodConfig c)
    {
        var j = new StringWriter();
        Assert.Equal(0, SimFloodCommand.Run(c, null, true, null, j, TextWriter.Null));
        return JsonDocument.Parse(j.ToString()).RootElement.GetProperty("device").Clone();
    }

    /// <summary>Ethernet/IPv4/TCP frames from A (198.18.0.1) to B's port 5001 that carry data.</summary>
    private static bool IsDataFromA(byte[] f)
    {
        if (f.Length < 54 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 6 || f[29] != 1) return false;
        int ihl = (f[14] & 15) * 4;
        int tcp = 14 + ihl;
        if (BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(tcp + 2)) != 5001) return false;
        int ipLen = BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(16));
        return ipLen - ihl - (f[tcp + 12] >> 4) * 4 > 0;
    }

    /// <summary>The frames of a pcap file: original length and the captured bytes.</summary>
    private static IEnumerable<(int Length, byte[] Data)> Frames(byte[] pcap)
    {
        for (int o = 24; o + 16 <= pcap.Length;)
        {
            int incl = (int)BinaryPrimitives.ReadUInt32LittleEndian(pcap.AsSpan(o + 8));
            int orig = (int)BinaryPrimitives.ReadUInt32LittleEndian(pcap.AsSpan(o + 12));
            yield return (orig, pcap.AsSpan(o + 16, incl).ToArray());
            o += 16 + incl;
        }
    }
}
