using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Xmit.Applications;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tap;

/// <summary>What a TCP connection of `xmit tap tcp-connect` / `tcp-listen` does with its stream.</summary>
public enum TcpAppMode
{
    /// <summary>Write the test stream (then shut down the sending side) and read whatever comes back until the peer closes.</summary>
    Source,
    /// <summary>Read until the peer closes, hashing what arrives.</summary>
    Sink,
    /// <summary>Write back everything read, until the peer closes.</summary>
    Echo,
}

/// <summary>The knobs of a TAP TCP run.</summary>
/// <param name="Mode">source, sink or echo.</param>
/// <param name="Bytes">source: bytes to send (0: until <paramref name="Duration"/> or Ctrl-C); sink/echo: stop after this many read (0: at end of stream).</param>
/// <param name="Duration">stop after this long (zero: no limit).</param>
/// <param name="WriteSize">bytes per write.</param>
public sealed record TcpAppOptions(TcpAppMode Mode, long Bytes, Duration Duration, int WriteSize = 65536);

/// <summary>
/// `xmit tap tcp-connect ADDR:PORT` and `xmit tap tcp-listen PORT`: one TCP connection between Xmit and the real kernel,
/// as a source, a sink or an echo, through <see cref="TcpStream"/> on the host's real-time loop. The report gives the
/// bytes each way with their SHA-256, the rate, the connection's tcp_info, its counters and the per-layer books.
/// The source's stream is a fixed pseudo-random block repeated, so the other end can check it.
/// </summary>
public static class TapTcp
{
    /// <summary>The source's block length: a prime, so it lines up with no segment, skb or read size.</summary>
    public const int BlockLength = 1_048_573;

    /// <summary>The source's content: <see cref="BlockLength"/> bytes of xorshift64* from a fixed seed, repeated.</summary>
    public static byte[] Block()
    {
        var b = new byte[BlockLength];
        ulong x = 0x9E3779B97F4A7C15;
        for (int i = 0; i < b.Length; i++)
        {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            b[i] = (byte)((x * 0x2545F4914F6CDD1D) >> 56);
        }
        return b;
    }

    public static int Connect(TapHost tap, Ipv4Address destination, ushort port, TcpAppOptions options, TextWriter o, TapJson? json = null)
    {
        var ledger = new TapLedger(tap);
        var connect = TcpStream.ConnectAsync(tap.Host, new IPEndPoint(IPAddress.Parse(destination.ToString()), port)).AsTask();
        tap.Loop.RunUntil(() => connect.IsCompleted, tap.Loop.Now + Duration.FromSeconds(30));
        if (!connect.IsCompletedSuccessfully)
        {
            o.WriteLine($"tcp-connect {destination}:{port}: {(connect.IsCompleted ? connect.Exception!.InnerException!.Message : "no answer within 30 s")}");
            if (json is not null) json["error"] = "no connection";
            TapApps.Report(tap, o, ledger, json);
            return 1;
        }
        using var stream = connect.Result;
        o.WriteLine($"tcp-connect {destination}:{port} from {stream.LocalEndPoint}: connected, {options.Mode.ToString().ToLowerInvariant()}");
        return Run(tap, stream, options, $"tcp-connect {destination}:{port}", ledger, o, json);
    }

    public static int Listen(TapHost tap, ushort port, TcpAppOptions options, TextWriter o, TapJson? json = null)
    {
        var ledger = new TapLedger(tap);
        using var listener = new TcpListener(tap.Host);
        listener.ReuseAddress = true;
        listener.Bind(new IPEndPoint(IPAddress.Parse(tap.Options.Address.ToString()), port));
        listener.Listen(1);
        o.WriteLine($"tcp-listen {tap.Options.Address}:{port}: waiting for a connection");
        var accept = listener.AcceptAsync().AsTask();
        tap.Loop.RunUntil(() => accept.IsCompleted, options.Duration > Duration.Zero ? tap.Loop.Now + options.Duration : Instant.Never);
        if (!accept.IsCompletedSuccessfully)
        {
            o.WriteLine($"tcp-listen :{port}: {(tap.Loop.StopRequested ? "interrupted" : "no connection")} before one was accepted");
            if (json is not null) json["error"] = "no connection";
            TapApps.Report(tap, o, ledger, json);
            return 1;
        }
        using var stream = accept.Result;
        o.WriteLine($"tcp-listen :{port}: accepted {stream.RemoteEndPoint}, {options.Mode.ToString().ToLowerInvariant()}");
        return Run(tap, stream, options, $"tcp-listen :{port}", ledger, o, json);
    }

