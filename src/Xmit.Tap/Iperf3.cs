using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using Timer = Xmit.Time.Timer;
using Xmit.Applications;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tap;

/// <summary>
/// iperf3's control protocol (TCP and UDP tests), both roles, over <see cref="TcpStream"/>: the client sends a 37-byte cookie on
/// the control connection; the server drives the test with one-byte states (PARAM_EXCHANGE, CREATE_STREAMS, TEST_START,
/// TEST_RUNNING, EXCHANGE_RESULTS, DISPLAY_RESULTS); parameters and results cross as JSON behind a 4-byte big-endian
/// length; each data connection opens with the same cookie; the client ends the test with TEST_END and finishes with
/// IPERF_DONE (the UDP data phase is in Iperf3Udp.cs). So the Debian iperf3 in the kernel's namespace measures Xmit, and Xmit measures the kernel.
/// </summary>
/// <remarks>iperf3 (esnet/iperf): src/iperf_api.h states, src/iperf_api.c send_parameters(), get_parameters(), send_results(), get_results(), JSON_write(); src/iperf_server_api.c iperf_handle_message_server()</remarks>
public static partial class Iperf3
{
    public const int DefaultPort = 5201;
    private const int CookieSize = 37;
    private const sbyte TestStart = 1, TestRunning = 2, TestEnd = 4, ParamExchange = 9, CreateStreams = 10, ServerTerminate = 11,
        ClientTerminate = 12, ExchangeResults = 13, DisplayResults = 14, IperfDone = 16, ServerError = -2;

    /// <summary>What one side counted: its bytes per stream (sent if it was the sender, else received) and its retransmissions;
    /// for a UDP test, its datagram counts per stream as well.</summary>
    public sealed record Result(bool Sender, long[] StreamBytes, long Retransmits, double Seconds, UdpStats[]? Udp = null)
    {
        public long Bytes => StreamBytes.Sum();
    }

    /// <summary>The outcome of a test: our side's count and the peer's (from its results JSON).</summary>
    /// <param name="Ours">What we counted.</param>
    /// <param name="PeerBytes">The peer's bytes, all streams.</param>
    /// <param name="PeerRetransmits">The peer's retransmissions, if it sent over TCP.</param>
    /// <param name="Reverse">-R: the server sent.</param>
    /// <param name="PeerUdp">The peer's per-stream datagram counts (a UDP test only).</param>
    /// <param name="PeerSeconds">The peer's time of the test (its first stream's end_time − start_time; 0 if not sent).</param>
    public sealed record Outcome(Result Ours, long PeerBytes, long PeerRetransmits, bool Reverse, UdpStats[]? PeerUdp = null, double PeerSeconds = 0)
    {
        public bool IsUdp => Ours.Udp is not null;
    }

    // ---- framing ----

    private static async Task ReadExactly(TcpStream s, Memory<byte> buf)
    {
        int got = 0;
        while (got < buf.Length)
        {
            int n = await s.ReadAsync(buf[got..]);
            if (n == 0) throw new IOException("the peer closed the control connection");
            got += n;
        }
    }

    private static async Task<sbyte> ReadState(TcpStream s)
    {
        var b = new byte[1];
        await ReadExactly(s, b);
        return (sbyte)b[0];
    }

    private static ValueTask WriteState(TcpStream s, sbyte state) => s.WriteAsync(new[] { (byte)state });

    private static async Task<JsonObject> ReadJson(TcpStream s)
    {
        var len = new byte[4];
        await ReadExactly(s, len);
        int n = (int)BinaryPrimitives.ReadUInt32BigEndian(len);
        if (n is < 2 or > 8 * 1024 * 1024) throw new IOException($"iperf3: a JSON message of {n} bytes");
        var body = new byte[n];
        await ReadExactly(s, body);
        return JsonNode.Parse(body)?.AsObject() ?? throw new IOException("iperf3: not a JSON object");
    }

