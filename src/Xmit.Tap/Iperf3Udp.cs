using System.Buffers.Binary;
using System.Globalization;
using Xmit.Applications;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Wire;
using Timer = Xmit.Time.Timer;

namespace Xmit.Tap;

/// <summary>
/// iperf3's UDP tests: each stream "connects" with a 4-byte datagram from the client (UDP_CONNECT_MSG) that the server
/// answers from a socket connected back to the client (UDP_CONNECT_REPLY); every data datagram starts with the sender's
/// clock (sec, usec) and a packet count, all big-endian; the receiver counts gaps as lost, backward steps as out of order,
/// and keeps RFC 1889's jitter; the sender is held to its bitrate (-b, per stream, 1 Mbit/s by default).
/// </summary>
/// <remarks>iperf3 (esnet/iperf): src/iperf_udp.c iperf_udp_recv(), iperf_udp_send(), iperf_udp_accept(), iperf_udp_connect(); src/iperf_api.c iperf_check_throttle(), send_results(), get_results(), iperf_print_results(); src/iperf_client_api.c iperf_connect() (the UDP block size from the control connection's MSS); src/units.c unit_atof_rate()</remarks>
public static partial class Iperf3
{
    // iperf.h. iperf3 write()s these as a host-order unsigned int, so what an x86 peer puts on the wire is little-endian.
    private const uint UdpConnectMsg = 0x36373839, UdpConnectReply = 0x39383736, LegacyUdpConnectReply = 987654321;

    /// <summary>UDP_RATE: iperf3's default UDP bitrate, 1024 × 1024 bit/s.</summary>
    public const long DefaultUdpRate = 1024 * 1024;

    /// <summary>MIN_UDP_BLOCKSIZE (the header with a 64-bit count) and MAX_UDP_BLOCKSIZE (the largest IPv4 UDP payload).</summary>
    public const int MinUdpLength = 4 + 4 + 8, MaxUdpLength = 65535 - 8 - 20;

    /// <summary>DEFAULT_UDP_BLKSIZE: the length when the control connection's MSS is not known.</summary>
    private const int DefaultUdpLength = 1460;

    /// <summary>iperf_udp_connect(): in reverse mode, how many data datagrams may come before the reply.</summary>
    private const int MaxReverseOutOfOrderPackets = 2;

    /// <summary>
    /// One UDP stream's count: a sender's datagrams sent; a receiver's highest sequence number seen, the gaps it counted
    /// as lost, the datagrams that came out of order and the jitter in seconds.
    /// </summary>
    public sealed record UdpStats(long Packets, long Lost, long OutOfOrder, double JitterSeconds);

