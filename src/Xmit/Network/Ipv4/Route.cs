using Xmit.Link;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>A route's type (rtm_type): a unicast route of the main table, or a local one of the local table.</summary>
public enum RouteType
{
    /// <summary>RTN_UNICAST: out of a device, to a neighbour.</summary>
    Unicast,
    /// <summary>RTN_LOCAL: the destination is this host; output goes through lo (ip_route_output: dev_out = loopback_dev).</summary>
    Local,
}

/// <summary>
/// A route: destination prefix, next hop (gateway, or none for a connected route), device, optional MTU
/// and preferred source. A route's MTU below the device MTU limits packets that use it (dst_mtu). A local
/// route's device is lo, the device its packets leave by (not the device the address is on).
/// </summary>
/// <remarks>Linux: include/net/route.h struct rtable; net/ipv4/fib_semantics.c</remarks>
public sealed record Route(Ipv4Address Destination, int PrefixLength, NetDevice Device, Ipv4Address Gateway = default, int Mtu = 0, Ipv4Address PreferredSource = default, int Metric = 0, RouteType Type = RouteType.Unicast)
{
    /// <summary>IP_MAX_MTU: no IPv4 packet is longer, whatever the device's MTU (lo's is 65536).</summary>
    public const int IpMaxMtu = 65535;

    public bool IsConnected => Gateway.IsUnspecified;

    public bool IsLocal => Type == RouteType.Local;

    /// <summary>dst_mtu() = ipv4_mtu(): the route's MTU if set, else the device's, never above IP_MAX_MTU.</summary>
    /// <remarks>Linux: net/ipv4/route.c ipv4_mtu()</remarks>
    public int EffectiveMtu => Math.Min(Mtu > 0 ? Math.Min(Mtu, Device.Mtu) : Device.Mtu, IpMaxMtu);

    /// <summary>The neighbour to resolve: the gateway, or the destination itself on a connected route.</summary>
    public Ipv4Address NextHop(Ipv4Address destination) => IsConnected ? destination : Gateway;

    public bool Matches(Ipv4Address address) => address.InSubnet(Destination, PrefixLength);

    public override string ToString() => (IsLocal ? "local " : "") +
        (PrefixLength == 0 ? "default" : PrefixLength == 32 && IsLocal ? $"{Destination}" : $"{Destination}/{PrefixLength}") +
        (IsConnected ? "" : $" via {Gateway}") + $" dev {Device.Name}" + (Mtu > 0 ? $" mtu {Mtu}" : "") +
        (PreferredSource.IsUnspecified ? "" : $" src {PreferredSource}");
}

/// <summary>
/// The routing tables: the local table (the host's own addresses, 127.0.0.0/8; consulted first, as the local
/// rule has priority 0) and the main table. In each, the longest prefix wins, then the lowest metric. Path MTUs
/// learned from ICMP fragmentation-needed messages are kept per destination as exceptions that expire.
/// </summary>
/// <remarks>Linux: net/ipv4/fib_trie.c fib_table_lookup() (behaviour, not structure); net/ipv4/fib_rules.c (local, main); net/ipv4/route.c __ip_rt_update_pmtu()</remarks>
public sealed class RouteTable(Time.IScheduler? clock = null)
{
    private readonly List<Route> _routes = [];
    private readonly List<Route> _local = [];
    private readonly Dictionary<uint, (Route Base, Route Learned, Time.Instant Expires)> _pmtu = new();

    /// <summary>net.ipv4.route.min_pmtu: a learned MTU is never lower.</summary>
    public int MinPmtu { get; set; } = 552;

    /// <summary>net.ipv4.route.mtu_expires: how long a learned MTU holds.</summary>
    public Time.Duration MtuExpires { get; set; } = Time.Duration.FromSeconds(600);