    private static int Run(TapHost tap, TcpStream stream, TcpAppOptions options, string name, TapLedger ledger, TextWriter o, TapJson? json)
    {
        var start = tap.Loop.Now;
        var deadline = options.Duration > Duration.Zero ? start + options.Duration : Instant.Never;
        using var sent = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long wrote = 0, read = 0;
        string? error = null;
        bool TimeUp() => tap.Loop.StopRequested || tap.Loop.Now >= deadline;

        async Task Source()
        {
            var block = Block();
            var reader = Drain();
            while ((options.Bytes == 0 || wrote < options.Bytes) && !TimeUp())
            {
                int off = (int)(wrote % block.Length);
                int n = (int)Math.Min(Math.Min(options.WriteSize, block.Length - off), options.Bytes == 0 ? long.MaxValue : options.Bytes - wrote);
                await stream.WriteAsync(block.AsMemory(off, n));
                sent.AppendData(block, off, n);
                wrote += n;
            }
            stream.ShutdownWrite();
            await reader;
        }

        // Reads to the end of the stream (or the byte limit); with echo, writes each piece back.
        async Task Drain(bool echo = false)
        {
            var buf = new byte[1 << 18];
            while (options.Mode == TcpAppMode.Source || options.Bytes == 0 || read < options.Bytes)
            {
                int n = await stream.ReadAsync(buf);
                if (n == 0) break;
                received.AppendData(buf, 0, n);
                read += n;
                if (!echo) continue;
                await stream.WriteAsync(buf.AsMemory(0, n));
                sent.AppendData(buf, 0, n);
                wrote += n;
            }
            if (options.Mode != TcpAppMode.Source) stream.ShutdownWrite();
        }

        var task = options.Mode switch
        {
            TcpAppMode.Source => Source(),
            TcpAppMode.Echo => Drain(echo: true),
            _ => Drain(),
        };
        tap.Loop.RunUntil(() => task.IsCompleted, deadline);
        var end = tap.Loop.Now;
        bool interrupted = !task.IsCompleted;
        if (task.IsFaulted) error = task.Exception!.InnerException!.Message;
        var info = stream.Info;
        stream.Dispose(); // close(): the FIN (or a RST with unread data, as Linux)
        tap.Loop.RunUntil(() => false, tap.Loop.Now + Duration.FromMilliseconds(200)); // the last segments and ACKs

        double seconds = Math.Max(1e-9, (end - start).TotalSeconds);
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"{name}: sent {wrote} bytes, received {read} bytes in {seconds:0.###} s = {(wrote + read) * 8 / seconds / 1e9:0.###} Gbit/s{(interrupted ? " (stopped before the end)" : "")}{(error is null ? "" : $"; {error}")}"));
        string sentSha = Convert.ToHexStringLower(sent.GetHashAndReset()), receivedSha = Convert.ToHexStringLower(received.GetHashAndReset());
        o.WriteLine($"  sha256 sent {sentSha}, received {receivedSha}");
        string ssthresh = info.SlowStartThreshold >= Transport.Tcp.TcpProtocol.InfiniteSsthresh ? "inf" : info.SlowStartThreshold.ToString(inv);
        o.WriteLine(string.Create(inv, $"  tcp_info at the end: cwnd {info.CongestionWindow}, ssthresh {ssthresh}, srtt {info.SmoothedRtt.TotalMicroseconds:0} us, rto {info.RetransmissionTimeout.TotalMilliseconds:0} ms, snd_mss {info.SendMss}, delivered {info.Delivered}, snd_wnd {info.SendWindow}, rcv_wnd {info.ReceiveWindow}"));
        o.WriteLine(string.Create(inv, $"  retransmissions: RetransSegs {tap.Host.Tcp.Mib.RetransSegs}, TCPTimeouts {tap.Host.Tcp.Mib.Timeouts}, TCPLossProbes {tap.Host.Tcp.Mib.LossProbes}"));
        o.WriteLine(string.Create(inv, $"  TSO frames across the TAP: {tap.Driver.GsoWrites} written, {tap.Driver.GsoReads} read"));
        if (json is not null)
            json["tcp"] = new System.Text.Json.Nodes.JsonObject
            {
                ["name"] = name, ["mode"] = options.Mode.ToString().ToLowerInvariant(), ["sentBytes"] = wrote, ["receivedBytes"] = read,
                ["seconds"] = seconds, ["gbps"] = (wrote + read) * 8 / seconds / 1e9, ["interrupted"] = interrupted, ["error"] = error,
                ["sha256Sent"] = sentSha, ["sha256Received"] = receivedSha,
                ["tcpInfo"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["cwnd"] = info.CongestionWindow, ["ssthresh"] = ssthresh, ["srttUs"] = info.SmoothedRtt.TotalMicroseconds,
                    ["rtoMs"] = info.RetransmissionTimeout.TotalMilliseconds, ["sndMss"] = info.SendMss, ["delivered"] = info.Delivered,
                    ["sndWnd"] = info.SendWindow, ["rcvWnd"] = info.ReceiveWindow,
                },
            };
        TapApps.Report(tap, o, ledger, json);
        return error is null ? 0 : 1;
    }
}
