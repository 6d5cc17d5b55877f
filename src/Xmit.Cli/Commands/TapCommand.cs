using System.CommandLine;
using Xmit.Tap;
using Xmit.Wire;

namespace Xmit.Cli.Commands;

/// <summary>`xmit tap`: a host on a TAP device talking to the real kernel, running ping, udp-send or udp-sink.</summary>
public static class TapCommand
{
    public static Command Create(Option<ulong> seed, Option<FileInfo?> pcap)
    {
        var dev = new Option<string>("--dev") { Description = "TAP device name", DefaultValueFactory = _ => "xmit0", Recursive = true };
        var netns = new Option<string?>("--netns") { Description = "Network namespace of the kernel side; the device is created inside it and configured (address, link up)", Recursive = true };
        var create = new Option<bool>("--create-netns") { Description = "Create the namespace (and delete it on exit); an existing namespace is an error", Recursive = true };
        var address = new Option<string>("--address") { Description = "Xmit's address/prefix (only 198.18.0.0/15)", DefaultValueFactory = _ => "198.18.0.2/24", Recursive = true };
        var peer = new Option<string>("--peer") { Description = "The kernel side's address", DefaultValueFactory = _ => "198.18.0.1", Recursive = true };
        var mtu = CliOptions.Int("--mtu", "-m", "MTU of the TAP device", 1500, 576, 65521);
        mtu.Recursive = true;
        var offload = new Option<bool>("--offload") { Description = "Let the kernel finish checksums (virtio-net NEEDS_CSUM); captures then show partial checksums", Recursive = true };

        var tap = new Command("tap", "Run Xmit on a Linux TAP device against the real kernel (needs root and /dev/net/tun)") { dev, netns, create, address, peer, mtu, offload, seed, pcap };

        (TapHost? Host, int Code) Start(System.CommandLine.ParseResult r)
        {
            var addrText = r.GetValue(address)!;
            var parts = addrText.Split('/');
            if (!Ipv4Address.TryParse(parts[0], out var ours) || parts.Length != 2 || !int.TryParse(parts[1], out int prefix))
            {
                Console.Error.WriteLine($"xmit tap: --address '{addrText}' must look like 198.18.0.2/24");
                return (null, 2);
            }
            if (!Ipv4Address.TryParse(r.GetValue(peer), out var peerAddr))
            {
                Console.Error.WriteLine($"xmit tap: --peer '{r.GetValue(peer)}' is not an IPv4 address");
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
                Console.Error.WriteLine("xmit tap: " + error);
                return (null, 2);
            }
            if (r.GetValue(pcap) is { } file) host.Capture(file.Create());
            // Ctrl-C and SIGTERM both end the run cleanly: the report is printed and the namespace removed.
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; host.Loop.Stop(); };
            _stopOnTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; host.Loop.Stop(); });
            return (host, 0);
        }

        var target = new Argument<string>("address") { Description = "IPv4 address to ping (198.18.0.0/15)" };
        var count = CliOptions.Int("--count", "-c", "Echo requests", 4, 1, 1_000_000);
        var interval = CliOptions.Duration("--interval", "Time between requests", "1s");
        var size = CliOptions.Int("--size", "-s", "ICMP data bytes", 56, 0, 65507 - 8);
        var ping = new Command("ping", "Ping an address from Xmit") { target, count, interval, size };
        ping.SetAction(r =>
        {
            if (!Ipv4Address.TryParse(r.GetValue(target), out var dst)) return Fail($"'{r.GetValue(target)}' is not an IPv4 address");
            var (host, code) = Start(r);
            if (host is null) return code;
            using (host) return TapApps.Ping(host, dst, r.GetValue(count), r.GetValue(interval), r.GetValue(size), Console.Out);
        });

        var dest = new Argument<string>("destination") { Description = "ADDR:PORT to send to" };
        var n = new Option<long>("--count", "-c") { Description = "Datagrams to send (0: until Ctrl-C)", DefaultValueFactory = _ => 100_000 };
        var dsize = CliOptions.Int("--size", "-s", "UDP payload bytes", 1472, 0, 65507);
        var rate = new Option<double>("--pps") { Description = "Packets per second (default 0: as fast as possible)" };
        var sndbuf = new Option<int?>("--sndbuf") { Description = "setsockopt(SO_SNDBUF) value" };
        var send = new Command("udp-send", "Send UDP datagrams from Xmit, non-blocking with epoll") { dest, n, dsize, rate, sndbuf };
        send.SetAction(r =>
        {
            var text = r.GetValue(dest)!;
            int colon = text.LastIndexOf(':');
            if (colon < 0 || !Ipv4Address.TryParse(text[..colon], out var dst) || !ushort.TryParse(text[(colon + 1)..], out var port) || port == 0)
                return Fail($"'{text}' must look like 198.18.0.1:9000");
            if (r.GetValue(n) < 0 || r.GetValue(rate) < 0) return Fail("--count and --pps must not be negative");
            var (host, code) = Start(r);
            if (host is null) return code;
            using (host) return TapApps.UdpSend(host, dst, port, r.GetValue(n), r.GetValue(dsize), r.GetValue(rate), r.GetValue(sndbuf), Console.Out);
        });

        var portArg = new Argument<ushort>("port") { Description = "UDP port to receive on" };
        var sinkCount = new Option<long>("--count", "-c") { Description = "Stop after this many datagrams (default 0: until Ctrl-C or --duration)" };
        var duration = CliOptions.Duration("--duration", "Stop after this long (0: no limit)", "0s");
        var sink = new Command("udp-sink", "Receive UDP datagrams on Xmit, counting bytes and hashing the payload stream") { portArg, sinkCount, duration };
        sink.SetAction(r =>
        {
            if (r.GetValue(portArg) == 0) return Fail("port must be 1 to 65535");
            var (host, code) = Start(r);
            if (host is null) return code;
            using (host) return TapApps.UdpSink(host, r.GetValue(portArg), r.GetValue(sinkCount), r.GetValue(duration), Console.Out);
        });

        var rawMode = new Argument<string>("direction") { Description = "write (frames to the kernel) or read (frames from the kernel)" };
        rawMode.AcceptOnlyFromAmong("write", "read");
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
                Console.WriteLine(System.FormattableString.Invariant($"raw-bench {r.GetValue(rawMode)}: {frames} frames in {seconds:0.###} s = {frames / Math.Max(seconds, 1e-9):N0} frames/s"));
                return 0;
            }
        });

        tap.Subcommands.Add(raw);
        tap.Subcommands.Add(ping);
        tap.Subcommands.Add(send);
        tap.Subcommands.Add(sink);
        return tap;
    }

    private static IDisposable? _stopOnTerm;

    private static int Fail(string message)
    {
        Console.Error.WriteLine("xmit tap: " + message);
        return 2;
    }
}