    /// <summary>
    /// ip_rt_update_pmtu(): a router said packets to <paramref name="destination"/> must not exceed
    /// <paramref name="mtu"/>. Only lowers the path MTU (to at least min_pmtu); returns whether it changed.
    /// </summary>
    public bool UpdatePmtu(Ipv4Address destination, int mtu)
    {
        if (clock is null) return false;
        var current = Lookup(destination);
        if (current is null) return false;
        int old = current.EffectiveMtu;
        if (mtu < MinPmtu) mtu = Math.Min(old, MinPmtu);
        if (mtu >= old) return false;
        var baseRoute = _pmtu.TryGetValue(destination.Value, out var ex) ? ex.Base : current;
        _pmtu[destination.Value] = (baseRoute, baseRoute with { Mtu = mtu }, clock.Now + MtuExpires);
        return true;
    }

    /// <summary>The main table (`ip route show`).</summary>
    public IReadOnlyList<Route> All => _routes;

    /// <summary>The local table (`ip route show table local`, without its broadcast routes).</summary>
    public IReadOnlyList<Route> LocalTable => _local;

    /// <summary>Adds a route to the table its type belongs to: local routes to the local table, others to main.</summary>
    public void Add(Route route)
    {
        if (route.PrefixLength is < 0 or > 32) ThrowHelper.OutOfRange(nameof(route));
        var table = route.IsLocal ? _local : _routes;
        // Kept sorted by prefix length (longest first), then metric, so lookup takes the first match.
        int i = 0;
        while (i < table.Count && (table[i].PrefixLength > route.PrefixLength ||
               table[i].PrefixLength == route.PrefixLength && table[i].Metric <= route.Metric)) i++;
        table.Insert(i, route);
        Array.Clear(_cache);
    }

    public bool Remove(Route route)
    {
        Array.Clear(_cache);
        return route.IsLocal ? _local.Remove(route) : _routes.Remove(route);
    }

    /// <summary>
    /// fib_lookup(): the local table first, then main. A local route sends through lo with the route's preferred
    /// source (the address itself, or 127.0.0.1 for the rest of 127.0.0.0/8).
    /// </summary>
    /// <remarks>Linux: net/ipv4/route.c ip_route_output_key_hash_rcu() (RTN_LOCAL: dev_out = net->loopback_dev, saddr = fib_prefsrc)</remarks>
    public Route? Lookup(Ipv4Address destination)
    {
        // Every packet looks its destination up (output, input, forwarding): the tables' answer for the last few
        // destinations is kept until a route is added or removed. Path MTU exceptions are checked below on each call.
        ref var cached = ref _cache[(int)(destination.Value ^ destination.Value >> 8) & (CacheSlots - 1)];
        Route? found;
        bool local;
        if (cached.Valid && cached.Destination == destination.Value)
        {
            found = cached.Found;
            local = cached.Local;
        }
        else
        {
            (found, local) = LookupTables(destination);
            cached = new CachedLookup { Valid = true, Destination = destination.Value, Found = found, Local = local };
        }
        if (local) return found;
        if (found is null || _pmtu.Count == 0 || !_pmtu.TryGetValue(destination.Value, out var ex)) return found;
        if (ex.Base == found && clock!.Now < ex.Expires) return ex.Learned;
        _pmtu.Remove(destination.Value); // expired, or the route it was learned on is gone
        return found;
    }

    /// <summary>The local table's first match (local: true), else the main table's (or null).</summary>
    private (Route? Found, bool Local) LookupTables(Ipv4Address destination)
    {
        for (int i = 0; i < _local.Count; i++)
            if (_local[i].Matches(destination)) return (_local[i], true);
        for (int i = 0; i < _routes.Count; i++)
            if (_routes[i].Matches(destination)) return (_routes[i], false);
        return (null, false);
    }

    private const int CacheSlots = 4;

    /// <summary>One destination's answer from the tables (before path MTU exceptions).</summary>
    private struct CachedLookup
    {
        public bool Valid;
        public bool Local;
        public uint Destination;
        public Route? Found;
    }

    private readonly CachedLookup[] _cache = new CachedLookup[CacheSlots];
}
