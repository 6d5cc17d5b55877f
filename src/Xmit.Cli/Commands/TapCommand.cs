using System.CommandLine;
using Xmit.Tap;
using Xmit.Wire;

namespace Xmit.Cli.Commands;

/// <summary>`xmit tap`: a host on a TAP device talking to the real kernel, running ping, udp-send or udp-sink.</summary>
public static class TapCommand
{
    public static Command Create(Option<ulong> seed, Option<FileInfo?> pcap, Option<FileInfo?> trace)
    {
        var dev = new Option<string>("--dev") { Description = "TAP device name", DefaultValueFactory = _ => "xmit0", Recursive = true };
        dev.Validators.Add(r =>
        {
            var v = r.Tokens.Count > 0 ? r.Tokens[0].Value : "xmit0";
            if (v.Length is 0 or > 15 || v.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
                r.AddError($"--dev must be a device name of 1 to 15 characters without '/', ':' or spaces, not '{v}'");
        });
        var netns = new Option<string?>("--netns") { Description = "Network namespace of the kernel side; the device is created inside it and configured (address, link up)", Recursive = true };
        netns.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && TapHostOptions.NetnsNameError(r.Tokens[0].Value) is { } e) r.AddError(e);
        });
        var create = new Option<bool>("--create-netns") { Description = "Create the namespace (and delete it on exit); an existing namespace is an error", Recursive = true };
        var address = new Option<string>("--address") { Description = "Xmit's address/prefix (only 198.18.0.0/15)", DefaultValueFactory = _ => "198.18.0.2/24", Recursive = true };
        address.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && !TryParsePrefix(r.Tokens[0].Value, out _, out _))
                r.AddError($"--address must look like 198.18.0.2/24 (prefix 0 to 32), not '{r.Tokens[0].Value}'");
        });
        var peer = new Option<string>("--peer") { Description = "The kernel side's address", DefaultValueFactory = _ => "198.18.0.1", Recursive = true };
        peer.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && !Ipv4Address.TryParse(r.Tokens[0].Value, out _))
                r.AddError($"--peer must be an IPv4 address such as 198.18.0.1, not '{r.Tokens[0].Value}'");
        });
        var mtu = CliOptions.Int("--mtu", "-m", "MTU of the TAP device", 1500, 576, 65521);
        mtu.Recursive = true;
        var offload = new Option<bool>("--offload") { Description = "Let the kernel finish checksums (virtio-net NEEDS_CSUM); captures then show partial checksums", Recursive = true };

        var json = new Option<bool>("--json") { Description = "Print the run's results and per-layer counters as one JSON document instead of the text report", Recursive = true };
        var tap = new Command("tap", "Run Xmit on a Linux TAP device against the real kernel (needs root and /dev/net/tun)") { dev, netns, create, address, peer, mtu, offload, seed, pcap, trace, json };

        // With --json the application writes no text; the document it filled is printed at the end (errors still go to stderr).
        // --trace: the host's tracepoints go to the file while the application runs (the loop runs on this thread).
        int Report(System.CommandLine.ParseResult r, Func<TextWriter, TapJson?, int> app)
        {
            var doc = r.GetValue(json) ? new TapJson() : null;
            var traceFile = r.GetValue(trace);
            if (!TraceOption.TryOpen(traceFile, out var tracer, out var traceError)) return Fail(r, traceError!);
            int rc;
            using (tracer) rc = app(doc is null ? r.InvocationConfiguration.Output : TextWriter.Null, doc);
            if (doc is not null)
            {
                doc["exitCode"] = rc;
                r.InvocationConfiguration.Output.WriteLine(doc.Write());
            }
            else if (tracer is not null) r.InvocationConfiguration.Output.WriteLine(TraceOption.Summary(traceFile!, tracer));
            return rc;
        }

        (TapHost? Host, int Code) Start(System.CommandLine.ParseResult r)
        {
            var addrText = r.GetValue(address)!;
            var err = r.InvocationConfiguration.Error;
            if (!TryParsePrefix(addrText, out var ours, out int prefix))
            {
                err.WriteLine($"xmit tap: --address '{addrText}' must look like 198.18.0.2/24");
                return (null, 2);
            }
            if (!Ipv4Address.TryParse(r.GetValue(peer), out var peerAddr))
            {
                err.WriteLine($"xmit tap: --peer '{r.GetValue(peer)}' is not an IPv4 address");
                return (null, 2);
            }
            var (host, error) = TapHost.Start(new TapHostOptions
            {
                DeviceName = r.GetValue(dev)!, Netns = r.GetValue(netns), CreateNetns = r.GetValue(create),
                Address = ours, PeerAddress = peerAddr, PrefixLength = prefix, Mtu = r.GetValue(mtu),
                ChecksumOffload = r.GetValue(offload), Seed = r.GetValue(seed),
            });
            if (host is null)
            {
                err.WriteLine("xmit tap: " + error);
                return (null, 2);
            }
            if (r.GetValue(pcap) is { } file) host.Capture(file.Create());
            if (r.GetValue(netns) is null)
                err.WriteLine($"xmit tap: no --netns: {r.GetValue(dev)} is in this namespace and its kernel side is not configured; " +
                    $"give it {peerAddr}/{prefix} and bring it up yourself, or use --netns NAME --create-netns");
            // Ctrl-C and SIGTERM both end the run cleanly: the report is printed and the namespace removed.
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; host.Loop.Stop(); };
            _stopOnTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; host.Loop.Stop(); });
            return (host, 0);
        }

        var target = new Argument<string>("address") { Description = "IPv4 address to ping (198.18.0.0/15)" };
        target.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && !Ipv4Address.TryParse(r.Tokens[0].Value, out _))
                r.AddError($"address must be an IPv4 address such as 198.18.0.1, not '{r.Tokens[0].Value}'");
        });
        var count = CliOptions.Int("--count", "-c", "Echo requests", 4, 1, 1_000_000);
        var interval = CliOptions.Duration("--interval", "Time between requests", "1s");
        var size = CliOptions.Int("--size", "-s", "ICMP data bytes", 56, 0, 65507 - 8);
        var ping = new Command("ping", "Ping an address from Xmit") { target, count, interval, size };
        ping.SetAction(r =>
        {
            if (!Ipv4Address.TryParse(r.GetValue(target), out var dst)) return Fail(r, $"'{r.GetValue(target)}' is not an IPv4 address");
            if (!InBenchmarkRange(dst)) return Fail(r, $"address must be in 198.18.0.0/15 (the only range xmit tap talks to), not '{dst}'");
            var (host, code) = Start(r);
            if (host is null) return code;
            using (host) return Report(r, (o, doc) => TapApps.Ping(host, dst, r.GetValue(count), r.GetValue(interval), r.GetValue(size), o, doc));
        });

        var dest = new Argument<string>("destination") { Description = "ADDR:PORT to send to" };
        dest.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && !TryParseEndpoint(r.Tokens[0].Value, out _, out _))
                r.AddError($"destination must look like 198.18.0.1:9000 (port 1 to 65535), not '{r.Tokens[0].Value}'");
        });
        var n = CliOptions.Long("--count", "-c", "Datagrams to send (0: until Ctrl-C)", 100_000, 0, long.MaxValue);
        var dsize = CliOptions.Int("--size", "-s", "UDP payload bytes", 1472, 0, 65507);
        var rate = CliOptions.Double("--pps", "Packets per second (default 0: as fast as possible)", 0, 0, 1e9);
        var sndbuf = CliOptions.OptionalInt("--sndbuf", "setsockopt(SO_SNDBUF) value", 0, int.MaxValue);
        var send = new Command("udp-send", "Send UDP datagrams from Xmit, non-blocking with epoll") { dest, n, dsize, rate, sndbuf };
        send.SetAction(r =>
        {
            var text = r.GetValue(dest)!;
            if (!TryParseEndpoint(text, out var dst, out var port)) return Fail(r, $"'{text}' must look like 198.18.0.1:9000");
            if (!InBenchmarkRange(dst)) return Fail(r, $"destination must be in 198.18.0.0/15 (the only range xmit tap talks to), not '{dst}'");
            var (host, code) = Start(r);
            if (host is null) return code;
            using (host) return Report(r, (o, doc) => TapApps.UdpSend(host, dst, port, r.GetValue(n), r.GetValue(dsize), r.GetValue(rate), r.GetValue(sndbuf), o, doc));
        });

        var portArg = PortArgument("UDP port to receive on");
        var sinkCount = CliOptions.Long("--count", "-c", "Stop after this many datagrams (default 0: until Ctrl-C or --duration)", 0, 0, long.MaxValue);
        var duration = CliOptions.Duration("--duration", "Stop after this long (0: no limit)", "0s");
        var noHash = new Option<bool>("--no-hash") { Description = "Count only, without hashing the payload stream (SHA-256 is about a third of the sink's CPU at 1472 B; a raw reader does not look at the payload either)" };
        var sink = new Command("udp-sink", "Receive UDP datagrams on Xmit, counting bytes and hashing the payload stream") { portArg, sinkCount, duration, noHash };
        sink.SetAction(r =>
        {
            if (r.GetValue(portArg) == 0) return Fail(r, "port must be 1 to 65535");
            var (host, code) = Start(r);
            if (host is null) return code;
            using (host) return Report(r, (o, doc) => TapApps.UdpSink(host, r.GetValue(portArg), r.GetValue(sinkCount), r.GetValue(duration), o, doc, hash: !r.GetValue(noHash)));
        });

        var rawMode = new Argument<string>("direction") { Description = "write (frames to the kernel) or read (frames from the kernel)" };
        rawMode.Validators.Add(r =>
        {
            var v = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (v is not ("write" or "read")) r.AddError($"direction must be write or read, not '{v}'");
        });
        var rawSize = CliOptions.Int("--size", "-s", "UDP payload bytes of the written frame", 64, 0, 1472);
        var rawTime = CliOptions.Duration("--duration", "How long to measure", "3s");
        var raw = new Command("raw-bench", "The TAP file descriptor's own limit: frames per second written or read with no stack at all") { rawMode, rawSize, rawTime };
        raw.SetAction(r =>
        {
            var (host, code) = Start(r);
            if (host is null) return code;
            using (host)
            {
                var span = TimeSpan.FromTicks(r.GetValue(rawTime).Nanoseconds / 100);
                // No stack answers ARP in raw mode: tell the kernel our address so it sends us frames at once.
                host.Namespace?.Exec("ip", "neigh", "replace", host.Options.Address.ToString(), "lladdr", host.Device.Mac.ToString(),
                    "dev", host.Options.DeviceName, "nud", "permanent");
                var (frames, seconds) = r.GetValue(rawMode) == "write"
                    ? RawTapBench.Write(host.Driver.Tun, host.PeerMac() ?? MacAddress.Broadcast, host.Device.Mac, host.Options.Address, host.Options.PeerAddress, 9, r.GetValue(rawSize), span)
                    : RawTapBench.Read(host.Driver.Tun, span);
                return Report(r, (o, doc) =>
                {
                    o.WriteLine(System.FormattableString.Invariant($"raw-bench {r.GetValue(rawMode)}: {frames} frames in {seconds:0.###} s = {frames / Math.Max(seconds, 1e-9):N0} frames/s"));
                    if (doc is not null)
                        doc["rawBench"] = new System.Text.Json.Nodes.JsonObject
                        {
                            ["direction"] = r.GetValue(rawMode), ["frames"] = frames, ["seconds"] = seconds, ["framesPerSecond"] = frames / Math.Max(seconds, 1e-9),
                        };
                    return 0;
                });
            }
        });

        var tcpDest = new Argument<string>("destination") { Description = "ADDR:PORT to connect to" };
        tcpDest.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && !TryParseEndpoint(r.Tokens[0].Value, out _, out _))
                r.AddError($"destination must look like 198.18.0.1:5201 (port 1 to 65535), not '{r.Tokens[0].Value}'");
        });
        var tcpConnect = new Command("tcp-connect", "Open a TCP connection from Xmit to the kernel and send (source), receive (sink) or echo");
        tcpConnect.Arguments.Add(tcpDest);
        var connectOpts = new TcpAppCliOptions(tcpConnect, TcpAppMode.Source);
        tcpConnect.SetAction(r =>
        {
            var text = r.GetValue(tcpDest)!;
            if (!TryParseEndpoint(text, out var dst, out var port)) return Fail(r, $"'{text}' must look like 198.18.0.1:5201");
            if (!InBenchmarkRange(dst)) return Fail(r, $"destination must be in 198.18.0.0/15 (the only range xmit tap talks to), not '{dst}'");
            var (host, code) = Start(r);
            if (host is null) return code;
            using (host) return Report(r, (o, doc) => TapTcp.Connect(host, dst, port, connectOpts.Read(r), o, doc));
        });

        var tcpPort = PortArgument("TCP port to listen on");
        var tcpListen = new Command("tcp-listen", "Accept one TCP connection from the kernel on Xmit and receive (sink), send (source) or echo");
        tcpListen.Arguments.Add(tcpPort);
        var listenOpts = new TcpAppCliOptions(tcpListen, TcpAppMode.Sink);
        tcpListen.SetAction(r =>
        {
            if (r.GetValue(tcpPort) == 0) return Fail(r, "port must be 1 to 65535");
            var (host, code) = Start(r);
            if (host is null) return code;
            using (host) return Report(r, (o, doc) => TapTcp.Listen(host, r.GetValue(tcpPort), listenOpts.Read(r), o, doc));
        });

        var iperfServer = new Option<bool>("--server", "-s") { Description = "Serve one test (the kernel's iperf3 -c connects)" };
        var iperfClient = new Option<string?>("--client", "-c") { Description = "Run one test against the iperf3 server at this address" };
        var iperfPort = CliOptions.Int("--port", "-p", "Server port", Iperf3.DefaultPort, 1, 65535);
        var iperfTime = CliOptions.Int("--time", "-t", "Seconds to transmit", 10, 1, 86400);
        var iperfBytes = CliOptions.Long("--bytes", "-n", "Bytes to transmit instead of --time", 0, 0, long.MaxValue);
        var iperfReverse = new Option<bool>("--reverse", "-R") { Description = "The server sends, the client receives" };
        var iperfParallel = CliOptions.Int("--parallel", "-P", "Parallel streams", 1, 1, 128);
        var iperfLen = CliOptions.Int("--length", "-l", "Bytes per write (default 128 KiB for TCP; for UDP the datagram's payload, default the control connection's MSS, 16 to 65507)", 0, 0, 1 << 20);
        var iperfUdp = new Option<bool>("--udp", "-u") { Description = "Run a UDP test (the server serves both kinds)" };
        var iperfRate = new Option<string?>("--bitrate", "-b")
        {
            Description = "Target bitrate per stream in bit/s, k/m/g/t for powers of 1000 (default 1M = 1048576 for UDP, unlimited for TCP; 0: unlimited)",
        };
        var iperf = new Command("iperf3", "Speak iperf3's protocol (TCP and UDP tests): serve one test (-s) or run one against a server (-c ADDR)")
        {
            iperfServer, iperfClient, iperfPort, iperfTime, iperfBytes, iperfReverse, iperfParallel, iperfLen, iperfUdp, iperfRate,
        };
        iperf.SetAction(r =>
        {
            bool serve = r.GetValue(iperfServer);
            var clientText = r.GetValue(iperfClient);
            if (serve == (clientText is not null)) return Fail(r, "iperf3 needs exactly one of -s (server) and -c ADDR (client)");
            Ipv4Address server = default;
            if (clientText is not null)
            {
                if (!Ipv4Address.TryParse(clientText, out server)) return Fail(r, $"-c needs an IPv4 address such as 198.18.0.1, not '{clientText}'");
                if (!InBenchmarkRange(server)) return Fail(r, $"address must be in 198.18.0.0/15 (the only range xmit tap talks to), not '{server}'");
            }
            // As iperf3: -b also holds a TCP test to its rate; -u, -b and -l are the client's (the server takes them from it).
            bool udp = r.GetValue(iperfUdp);
            long rate = 0;
            if (r.GetValue(iperfRate) is { } rateText && !Iperf3.TryParseRate(rateText, out rate))
                return Fail(r, $"-b needs a bitrate such as 10M (bit/s, k/m/g/t suffixes), not '{rateText}'");
            int len = r.GetValue(iperfLen);
            if (udp && len != 0 && len is < Iperf3.MinUdpLength or > Iperf3.MaxUdpLength)
                return Fail(r, $"-l for a UDP test must be between {Iperf3.MinUdpLength} and {Iperf3.MaxUdpLength} bytes, not {len}");
            if (serve && (udp || r.GetValue(iperfRate) is not null)) return Fail(r, "-u and -b are client options: the server takes them from the client's parameters");
            var (host, code) = Start(r);
            if (host is null) return code;
            using (host)
                return Report(r, (o, doc) => serve
                    ? Iperf3.Serve(host, (ushort)r.GetValue(iperfPort), o, doc)
                    : Iperf3.Client(host, server, (ushort)r.GetValue(iperfPort),
                        new Iperf3.ClientOptions(r.GetValue(iperfTime), r.GetValue(iperfBytes), r.GetValue(iperfReverse), r.GetValue(iperfParallel), len, udp, rate),
                        o, doc));
        });

        tap.Subcommands.Add(raw);
        tap.Subcommands.Add(iperf);
        tap.Subcommands.Add(tcpConnect);
        tap.Subcommands.Add(tcpListen);
        tap.Subcommands.Add(ping);
        tap.Subcommands.Add(send);
        tap.Subcommands.Add(sink);
        return tap;
    }

    private static IDisposable? _stopOnTerm;

    /// <summary>A port argument, 1 to 65535 (0 is refused with one line).</summary>
    private static Argument<ushort> PortArgument(string description) => new("port")
    {
        Description = description,
        CustomParser = r =>
        {
            if (r.Tokens.Count > 0 && ushort.TryParse(r.Tokens[0].Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) && p > 0) return p;
            r.AddError($"port must be between 1 and 65535, not '{(r.Tokens.Count > 0 ? r.Tokens[0].Value : "")}'");
            return 0;
        },
    };

    private static int Fail(System.CommandLine.ParseResult r, string message)
    {
        r.InvocationConfiguration.Error.WriteLine("xmit tap: " + message);
        return 2;
    }

    /// <summary>198.18.0.0/15, the benchmarking range (RFC 2544): the only addresses xmit tap sends to.</summary>
    private static bool InBenchmarkRange(Ipv4Address a) => a.InSubnet(new Ipv4Address(198, 18, 0, 0), 15);

    /// <summary>"198.18.0.2/24": an IPv4 address and a prefix length from 0 to 32.</summary>
    private static bool TryParsePrefix(string text, out Ipv4Address address, out int prefix)
    {
        prefix = 0;
        address = default;
        var parts = text.Split('/');
        return parts.Length == 2 && Ipv4Address.TryParse(parts[0], out address)
            && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out prefix) && prefix is >= 0 and <= 32;
    }

    /// <summary>"198.18.0.1:9000": an IPv4 address and a port from 1 to 65535.</summary>
    private static bool TryParseEndpoint(string text, out Ipv4Address address, out ushort port)
    {
        address = default;
        port = 0;
        int colon = text.LastIndexOf(':');
        return colon >= 0 && Ipv4Address.TryParse(text[..colon], out address)
            && ushort.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) && port != 0;
    }
}
