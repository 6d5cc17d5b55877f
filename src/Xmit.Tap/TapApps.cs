using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Xmit.Applications;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tap;

/// <summary>The applications `xmit tap` runs on a TAP host: ping, a UDP sender, a UDP sink; each ends with a per-layer report.</summary>
public static class TapApps
{
    public static int Ping(TapHost tap, Ipv4Address destination, int count, Duration interval, int size, TextWriter o, TapJson? json = null)
    {
        var ping = new PingSession(tap.Host, destination, count, interval, size);
        o.WriteLine($"PING {destination} from {tap.Options.Address} {tap.Device.Name}: {size}({size + 28}) bytes of data");
        ping.OnReplyReceived = r => o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{r.Bytes} bytes from {destination}: icmp_seq={r.Sequence} ttl={r.Ttl} time={r.Rtt.TotalMilliseconds:0.###} ms"));
        ping.Start();
        tap.Loop.RunUntil(() => ping.Replies.Count == count, tap.Loop.Now + interval * count + Duration.FromSeconds(2));
        o.WriteLine($"--- {destination} ping statistics ---");
        foreach (var line in PingStatistics.Lines(ping.Transmitted, ping.Replies)) o.WriteLine(line);
        if (json is not null)
        {
            json["ping"] = new JsonObject
            {
                ["destination"] = destination.ToString(), ["size"] = size,
                ["replies"] = new JsonArray([.. ping.Replies.Select(r => (JsonNode)new JsonObject
                {
                    ["sequence"] = r.Sequence, ["bytes"] = r.Bytes, ["ttl"] = r.Ttl, ["rttMs"] = r.Rtt.TotalMilliseconds,
                })]),
                ["statistics"] = TapJson.From(PingStatistics.Summarize(ping.Transmitted, ping.Replies)),
            };
        }
        Report(tap, o, json: json);
        return ping.Replies.Count > 0 ? 0 : 1;
    }

    /// <summary>Sends <paramref name="count"/> datagrams (0: until stopped) non-blocking with epoll, paced to <paramref name="packetsPerSecond"/> (0: as fast as possible).</summary>
    public static int UdpSend(TapHost tap, Ipv4Address destination, ushort port, long count, int size, double packetsPerSecond, int? sndbuf, TextWriter o, TapJson? json = null)
    {
        using var sock = new UdpSocket(tap.Host);
        if (sndbuf is { } b) sock.SendBufferSize = b;
        var c = sock.Connect(destination, port);
        if (!c.Ok)
        {
            o.WriteLine($"connect {destination}:{port}: {c.Error}");
            return 1;
        }
        var payload = new byte[size];
        var ledger = new TapLedger(tap);
        long sent = 0, eagain = 0, epollout = 0, errors = 0;
        var errorNames = new Dictionary<Errno, long>();
        var gap = packetsPerSecond > 0 ? Duration.FromNanoseconds((long)(1e9 / packetsPerSecond)) : Duration.Zero;
        var start = tap.Loop.Now;
        var yieldTimer = new TaskCompletionSource();
        var timer = new Timer(tap.Loop, () => yieldTimer.TrySetResult(), "udp-send");
        Task Yield(Duration d)
        {
            yieldTimer = new TaskCompletionSource();
            timer.ArmAfter(d);
            return yieldTimer.Task;
        }
        async Task Sender()
        {
            var next = start;
            long calls = 0;
            while ((count == 0 || sent < count) && !tap.Loop.StopRequested)
            {
                calls++;
                if (size >= 8) BinaryPrimitives.WriteInt64BigEndian(payload, sent);
                var r = sock.Send(payload);
                if (r.Ok) sent++;
                else if (r.WouldBlock)
                {
                    eagain++;
                    await sock.WaitWritableAsync();
                    epollout++;
                    continue;
                }
                else
                {
                    errors++;
                    errorNames[r.Error] = errorNames.GetValueOrDefault(r.Error) + 1;
                }
                if (gap > Duration.Zero)
                {
                    next += gap;
                    if (next > tap.Loop.Now) await Yield(next - tap.Loop.Now);
                }
                else if (calls % 64 == 0) await Yield(Duration.Zero); // let the loop poll the device now and then
            }
        }
        var task = Sender();
        tap.Loop.RunUntil(() => task.IsCompleted, count == 0 ? Instant.Never : tap.Loop.Now + Duration.FromSeconds(3600));
        // The rate is over the sending only: an interrupted run stops the loop, so the wait below may not happen.
        var sendEnd = tap.Loop.Now;
        bool interrupted = tap.Loop.StopRequested;
        tap.Loop.RunUntil(() => false, tap.Loop.Now + Duration.FromMilliseconds(200)); // let the last frames go
        double seconds = Math.Max(1e-9, (sendEnd - start).TotalSeconds);
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"udp-send {destination}:{port}: {sent} datagrams of {size} bytes in {seconds:0.###} s = {sent / seconds:N0} packets/s, {sent * (double)size * 8 / seconds / 1e9:0.###} Gbit/s of payload{(interrupted ? $" (interrupted{(count > 0 ? $" after {sent} of {count}" : "")})" : "")}"));
        o.WriteLine($"  EAGAIN {eagain}, EPOLLOUT wake-ups {epollout}, other errors {errors}{(errors > 0 ? " (" + string.Join(", ", errorNames.Select(e => $"{e.Key} {e.Value}")) + ")" : "")}; wmem_alloc high-water {sock.Kernel.WmemHighWater} of sndbuf {sock.Kernel.SndBuf}");
        long refused = errorNames.GetValueOrDefault(Errno.ECONNREFUSED);
        if (refused > 0)
            o.WriteLine($"  ECONNREFUSED {refused}: {destination} answered ICMP port unreachable (Icmp:InDestUnreachs {tap.Host.Mib.Icmp.InDestUnreachs}) — nothing listens on port {port}. " +
                "As on Linux, a connected UDP socket reports each such error once, on the next send (which is not sent), and the sends after it go on; the kernel rate-limits its ICMP errors, so few are seen");
        if (json is not null)
            json["udpSend"] = new JsonObject
            {
                ["destination"] = $"{destination}:{port}", ["datagrams"] = sent, ["size"] = size, ["seconds"] = seconds,
                ["packetsPerSecond"] = sent / seconds, ["payloadGbps"] = sent * (double)size * 8 / seconds / 1e9, ["interrupted"] = interrupted,
                ["eagain"] = eagain, ["epolloutWakeups"] = epollout,
                ["errors"] = new JsonObject([.. errorNames.Select(e => KeyValuePair.Create(e.Key.ToString(), (JsonNode?)e.Value))]),
                ["wmemHighWater"] = sock.Kernel.WmemHighWater, ["sndbuf"] = sock.Kernel.SndBuf,
            };
        Report(tap, o, ledger, json);
        // Refusals are the peer's answer, not a failure of the send path: only other errors fail the run.
        return errors - refused == 0 ? 0 : 1;
    }

    /// <summary>Receives on <paramref name="port"/> until <paramref name="count"/> datagrams (0: until stopped or <paramref name="duration"/>), counting bytes and hashing the payload stream (unless not <paramref name="hash"/>).</summary>
    public static int UdpSink(TapHost tap, ushort port, long count, Duration duration, TextWriter o, TapJson? json = null, bool hash = true)
    {
        var sk = tap.Host.Udp.Bind(tap.Options.Address, port, rcvBuf: 4 << 20);
        var ledger = new TapLedger(tap);
        long readsBefore = tap.Driver.Reads;
        using var sha = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        var buf = new byte[65536];
        long datagrams = 0, bytes = 0;
        Instant first = default, last = default;
        sk.DataReady += _ =>
        {
            // One clock read per wake-up, not two per datagram: what it drains arrived before it ran.
            var now = tap.Loop.Now;
            while (tap.Host.Udp.Receive(sk, buf) is { } got)
            {
                if (datagrams == 0) first = now;
                last = now;
                datagrams++;
                bytes += got.Length;
                sha?.AppendData(buf, 0, Math.Min(got.Length, buf.Length));
            }
        };
        o.WriteLine($"udp-sink listening on {tap.Options.Address}:{port}");
        var deadline = duration > Duration.Zero ? tap.Loop.Now + duration : Instant.Never;
        tap.Loop.RunUntil(() => count > 0 && datagrams >= count, deadline);
        double seconds = Math.Max(1e-9, (last - first).TotalSeconds);
        string? digest = sha is null ? null : Convert.ToHexStringLower(sha.GetHashAndReset());
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"udp-sink: {datagrams} datagrams, {bytes} bytes, {datagrams / seconds:N0} packets/s, {bytes * 8.0 / seconds / 1e9:0.###} Gbit/s; payload sha256 {digest ?? "not computed (--no-hash)"}"));
        o.WriteLine($"  receive buffer drops {sk.Drops}");
        var sinkJson = json is null ? null : new JsonObject
        {
            ["port"] = port, ["datagrams"] = datagrams, ["bytes"] = bytes, ["seconds"] = seconds, ["packetsPerSecond"] = datagrams / seconds,
            ["gbps"] = bytes * 8.0 / seconds / 1e9, ["sha256"] = digest, ["receiveBufferDrops"] = sk.Drops,
        };
        if (json is not null) json["udpSink"] = sinkJson;
        var (_, kernel, before) = ledger.Build();
        if (kernel is not null && before is not null)
        {
            long tx = kernel.TxPackets - before.TxPackets, dropped = kernel.TxDropped - before.TxDropped;
            if (sinkJson is not null) (sinkJson["kernelTxPackets"], sinkJson["kernelTxDropped"]) = (tx, dropped);
            o.WriteLine($"  the kernel sent {tx + dropped} frames to the TAP device: {tx} queued to the fd (Xmit read {tap.Driver.Reads - readsBefore}), " +
                        $"{dropped} dropped by the kernel (tx_dropped: the tun queue of txqueuelen frames was full, the sender was not paced to our reads)");
        }
        Report(tap, o, ledger, json);
        return 0;
    }

    /// <summary>The per-layer counters, as `xmit sim` prints them.</summary>
    public static void Report(TapHost tap, TextWriter o, TapLedger? ledger = null, TapJson? json = null)
    {
        var h = tap.Host;
        var dev = tap.Device;
        var q = dev.TxQueues[0];
        if (json is not null) json["perLayer"] = PerLayer(tap, ledger);
        o.WriteLine("per layer");
        o.WriteLine($"  {q.Qdisc.Describe()}");
        o.WriteLine($"  {dev.Name}: tx {dev.Stats.TxPackets} packets {dev.Stats.TxBytes} bytes ({dev.Stats.TxErrors} errors), rx {dev.Stats.RxPackets} packets {dev.Stats.RxBytes} bytes ({dev.Stats.RxDropped} dropped); queue stops {q.Stops} wakes {q.Wakes}");
        o.WriteLine($"  tap fd: writes {tap.Driver.Writes} (blocked {tap.Driver.WriteBlocked}), reads {tap.Driver.Reads} in {tap.Driver.ReadBatches} batches; loop iterations {tap.Loop.Iterations}");
        o.WriteLine("  " + string.Join(", ", h.Mib.All().Where(c => c.Value != 0).Select(c => $"{c.Group}:{c.Name} {c.Value}")));
        if (ledger is null) return;
        var (layers, kernel, _) = ledger.Build();
        o.WriteLine("where every packet went (in = passed on + dropped by reason + still queued)");
        foreach (var l in layers) o.WriteLine("  " + l.Describe());
        if (kernel is not null) o.WriteLine("  " + kernel);
    }

    /// <summary>The per-layer counters and the books as JSON: the same numbers as the text report.</summary>
    private static JsonObject PerLayer(TapHost tap, TapLedger? ledger)
    {
        var dev = tap.Device;
        var q = dev.TxQueues[0];
        var layer = new JsonObject
        {
            ["qdisc"] = q.Qdisc.Describe(),
            ["device"] = new JsonObject
            {
                ["name"] = dev.Name, ["txPackets"] = dev.Stats.TxPackets, ["txBytes"] = dev.Stats.TxBytes, ["txErrors"] = dev.Stats.TxErrors,
                ["rxPackets"] = dev.Stats.RxPackets, ["rxBytes"] = dev.Stats.RxBytes, ["rxDropped"] = dev.Stats.RxDropped,
                ["queueStops"] = q.Stops, ["queueWakes"] = q.Wakes,
            },
            ["tapFd"] = new JsonObject
            {
                ["writes"] = tap.Driver.Writes, ["writesBlocked"] = tap.Driver.WriteBlocked, ["reads"] = tap.Driver.Reads,
                ["readBatches"] = tap.Driver.ReadBatches, ["gsoWrites"] = tap.Driver.GsoWrites, ["gsoReads"] = tap.Driver.GsoReads,
                ["loopIterations"] = tap.Loop.Iterations,
            },
            ["counters"] = new JsonObject([.. tap.Host.Mib.All().Where(c => c.Value != 0).Select(c => KeyValuePair.Create($"{c.Group}:{c.Name}", (JsonNode?)c.Value))]),
            ["tcpCounters"] = new JsonObject([.. tap.Host.Tcp.Mib.All().Where(c => c.Item2 != 0)
                .Select(c => KeyValuePair.Create($"{Transport.Tcp.TcpMib.GroupOf(c.Item1)}:{c.Item1}", (JsonNode?)c.Item2))]),
        };
        if (ledger is null) return layer;
        var (layers, kernel, _) = ledger.Build();
        layer["ledger"] = new JsonArray([.. layers.Select(l => TapJson.From(l))]);
        if (kernel is not null) layer["kernel"] = TapJson.From(kernel);
        return layer;
    }
}
