using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Hosting;
using Xmit.Link;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tap;

/// <summary>Where and how to bring a host up on a TAP device.</summary>
public sealed record TapHostOptions
{
    public string DeviceName { get; init; } = "xmit0";
    /// <summary>The namespace the device lives in (the kernel peer's side); null: the caller's namespace.</summary>
    public string? Netns { get; init; }
    /// <summary>Create <see cref="Netns"/> (and delete it at the end); an existing one is an error.</summary>
    public bool CreateNetns { get; init; }
    public Ipv4Address Address { get; init; } = new(198, 18, 0, 2);
    public Ipv4Address PeerAddress { get; init; } = new(198, 18, 0, 1);
    public int PrefixLength { get; init; } = 24;
    public int Mtu { get; init; } = 1500;
    public bool ChecksumOffload { get; init; }
    public ulong Seed { get; init; } = 1;

    public string? Validate()
    {
        if (!Address.InSubnet(new Ipv4Address(198, 18, 0, 0), 15) || !PeerAddress.InSubnet(new Ipv4Address(198, 18, 0, 0), 15))
            return "addresses must be in 198.18.0.0/15 (the benchmarking range; nothing else is touched)";
        if (!Address.InSubnet(PeerAddress, PrefixLength)) return $"{Address} and {PeerAddress} are not in one /{PrefixLength}";
        if (Address == PeerAddress) return "our address and the peer's must differ";
        if (PrefixLength is < 8 or > 30) return "prefix length must be 8 to 30";
        if (Mtu is < 576 or > 65521) return "mtu must be 576 to 65521";
        if (Netns is { } ns && NetnsNameError(ns) is { } error) return error;
        return null;
    }

    /// <summary>The names ip-netns refuses: a namespace is a file under /run/netns, so no '/', not '.' or '..', at most NAME_MAX.</summary>
    /// <remarks>Linux: iproute2 ip/ipnetns.c is_valid_netns_name() (via check_netns_name)</remarks>
    public static string? NetnsNameError(string name)
    {
        if (name.Length == 0 || name.Length > 255 || name.Contains('/') || name is "." or ".." || name.Any(char.IsControl))
            return $"--netns must be a namespace name of 1 to 255 characters, without '/', not '.' or '..', not '{name}'";
        return null;
    }
}

/// <summary>
/// One Xmit host on a TAP device, in real time, talking to the real kernel: the device's other side is a
/// kernel interface, addressed and up, in the namespace given. Everything runs on the caller's thread via
/// <see cref="Loop"/>.
/// </summary>
public sealed class TapHost : IDisposable
{
    private readonly NetNamespace? _ns;
    private readonly TunFd _tun;
    private PcapWriter? _capture;

    private TapHost(TapHostOptions options, NetNamespace? ns, TunFd tun)
    {
        Options = options;
        _ns = ns;
        _tun = tun;
        Pool = new SkBuffPool();
        Host = new Host("xmit", 1, Loop, Pool, new DeterministicRandom(options.Seed));
        Device = Host.AddDevice(options.DeviceName, options.Mtu);
        Driver = new TapDriver(Device, tun, Loop, options.ChecksumOffload);
        Host.AddAddress(Device, options.Address, options.PrefixLength);
    }

    public TapHostOptions Options { get; }
    public RealTimeLoop Loop { get; } = new();
    public SkBuffPool Pool { get; }
    public Host Host { get; }
    public NetDevice Device { get; }
    public TapDriver Driver { get; }
    public NetNamespace? Namespace => _ns;

    /// <summary>Creates the namespace if asked, the TAP device inside it, configures the kernel side, and the host.</summary>
    public static (TapHost? Host, string? Error) Start(TapHostOptions o)
    {
        if (o.Validate() is { } invalid) return (null, invalid);
        NetNamespace? ns = null;
        if (o.Netns is { } name)
        {
            if (o.CreateNetns)
            {
                var (created, err) = NetNamespace.Create(name);
                if (created is null) return (null, err);
                ns = created;
            }
            else if (!NetNamespace.Exists(name)) return (null, $"network namespace '{name}' does not exist (add --create-netns to create it)");
            else ns = NetNamespace.Attach(name);
        }
        var (tun, error) = TunFd.Open(o.DeviceName, o.Netns, o.ChecksumOffload);
        if (tun is null)
        {
            ns?.Dispose();
            return (null, error);
        }
        if (ns is not null)
        {
            foreach (var cmd in new[]
            {
                // IPv4 only: no IPv6 link-up chatter (router solicitations, MLD) on the device.
                new[] { "sysctl", "-qw", $"net.ipv6.conf.{o.DeviceName}.disable_ipv6=1" },
                ["ip", "link", "set", "dev", o.DeviceName, "mtu", o.Mtu.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                ["ip", "addr", "add", $"{o.PeerAddress}/{o.PrefixLength}", "dev", o.DeviceName],
                ["ip", "link", "set", "dev", o.DeviceName, "up"],
            })
            {
                var (code, _, err) = ns.Exec(cmd);
                if (code != 0)
                {
                    tun.Dispose();
                    ns.Dispose();
                    return (null, $"{string.Join(' ', cmd)} in {ns.Name}: {err.Trim()}");
                }
            }
        }
        return (new TapHost(o, ns, tun), null);
    }

    /// <summary>Writes every frame crossing the device to a pcap file (wall-clock timestamps).</summary>
    public void Capture(Stream stream)
    {
        _capture = new PcapWriter(stream);
        Device.AddTap(new WallClockPcapTap(_capture));
    }

    /// <summary>The kernel side's MAC address, as `ip link` shows it (null outside a namespace).</summary>
    public MacAddress? PeerMac()
    {
        if (_ns is null) return null;
        var (code, output, _) = _ns.Exec("cat", $"/sys/class/net/{Options.DeviceName}/address");
        return code == 0 ? MacAddress.Parse(output.Trim()) : null;
    }

    public void Dispose()
    {
        Host.Shutdown();
        _capture?.Dispose();
        _tun.Dispose();
        _ns?.Dispose();
    }

    private sealed class WallClockPcapTap(PcapWriter writer) : IPacketTap
    {
        public void OnPacket(NetDevice device, SkBuff skb, bool outgoing) =>
            writer.Write(new Instant(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000), skb);
    }
}
