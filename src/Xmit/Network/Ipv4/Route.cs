using Xmit.Link;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>
/// A route: destination prefix, next hop (gateway, or none for a connected route), device, optional MTU
/// and preferred source. A route's MTU below the device MTU limits packets that use it (dst_mtu).
/// </summary>
/// <remarks>Linux: include/net/route.h struct rtable; net/ipv4/fib_semantics.c</remarks>
public sealed record Route(Ipv4Address Destination, int PrefixLength, NetDevice Device, Ipv4Address Gateway = default, int Mtu = 0, Ipv4Address PreferredSource = default, int Metric = 0)
{
    public bool IsConnected => Gateway.IsUnspecified;

    /// <summary>dst_mtu(): the route's MTU if set, else the device's.</summary>
    public int EffectiveMtu => Mtu > 0 ? Math.Min(Mtu, Device.Mtu) : Device.Mtu;

    /// <summary>The neighbour to resolve: the gateway, or the destination itself on a connected route.</summary>
    public Ipv4Address NextHop(Ipv4Address destination) => IsConnected ? destination : Gateway;

    public bool Matches(Ipv4Address address) => address.InSubnet(Destination, PrefixLength);

    public override string ToString() =>
        (PrefixLength == 0 ? "default" : $"{Destination}/{PrefixLength}") +
        (IsConnected ? "" : $" via {Gateway}") + $" dev {Device.Name}" + (Mtu > 0 ? $" mtu {Mtu}" : "") +
        (PreferredSource.IsUnspecified ? "" : $" src {PreferredSource}");
}

/// <summary>
/// The routing table: longest prefix wins, then the lowest metric. Path MTUs learned from ICMP
/// fragmentation-needed messages are kept per destination as exceptions that expire.
/// </summary>
/// <remarks>Linux: net/ipv4/fib_trie.c fib_table_lookup() (behaviour, not structure); net/ipv4/route.c __ip_rt_update_pmtu()</remarks>
public sealed class RouteTable(Time.IScheduler? clock = null)
{
    private readonly List<Route> _routes = [];
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

    public IReadOnlyList<Route> All => _routes;

    public void Add(Route route)
    {
        if (route.PrefixLength is < 0 or > 32) ThrowHelper.OutOfRange(nameof(route));
        // Kept sorted by prefix length (longest first), then metric, so lookup takes the first match.
        int i = 0;
        while (i < _routes.Count && (_routes[i].PrefixLength > route.PrefixLength ||
               _routes[i].PrefixLength == route.PrefixLength && _routes[i].Metric <= route.Metric)) i++;
        _routes.Insert(i, route);
    }

    public bool Remove(Route route) => _routes.Remove(route);

    public Route? Lookup(Ipv4Address destination)
    {
        Route? found = null;
        for (int i = 0; i < _routes.Count; i++)
            if (_routes[i].Matches(destination)) { found = _routes[i]; break; }
        if (found is null || _pmtu.Count == 0 || !_pmtu.TryGetValue(destination.Value, out var ex)) return found;
        if (ex.Base == found && clock!.Now < ex.Expires) return ex.Learned;
        _pmtu.Remove(destination.Value); // expired, or the route it was learned on is gone
        return found;
    }
}