    /// <summary>unit_atof_rate(): a number with an optional k, m, g or t (powers of 1000); false where iperf3 would read garbage.</summary>
    public static bool TryParseRate(string text, out long bitsPerSecond)
    {
        bitsPerSecond = 0;
        if (string.IsNullOrEmpty(text)) return false;
        double unit = char.ToLowerInvariant(text[^1]) switch { 'k' => 1e3, 'm' => 1e6, 'g' => 1e9, 't' => 1e12, _ => 1 };
        var number = unit == 1 ? text : text[..^1];
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v)) return false;
        double bps = v * unit;
        if (double.IsNaN(bps) || bps >= long.MaxValue) return false;
        bitsPerSecond = (long)bps;
        return true;
    }

    /// <summary>The clock in a datagram's header: the host's (iperf_time_now() reads CLOCK_MONOTONIC; only differences matter).</summary>
    private static (uint Sec, uint Usec) Clock(Instant now) => ((uint)(now.Nanoseconds / 1_000_000_000), (uint)(now.Nanoseconds % 1_000_000_000 / 1000));

    /// <summary>iperf_udp_recv()'s state for one stream.</summary>
    internal sealed class UdpReceiveCounter
    {
        public long Bytes, PacketCount, Errors, OutOfOrder;
        public double Jitter, PrevTransit;

        public UdpStats Stats => new(PacketCount, Errors, OutOfOrder, Jitter);

        public void Account(ReadOnlySpan<byte> d, Instant arrival, bool counters64)
        {
            bool first = Bytes == 0;
            Bytes += d.Length;
            if (d.Length < (counters64 ? 16 : 12)) return; // no header to read (iperf3 would read stale buffer bytes)
            uint sec = BinaryPrimitives.ReadUInt32BigEndian(d), usec = BinaryPrimitives.ReadUInt32BigEndian(d[4..]);
            long pcount = counters64 ? (long)BinaryPrimitives.ReadUInt64BigEndian(d[8..]) : BinaryPrimitives.ReadUInt32BigEndian(d[8..]);
            if (pcount >= PacketCount + 1)
            {
                if (pcount > PacketCount + 1) Errors += pcount - 1 - PacketCount; // a gap counts as lost
                PacketCount = pcount;
            }
            else
            {
                // Backward: out of order, and it fills a gap counted as lost before.
                OutOfOrder++;
                if (Errors > 0) Errors--;
            }
            // RFC 1889 A.8: the transit time's change, smoothed by 1/16. The clocks need not agree, only tick alike;
            // iperf_time_diff() is the absolute difference.
            double transit = Math.Abs(arrival.TotalSeconds - (sec + usec / 1e6));
            if (first) PrevTransit = transit;
            double change = Math.Abs(transit - PrevTransit);
            PrevTransit = transit;
            Jitter += (change - Jitter) / 16.0;
        }
    }

    /// <summary>Completes at <paramref name="at"/> on the host's loop (a timer; the loop runs in real time over TAP).</summary>
    private static Task DelayUntil(TapHost tap, Timer timer, ref TaskCompletionSource slot, Instant at)
    {
        slot = new TaskCompletionSource();
        timer.Arm(Instant.Max(at, tap.Loop.Now));
        return slot.Task;
    }

    /// <summary>
    /// iperf_udp_send() paced by iperf_check_throttle(): a stream may send while its average since the start is below
    /// <paramref name="rate"/>, so after each datagram it waits until that is true again (iperf3 looks every pacing_timer
    /// microseconds; waiting for the exact instant gives the same average). Returns the datagrams sent; adds the bytes to
    /// <paramref name="bytes"/>[<paramref name="i"/>].
    /// </summary>
    private static async Task<long> SendUdp(TapHost tap, UdpSocket sock, int len, long rate, bool counters64, long[] bytes, int i, Func<bool> stop)
    {
        var datagram = new byte[len];
        TaskCompletionSource wake = new();
        var timer = new Timer(tap.Loop, () => wake.TrySetResult(), "iperf3-udp-pace");
        var start = tap.Loop.Now;
        long packets = 0;
        try
        {
            while (!stop())
            {
                var (sec, usec) = Clock(tap.Loop.Now);
                BinaryPrimitives.WriteUInt32BigEndian(datagram, sec);
                BinaryPrimitives.WriteUInt32BigEndian(datagram.AsSpan(4), usec);
                if (counters64) BinaryPrimitives.WriteUInt64BigEndian(datagram.AsSpan(8), (ulong)(packets + 1));
                else BinaryPrimitives.WriteUInt32BigEndian(datagram.AsSpan(8), (uint)(packets + 1));
                var r = sock.Send(datagram);
                if (r.WouldBlock)
                {
                    await sock.WaitWritableAsync(); // the same number goes out again, as iperf3 un-counts a failed send
                    continue;
                }
                // ECONNREFUSED: the receiver has closed its socket (the test is ending) and its kernel answered with ICMP.
                if (r.Error == Errno.ECONNREFUSED) continue;
                if (!r.Ok) throw new IOException($"iperf3: UDP send failed: {r.Error}");
                packets++;
                bytes[i] += r.Bytes;
                if (rate > 0) await DelayUntil(tap, timer, ref wake, start + Duration.ForBits(bytes[i] * 8, rate));
                else if (packets % 64 == 0) await DelayUntil(tap, timer, ref wake, tap.Loop.Now); // let the loop poll the device
            }
        }
        finally
        {
            timer.Disarm();
        }
        return packets;
    }

    /// <summary>
    /// Reads a stream's datagrams into <paramref name="counter"/> until <paramref name="ended"/> holds and nothing came for
    /// 100 ms: iperf3 stops counting at TEST_END, but then what was in flight is neither received nor lost; counting it
    /// makes the receiver's count the sender's.
    /// </summary>
    private static async Task ReceiveUdp(TapHost tap, UdpSocket sock, UdpReceiveCounter counter, bool counters64, Func<bool> ended)
    {
        var buf = new byte[MaxUdpLength + 1];
        var lastData = tap.Loop.Now;
        var quiet = new TaskCompletionSource();
        Timer? watch = null;
        watch = new Timer(tap.Loop, () =>
        {
            if (ended() && tap.Loop.Now - lastData >= Duration.FromMilliseconds(100)) quiet.TrySetResult();
            else watch!.ArmAfter(Duration.FromMilliseconds(10));
        }, "iperf3-udp-quiet");
        watch.ArmAfter(Duration.FromMilliseconds(10));
        try
        {
            while (!quiet.Task.IsCompleted)
            {
                var r = sock.ReceiveFrom(buf);
                if (r.Ok)
                {
                    counter.Account(buf.AsSpan(0, r.Bytes), tap.Loop.Now, counters64);
                    lastData = tap.Loop.Now;
                }
                else if (r.Error == Errno.EAGAIN) await Task.WhenAny(sock.WaitReadableAsync(), quiet.Task);
                else if (r.Error != Errno.ECONNREFUSED) throw new IOException($"iperf3: UDP receive failed: {r.Error}");
            }
        }
        finally
        {
            watch.Disarm();
        }
    }

    /// <summary>The next datagram (an ICMP error from an earlier send, ECONNREFUSED, is not one).</summary>
    private static async Task<ReceiveResult> ReceiveOne(UdpSocket sock, byte[] buf)
    {
        while (true)
        {
            var r = sock.ReceiveFrom(buf);
            if (r.Ok) return r;
            if (r.Error is not (Errno.EAGAIN or Errno.ECONNREFUSED)) throw new IOException($"iperf3: UDP receive failed: {r.Error}");
            await sock.WaitReadableAsync();
        }
    }

    private static bool IsConnectReply(ReadOnlySpan<byte> d) =>
        d.Length >= 4 && (BinaryPrimitives.ReadUInt32LittleEndian(d) is UdpConnectReply or LegacyUdpConnectReply
                          || BinaryPrimitives.ReadUInt32BigEndian(d) is UdpConnectReply or LegacyUdpConnectReply);

    private static byte[] HostOrder(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    /// <summary>iperf_udp_listen()/netannounce(): a UDP socket on the server's port, SO_REUSEADDR so the next one can share it.</summary>
    private static UdpSocket UdpListen(TapHost tap, ushort port)
    {
        var s = new UdpSocket(tap.Host);
        s.SetOption(SockOpt.SOL_SOCKET, SockOpt.SO_REUSEADDR, 1);
        var b = s.Bind(tap.Options.Address, port);
        if (!b.Ok)
        {
            s.Dispose();
            throw new IOException($"iperf3: UDP bind to port {port}: {b.Error}");
        }
        return s;
    }

    /// <summary>
    /// iperf_udp_accept(), once per stream: the listening socket takes the client's datagram, connects to its source and
    /// becomes the stream's; a new listener takes the port (the connected socket still gets the stream's datagrams: it
    /// matches more of the address) before the reply goes out.
    /// </summary>
    private static async Task<UdpSocket[]> UdpAccept(TapHost tap, ushort port, int parallel)
    {
        var streams = new List<UdpSocket>();
        var listener = UdpListen(tap, port);
        try
        {
            var buf = new byte[MaxUdpLength + 1];
            for (int i = 0; i < parallel; i++)
            {
                var hello = await ReceiveOne(listener, buf);
                var c = listener.Connect(hello.Source, hello.SourcePort);
                if (!c.Ok) throw new IOException($"iperf3: UDP connect to {hello.Source}:{hello.SourcePort}: {c.Error}");
                var stream = listener;
                streams.Add(stream);
                listener = UdpListen(tap, port);
                var w = stream.Send(HostOrder(UdpConnectReply));
                if (!w.Ok) throw new IOException($"iperf3: UDP connect reply: {w.Error}");
            }
            return streams.ToArray();
        }
        catch
        {
            foreach (var s in streams) s.Dispose();
            throw;
        }
        finally
        {
            listener.Dispose(); // all streams accepted: iperf3 closes the prot_listener
        }
    }

    /// <summary>iperf_udp_connect(): a socket connected to the server's port says hello and waits for the reply.</summary>
    private static async Task<UdpSocket> UdpConnect(TapHost tap, Ipv4Address server, ushort port, bool reverse, int len)
    {
        var s = new UdpSocket(tap.Host);
        try
        {
            var c = s.Connect(server, port);
            if (!c.Ok) throw new IOException($"iperf3: UDP connect to {server}:{port}: {c.Error}");
            var w = s.Send(HostOrder(UdpConnectMsg));
            if (!w.Ok) throw new IOException($"iperf3: UDP connect message: {w.Error}");
            var buf = new byte[MaxUdpLength + 1];
            // In reverse mode a few data datagrams may overtake the reply; iperf3 reads up to that many bytes for it.
            long allowed = 4 + (reverse ? MaxReverseOutOfOrderPackets * (long)len : 0), seen = 0;
            while (true)
            {
                var r = await ReceiveOne(s, buf);
                if (IsConnectReply(buf.AsSpan(0, r.Bytes))) return s;
                seen += r.Bytes;
                if (seen >= allowed) throw new IOException("iperf3: the server did not answer the UDP connect message");
            }
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The data phase of a UDP test on either side: the sender sends on every stream at <paramref name="rate"/> until
    /// <paramref name="stop"/>; the receiver counts until <paramref name="ended"/> and then a quiet 100 ms.
    /// </summary>
    private static async Task<Result> UdpData(TapHost tap, UdpSocket[] streams, bool sender, int len, long rate, bool counters64,
        Func<long, bool> stop, Func<bool> ended, UdpReceiveCounter[]? counters = null)
    {
        var start = tap.Loop.Now;
        var bytes = new long[streams.Length];
        if (sender)
        {
            var packets = await Task.WhenAll(streams.Select((s, i) => SendUdp(tap, s, len, rate, counters64, bytes, i, () => stop(bytes.Sum()))));
            var seconds = (tap.Loop.Now - start).TotalSeconds;
            return new Result(true, bytes, 0, seconds, packets.Select(p => new UdpStats(p, 0, 0, 0)).ToArray());
        }
        counters ??= streams.Select(_ => new UdpReceiveCounter()).ToArray();
        await Task.WhenAll(streams.Select((s, i) => ReceiveUdp(tap, s, counters[i], counters64, ended)));
        return new Result(false, counters.Select(c => c.Bytes).ToArray(), 0, (tap.Loop.Now - start).TotalSeconds, counters.Select(c => c.Stats).ToArray());
    }

    /// <summary>unit_snprintf(): adaptive units, 1024 for bytes ('A'), 1000 for bits ('a'), fitted to 4 places.</summary>
    private static string Units(double v, bool bytes)
    {
        string[] labels = bytes ? ["Bytes", "KBytes", "MBytes", "GBytes", "TBytes"] : ["bits", "Kbits", "Mbits", "Gbits", "Tbits"];
        double step = bytes ? 1024 : 1000;
        int k = 0;
        while (v >= step && k < labels.Length - 1)
        {
            v /= step;
            k++;
        }
        string f = v < 9.995 ? "0.00" : v < 99.95 ? "0.0" : "0";
        return v.ToString(f, CultureInfo.InvariantCulture).PadLeft(4) + " " + labels[k];
    }

    /// <summary>iperf_print_results()'s UDP summary: the sender's and the receiver's lines, as a client prints them.</summary>
    public static IReadOnlyList<string> UdpSummary(Outcome o)
    {
        var inv = CultureInfo.InvariantCulture;
        var sender = o.Ours.Sender ? o.Ours.Udp : o.PeerUdp;
        var receiver = o.Ours.Sender ? o.PeerUdp : o.Ours.Udp;
        long sentBytes = o.Ours.Sender ? o.Ours.Bytes : o.PeerBytes, receivedBytes = o.Ours.Sender ? o.PeerBytes : o.Ours.Bytes;
        long sentPackets = sender?.Sum(s => s.Packets) ?? 0, receivedPackets = receiver?.Sum(s => s.Packets) ?? 0;
        long lost = receiver?.Sum(s => s.Lost) ?? 0, outOfOrder = receiver?.Sum(s => s.OutOfOrder) ?? 0;
        double jitterMs = receiver is { Length: > 0 } ? receiver.Average(s => s.JitterSeconds) * 1000 : 0;
        // Each line over its side's own time, as iperf3's sender_time and receiver_time.
        double ourSeconds = Math.Max(o.Ours.Seconds, 1e-9), peerSeconds = o.PeerSeconds > 0 ? o.PeerSeconds : ourSeconds;
        string Line(long b, double j, long l, long total, string who)
        {
            double seconds = o.Ours.Sender == (who == "sender") ? ourSeconds : peerSeconds;
            return string.Create(inv, $"[SUM]   0.00-{seconds,-6:0.00} sec  {Units(b, true)}  {Units(b * 8 / seconds, false)}/sec  {j,5:0.000} ms  {l}/{total} ({(total > 0 ? 100.0 * l / total : 0):0.##}%)  {who}");
        }
        return
        [
            "[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams",
            Line(sentBytes, 0, 0, sentPackets, "sender"),
            Line(receivedBytes, jitterMs, lost, receivedPackets, "receiver"),
            $"{outOfOrder} datagrams out of order; {(o.Reverse ? "reverse: the server sent" : "the client sent")}",
        ];
    }
}