    private static async Task WriteJson(TcpStream s, JsonObject json)
    {
        var body = Encoding.UTF8.GetBytes(json.ToJsonString());
        var msg = new byte[4 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(msg, (uint)body.Length);
        body.CopyTo(msg, 4);
        await s.WriteAsync(msg);
    }

    /// <summary>A cookie as iperf3 makes one: 36 characters of [a-z2-7], NUL-terminated.</summary>
    private static byte[] MakeCookie(DeterministicRandom random)
    {
        const string chars = "abcdefghijklmnopqrstuvwxyz234567";
        var c = new byte[CookieSize];
        for (int i = 0; i < CookieSize - 1; i++) c[i] = (byte)chars[(int)random.NextUInt32(32)];
        return c;
    }

    /// <summary>send_results(): this side's counts, in iperf3's field names.</summary>
    private static JsonObject ResultsJson(Result r)
    {
        var streams = new JsonArray();
        for (int i = 0; i < r.StreamBytes.Length; i++)
        {
            var u = r.Udp?[i];
            streams.Add(new JsonObject
            {
                ["id"] = i == 0 ? 1 : i + 2, // iperf_add_stream(): 1, then 3, 4, …
                ["bytes"] = r.StreamBytes[i],
                // A UDP sender has no retransmissions to tell (sender_has_retransmits 0), so -1 as for a receiver.
                ["retransmits"] = r.Sender && u is null ? r.Retransmits : -1,
                // sp->jitter in seconds, sp->cnt_error, sp->packet_count: a sender's count sent, a receiver's highest seen.
                ["jitter"] = u?.JitterSeconds ?? 0, ["errors"] = u?.Lost ?? 0, ["omitted_errors"] = 0,
                ["packets"] = u?.Packets ?? 0, ["omitted_packets"] = 0,
                ["start_time"] = 0, ["end_time"] = r.Seconds,
            });
        }
        return new JsonObject
        {
            ["cpu_util_total"] = 0, ["cpu_util_user"] = 0, ["cpu_util_system"] = 0,
            ["sender_has_retransmits"] = r.Sender ? (r.Udp is null ? 1 : 0) : -1,
            ["streams"] = streams,
        };
    }

    /// <summary>get_results(): the peer's totals, and its per-stream datagram counts (packets, errors, jitter).</summary>
    private static (long Bytes, long Retransmits, UdpStats[] Udp) PeerTotals(JsonObject results)
    {
        long bytes = 0, retrans = 0;
        var udp = new List<UdpStats>();
        if (results["streams"] is JsonArray streams)
            foreach (var s in streams)
            {
                bytes += Number(s?["bytes"]);
                retrans += Math.Max(0, Number(s?["retransmits"]));
                double jitter = s?["jitter"] is JsonValue j && j.TryGetValue(out double d) ? d : 0;
                udp.Add(new UdpStats(Number(s?["packets"]), Number(s?["errors"]), 0, jitter));
            }
        return (bytes, retrans, udp.ToArray());
    }

    private static Outcome MakeOutcome(Result ours, JsonObject peer, bool reverse)
    {
        var (pb, pr, pu) = PeerTotals(peer);
        var first = (peer["streams"] as JsonArray)?.FirstOrDefault();
        double Seconds(string key) => first?[key] is JsonValue v && v.TryGetValue(out double d) ? d : 0;
        return new Outcome(ours, pb, pr, reverse, ours.Udp is null ? null : pu, Math.Max(0, Seconds("end_time") - Seconds("start_time")));
    }

    /// <summary>A JSON number as cJSON writes it: an integer, or "%1.15g" once it no longer fits an int.</summary>
    private static long Number(JsonNode? n) => n is JsonValue v && v.TryGetValue(out double d) ? (long)d : 0;

    // ---- the data phase ----

    /// <summary>
    /// Writes blocks on every stream until <paramref name="stop"/> says so, or <paramref name="cancel"/> abandons a write
    /// the peer no longer reads (the test ended); returns the bytes of the writes that completed, per stream.
    /// </summary>
    private static async Task<long[]> Send(TapHost tap, TcpStream[] streams, int blockSize, long rate, Func<long, bool> stop, CancellationToken cancel = default)
    {
        var block = TapTcp.Block();
        blockSize = Math.Min(blockSize, block.Length / 2);
        var counts = new long[streams.Length];
        async Task One(int i)
        {
            TaskCompletionSource wake = new();
            var timer = new Timer(tap.Loop, () => wake.TrySetResult(), "iperf3-pace");
            var start = tap.Loop.Now;
            try
            {
                while (!stop(counts.Sum()))
                {
                    int off = (int)(counts[i] % (block.Length - blockSize));
                    await streams[i].WriteAsync(block.AsMemory(off, blockSize), cancel);
                    counts[i] += blockSize;
                    // -b on a TCP test: iperf_check_throttle() holds each stream to the rate, as for UDP.
                    if (rate > 0) await DelayUntil(tap, timer, ref wake, start + Duration.ForBits(counts[i] * 8, rate));
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
            }
            catch (XmitSocketException e) when (e.Errno is Errno.ECONNRESET or Errno.EPIPE)
            {
                // The receiver closed the stream at the end of its test (iperf3's client does so in reverse mode).
            }
            finally
            {
                timer.Disarm();
            }
        }
        await Task.WhenAll(Enumerable.Range(0, streams.Length).Select(One));
        return counts;
    }

    /// <summary>
    /// Reads every stream until it ends, or until <paramref name="ended"/> holds and it has been idle for 100 ms: the
    /// control connection's TEST_END can overtake a data connection's last segments, which are still counted.
    /// </summary>
    private static async Task<long[]> Receive(TapHost tap, TcpStream[] streams, Func<bool> ended, long[]? counter = null)
    {
        var counts = counter ?? new long[streams.Length];
        async Task One(int i)
        {
            var buf = new byte[1 << 18];
            // A read waits for data or the end of the stream; once the test has ended, 100 ms without data cancels it.
            using var quiet = new CancellationTokenSource();
            var lastData = tap.Loop.Now;
            Timer? watch = null;
            void Check()
            {
                if (ended() && tap.Loop.Now - lastData >= Duration.FromMilliseconds(100)) quiet.Cancel();
                else watch!.ArmAfter(Duration.FromMilliseconds(10));
            }
            watch = new Timer(tap.Loop, Check, "iperf3-quiet");
            watch.ArmAfter(Duration.FromMilliseconds(10));
            try
            {
                while (true)
                {
                    int n = await streams[i].ReadAsync(buf, quiet.Token);
                    if (n == 0) return;
                    counts[i] += n;
                    lastData = tap.Loop.Now;
                }
            }
            catch (OperationCanceledException) when (quiet.IsCancellationRequested)
            {
            }
            finally
            {
                watch.Disarm();
            }
        }
        await Task.WhenAll(Enumerable.Range(0, streams.Length).Select(One));
        return counts;
    }

    /// <summary>SIOCOUTQ is 0: everything written has been acknowledged.</summary>
    private static bool Unacknowledged0(TcpStream s) => s.Syscalls.Ioctl(s.Descriptor, Sockets.Api.Ioctl.SIOCOUTQ, out int v) < 0 || v == 0;

    /// <summary>Completes, on the host's loop, once <paramref name="done"/> holds (looked at every millisecond).</summary>
    private static Task WaitUntil(TapHost tap, Func<bool> done)
    {
        if (done()) return Task.CompletedTask;
        var tcs = new TaskCompletionSource();
        Timer? t = null;
        t = new Timer(tap.Loop, () =>
        {
            if (done()) tcs.TrySetResult();
            else t!.ArmAfter(Duration.FromMilliseconds(1));
        }, "iperf3-wait");
        t.ArmAfter(Duration.FromMilliseconds(1));
        return tcs.Task;
    }

    // ---- server ----

    /// <summary>`iperf3 -s`: serves one test on <paramref name="port"/>, TCP or UDP (an SCTP test is refused with SERVER_ERROR).</summary>
    public static async Task<Outcome> ServeOne(TapHost tap, ushort port)
    {
        using var listener = new TcpListener(tap.Host);
        listener.ReuseAddress = true;
        listener.Bind(new IPEndPoint(IPAddress.Parse(tap.Options.Address.ToString()), port));
        listener.Listen(16);
        using var ctrl = await listener.AcceptAsync();
        var cookie = new byte[CookieSize];
        await ReadExactly(ctrl, cookie);
        await WriteState(ctrl, ParamExchange);
        var p = await ReadJson(ctrl);
        if (p["sctp"] is not null)
        {
            await WriteState(ctrl, ServerError);
            var err = new byte[8]; // i_errno, errno: iperf3 prints its own message for them
            BinaryPrimitives.WriteInt32BigEndian(err, 1);
            await ctrl.WriteAsync(err);
            throw new NotSupportedException("iperf3: only TCP and UDP tests are served");
        }
        bool udp = p["udp"] is not null; // get_parameters(): present means on
        int parallel = p["parallel"] is null ? 1 : (int)Number(p["parallel"]);
        bool reverse = p["reverse"] is not null;
        int len = p["len"] is null ? (udp ? DefaultUdpLength : 128 * 1024) : (int)Number(p["len"]);
        long num = Number(p["num"]); // -n: bytes instead of a time
        long rate = Number(p["bandwidth"]); // -b, per stream; absent: unlimited (iperf3's client always sends it for UDP)
        bool counters64 = p["udp_counters_64bit"] is not null;
        if (parallel is < 1 or > 128 || len is < 1 or > 16 << 20 || udp && len is < MinUdpLength or > MaxUdpLength)
            throw new IOException($"iperf3: parallel {parallel} or len {len} out of range");
        // iperf_exchange_parameters(): the UDP port is bound before CREATE_STREAMS, so the first hello finds it.
        var accepting = udp ? UdpAccept(tap, port, parallel) : null;
        await WriteState(ctrl, CreateStreams);
        var streams = new TcpStream[udp ? 0 : parallel];
        for (int i = 0; i < streams.Length; i++)
        {
            streams[i] = await listener.AcceptAsync();
            var c = new byte[CookieSize];
            await ReadExactly(streams[i], c);
            if (!c.AsSpan().SequenceEqual(cookie)) throw new IOException("iperf3: a data connection with another test's cookie");
        }
        var udpStreams = accepting is null ? [] : await accepting;
        try
        {
            long retrans0 = tap.Host.Tcp.Mib.RetransSegs;
            await WriteState(ctrl, TestStart);
            await WriteState(ctrl, TestRunning);
            var start = tap.Loop.Now;
            var endAt = start;
            bool ended = false;
            using var stopWriting = new CancellationTokenSource();
            async Task<sbyte> WatchForEnd()
            {
                var state = await ReadState(ctrl);
                endAt = tap.Loop.Now;
                ended = true;
                stopWriting.Cancel(); // a write blocked on a peer that stopped reading is abandoned, as iperf3 closes its streams
                return state;
            }
            var endSeen = WatchForEnd();
            Result ours;
            if (udp)
            {
                ours = await UdpData(tap, udpStreams, reverse, len, rate, counters64, total => ended || num > 0 && total >= num, () => ended);
                if (!reverse) ours = ours with { Seconds = (endAt - start).TotalSeconds }; // a receiver's test ends at TEST_END, as iperf3's
            }
            else
            {
                long[] counts = reverse ? await Send(tap, streams, len, rate, total => ended || num > 0 && total >= num, stopWriting.Token) : await Receive(tap, streams, () => ended);
                ours = new Result(reverse, counts, tap.Host.Tcp.Mib.RetransSegs - retrans0, (tap.Loop.Now - start).TotalSeconds);
            }
            sbyte end = await endSeen;
            if (end == ClientTerminate) throw new IOException("iperf3: the client ended the test early (CLIENT_TERMINATE)");
            if (end != TestEnd) throw new IOException($"iperf3: the client sent state {end} instead of TEST_END");
            foreach (var stream in streams) stream.Dispose(); // iperf_handle_message_server(TEST_END): the data sockets close now
            foreach (var stream in udpStreams) stream.Dispose();
            await WriteState(ctrl, ExchangeResults);
            var peer = await ReadJson(ctrl);
            await WriteJson(ctrl, ResultsJson(ours));
            await WriteState(ctrl, DisplayResults);
            sbyte done = await ReadState(ctrl);
            if (done != IperfDone) throw new IOException($"iperf3: the client sent state {done} instead of IPERF_DONE");
            return MakeOutcome(ours, peer, reverse);
        }
        finally
        {
            foreach (var stream in streams) stream?.Dispose();
            foreach (var stream in udpStreams) stream.Dispose();
        }
    }

    // ---- client ----

    /// <summary>What `iperf3 -c` is asked to run.</summary>
    /// <param name="Seconds">-t, unless <paramref name="Bytes"/> is not 0.</param>
    /// <param name="Bytes">-n: bytes to send (with -R, to receive) instead of a time.</param>
    /// <param name="Reverse">-R: the server sends.</param>
    /// <param name="Parallel">-P: streams.</param>
    /// <param name="Length">-l; 0: 128 KiB for TCP, the control connection's MSS for UDP (iperf_connect()).</param>
    /// <param name="Udp">-u: a UDP test.</param>
    /// <param name="Rate">-b in bit/s per stream; 0: unlimited for TCP, 1 Mbit/s (UDP_RATE) for UDP.</param>
    public sealed record ClientOptions(int Seconds = 10, long Bytes = 0, bool Reverse = false, int Parallel = 1, int Length = 0, bool Udp = false, long Rate = 0);

    /// <summary>`iperf3 -c`: one TCP test against <paramref name="server"/> for <paramref name="seconds"/> (or <paramref name="bytes"/> if not 0).</summary>
    public static Task<Outcome> RunClient(TapHost tap, Ipv4Address server, ushort port, int seconds, long bytes, bool reverse, int parallel, int len) =>
        RunClient(tap, server, port, new ClientOptions(seconds, bytes, reverse, parallel, len));

    /// <summary>`iperf3 -c`: one test against <paramref name="server"/>.</summary>
    public static async Task<Outcome> RunClient(TapHost tap, Ipv4Address server, ushort port, ClientOptions opt)
    {
        var ep = new IPEndPoint(IPAddress.Parse(server.ToString()), port);
        using var ctrl = await TcpStream.ConnectAsync(tap.Host, ep);
        var cookie = MakeCookie(tap.Host.Random.Fork(0x1e4f));
        await ctrl.WriteAsync(cookie);
        int len = opt.Length;
        if (len == 0 && opt.Udp)
        {
            // iperf_connect(): a UDP datagram as large as a TCP segment on the same path, so nothing is fragmented.
            bool known = ctrl.Syscalls.GetSockOpt(ctrl.Descriptor, Sockets.Api.SockOpt.IPPROTO_TCP, Sockets.Api.SockOpt.TCP_MAXSEG, out int mss) >= 0
                         && mss is > 0 and <= MaxUdpLength;
            len = known ? mss : DefaultUdpLength;
        }
        else if (len == 0) len = 128 * 1024;
        long rate = opt.Rate == 0 && opt.Udp ? DefaultUdpRate : opt.Rate;
        var streams = new List<TcpStream>();
        var udpStreams = new List<UdpSocket>();
        Result? ours = null;
        JsonObject? peer = null;
        long retrans0 = 0;
        try
        {
            while (true)
            {
                sbyte state = await ReadState(ctrl);
                switch (state)
                {
                    case ParamExchange:
                        // send_parameters(): the protocol as a key set to true; len and bandwidth only when not 0.
                        var param = new JsonObject
                        {
                            [opt.Udp ? "udp" : "tcp"] = true, ["omit"] = 0, ["time"] = opt.Bytes > 0 ? 0 : opt.Seconds, ["num"] = opt.Bytes, ["blockcount"] = 0,
                            ["parallel"] = opt.Parallel, ["len"] = len, ["pacing_timer"] = 1000, ["client_version"] = "3.12",
                        };
                        if (rate > 0) param["bandwidth"] = rate;
                        if (opt.Reverse) param["reverse"] = true; // get_parameters(): the key's presence is what counts
                        await WriteJson(ctrl, param);
                        break;
                    case CreateStreams:
                        for (int i = 0; i < opt.Parallel; i++)
                        {
                            if (opt.Udp)
                            {
                                udpStreams.Add(await UdpConnect(tap, server, port, opt.Reverse, len));
                                continue;
                            }
                            var s = await TcpStream.ConnectAsync(tap.Host, ep);
                            await s.WriteAsync(cookie);
                            streams.Add(s);
                        }
                        break;
                    case TestStart:
                        retrans0 = tap.Host.Tcp.Mib.RetransSegs;
                        break;
                    case TestRunning:
                        ours = opt.Udp
                            ? await UdpDataPhase(tap, ctrl, udpStreams.ToArray(), opt, len, rate)
                            : await DataPhase(tap, ctrl, streams.ToArray(), opt.Seconds, opt.Bytes, opt.Reverse, len, rate, retrans0);
                        break;
                    case ExchangeResults:
                        await WriteJson(ctrl, ResultsJson(ours ?? throw new IOException("iperf3: results asked for before the test ran")));
                        peer = await ReadJson(ctrl);
                        break;
                    case DisplayResults:
                        await WriteState(ctrl, IperfDone);
                        return MakeOutcome(ours!, peer ?? throw new IOException("iperf3: no results from the server"), opt.Reverse);
                    case ServerError or ServerTerminate:
                        throw new IOException($"iperf3: the server ended the test (state {state})");
                    default:
                        if (state < 0) throw new IOException($"iperf3: the server refused the test (state {state})");
                        throw new IOException($"iperf3: unexpected state {state}");
                }
            }
        }
        finally
        {
            foreach (var s in streams) s.Dispose();
            foreach (var s in udpStreams) s.Dispose();
        }
    }

    /// <summary>The client's data phase: send (or, with -R, receive) until the time or byte count is reached, then TEST_END.</summary>
    private static async Task<Result> DataPhase(TapHost tap, TcpStream ctrl, TcpStream[] streams, int seconds, long bytes, bool reverse, int len, long rate, long retrans0)
    {
        var start = tap.Loop.Now;
        var until = start + Duration.FromSeconds(seconds);
        bool TimeUp() => tap.Loop.Now >= until || tap.Loop.StopRequested;
        long[] counts;
        if (!reverse)
        {
            counts = await Send(tap, streams, len, rate, total => bytes > 0 ? total >= bytes : TimeUp());
            // The server closes its data connections at TEST_END: let what is queued be acknowledged first (at most
            // 2 s), so the receiver counts every byte the sender counts.
            var drainLimit = tap.Loop.Now + Duration.FromSeconds(2);
            await WaitUntil(tap, () => tap.Loop.Now >= drainLimit || streams.All(Unacknowledged0));
            await WriteState(ctrl, TestEnd);
        }
        else
        {
            bool ended = false;
            var received = new long[streams.Length];
            var receiving = Receive(tap, streams, () => ended, received);
            await WaitUntil(tap, () => bytes > 0 ? received.Sum() >= bytes || tap.Loop.StopRequested : TimeUp());
            ended = true;
            await WriteState(ctrl, TestEnd);
            counts = await receiving;
        }
        return new Result(!reverse, counts, tap.Host.Tcp.Mib.RetransSegs - retrans0, (tap.Loop.Now - start).TotalSeconds);
    }

    /// <summary>
    /// The client's UDP data phase. Sending, it waits 100 ms after the last datagram before TEST_END (iperf3 does not):
    /// the server stops counting at TEST_END, and what was still on its way would be neither received nor lost.
    /// Receiving (-R), it counts until the time or byte count, sends TEST_END and counts what is still coming.
    /// </summary>
    private static async Task<Result> UdpDataPhase(TapHost tap, TcpStream ctrl, UdpSocket[] streams, ClientOptions opt, int len, long rate)
    {
        var until = tap.Loop.Now + Duration.FromSeconds(opt.Seconds);
        bool TimeUp() => tap.Loop.Now >= until || tap.Loop.StopRequested;
        if (!opt.Reverse)
        {
            var sent = await UdpData(tap, streams, true, len, rate, false, total => opt.Bytes > 0 ? total >= opt.Bytes || tap.Loop.StopRequested : TimeUp(), () => true);
            var settle = tap.Loop.Now + Duration.FromMilliseconds(100);
            await WaitUntil(tap, () => tap.Loop.Now >= settle);
            await WriteState(ctrl, TestEnd);
            return sent;
        }
        bool ended = false;
        var start = tap.Loop.Now;
        var counters = streams.Select(_ => new UdpReceiveCounter()).ToArray();
        var receiving = UdpData(tap, streams, false, len, rate, false, _ => true, () => ended, counters);
        // -n with -R: iperf_run_client() ends once as many bytes have come; should a datagram be lost, the time limit ends it.
        await WaitUntil(tap, () => TimeUp() || opt.Bytes > 0 && counters.Sum(c => c.Bytes) >= opt.Bytes);
        ended = true;
        var endAt = tap.Loop.Now;
        await WriteState(ctrl, TestEnd);
        return (await receiving) with { Seconds = (endAt - start).TotalSeconds }; // the test's time ends at TEST_END, as iperf3's
    }

    /// <summary>`xmit tap iperf3 -s`: serves one test, then prints both sides' counts and the per-layer books.</summary>
    public static int Serve(TapHost tap, ushort port, TextWriter o, TapJson? json = null)
    {
        o.WriteLine($"iperf3 server listening on {tap.Options.Address}:{port} (one test)");
        var t = ServeOne(tap, port);
        return Finish(tap, t, o, json);
    }

    /// <summary>`xmit tap iperf3 -c ADDR`: runs one test against a real iperf3 server.</summary>
    public static int Client(TapHost tap, Ipv4Address server, ushort port, ClientOptions opt, TextWriter o, TapJson? json = null)
    {
        var inv = CultureInfo.InvariantCulture;
        string rate = opt.Rate > 0 ? string.Create(inv, $", {opt.Rate / 1e6:0.###} Mbit/s per stream") : opt.Udp ? ", 1.049 Mbit/s per stream" : "";
        o.WriteLine($"iperf3 {(opt.Udp ? "UDP" : "TCP")} client to {server}:{port}: {(opt.Bytes > 0 ? $"{opt.Bytes} bytes" : $"{opt.Seconds} s")}, {opt.Parallel} stream{(opt.Parallel == 1 ? "" : "s")}{rate}{(opt.Reverse ? ", reverse" : "")}");
        var t = RunClient(tap, server, port, opt);
        return Finish(tap, t, o, json);
    }

    private static int Finish(TapHost tap, Task<Outcome> t, TextWriter o, TapJson? json)
    {
        var ledger = new TapLedger(tap);
        tap.Loop.RunUntil(() => t.IsCompleted, Instant.Never);
        tap.Loop.RunUntil(() => false, tap.Loop.Now + Duration.FromMilliseconds(200)); // the closes
        if (!t.IsCompletedSuccessfully)
        {
            string why = t.IsCompleted ? t.Exception!.InnerException!.Message : "interrupted";
            o.WriteLine("iperf3: " + why);
            if (json is not null) json["error"] = why;
            TapApps.Report(tap, o, json: json);
            return 1;
        }
        if (t.Result.IsUdp)
            foreach (var line in UdpSummary(t.Result)) o.WriteLine("iperf3: " + line);
        else o.WriteLine("iperf3: " + Summary(t.Result));
        if (json is not null)
        {
            json["iperf3"] = TapJson.From(t.Result);
            json["summary"] = t.Result.IsUdp ? string.Join("; ", UdpSummary(t.Result)) : Summary(t.Result);
        }
        TapApps.Report(tap, o, ledger, json);
        return 0;
    }

    /// <summary>The line iperf3 prints at the end of a TCP test, from both sides' counts.</summary>
    public static string Summary(Outcome o)
    {
        if (o.IsUdp) return string.Join("; ", UdpSummary(o).Skip(1));
        var inv = CultureInfo.InvariantCulture;
        double s = Math.Max(o.Ours.Seconds, 1e-9);
        string sent = o.Ours.Sender ? $"{o.Ours.Bytes}" : $"{o.PeerBytes}";
        string received = o.Ours.Sender ? $"{o.PeerBytes}" : $"{o.Ours.Bytes}";
        long retrans = o.Ours.Sender ? o.Ours.Retransmits : o.PeerRetransmits;
        return string.Create(inv, $"sender {sent} bytes, receiver {received} bytes in {s:0.###} s = {o.Ours.Bytes * 8 / s / 1e9:0.###} Gbit/s, {retrans} retransmissions ({(o.Reverse ? "reverse: the server sent" : "the client sent")})");
    }
}
