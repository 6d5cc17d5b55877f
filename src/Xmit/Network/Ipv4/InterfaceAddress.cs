using Xmit.Link;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>An address assigned to a device (`ip addr add A/P dev D`).</summary>
/// <remarks>Linux: include/linux/inetdevice.h struct in_ifaddr</remarks>
public sealed record InterfaceAddress(NetDevice Device, Ipv4Address Address, int PrefixLength)
{
    public Ipv4Address Network => new(Address.Value & Ipv4Address.PrefixMask(PrefixLength));
    public Ipv4Address BroadcastAddress => new(Address.Value | ~Ipv4Address.PrefixMask(PrefixLength));
    public override string ToString() => $"{Address}/{PrefixLength} dev {Device.Name}";
}

/// <summary>The host's addresses: which are local, and which to use as a source.</summary>
public sealed class AddressTable
{
    private readonly List<InterfaceAddress> _addresses = [];

    public IReadOnlyList<InterfaceAddress> All => _addresses;

    public void Add(InterfaceAddress a) => _addresses.Add(a);

    /// <summary>
    /// inet_addr_type() == RTN_LOCAL: is <paramref name="address"/> one of ours? Every address of a prefix on lo
    /// is (fib_add_ifaddr adds lo's prefix as a local route: 127.0.0.5 is as local as 127.0.0.1).
    /// </summary>
    /// <remarks>Linux: net/ipv4/fib_frontend.c inet_addr_type(), fib_add_ifaddr()</remarks>
    public bool IsLocal(Ipv4Address address)
    {
        for (int i = 0; i < _addresses.Count; i++)
        {
            var a = _addresses[i];
            if (a.Address == address || a.Device.IsLoopback && address.InSubnet(a.Address, a.PrefixLength)) return true;
        }
        return false;
    }

    /// <summary>A broadcast address of one of our subnets (or the limited broadcast).</summary>
    public bool IsBroadcast(Ipv4Address address)
    {
        if (address.IsBroadcast) return true;
        for (int i = 0; i < _addresses.Count; i++)
            if (_addresses[i].PrefixLength < 31 && _addresses[i].BroadcastAddress == address) return true;
        return false;
    }

    /// <summary>inet_select_addr(): the device's address in the destination's subnet, else its first address.</summary>
    /// <remarks>Linux: net/ipv4/devinet.c inet_select_addr()</remarks>
    public Ipv4Address SelectSource(NetDevice dev, Ipv4Address destination)
    {
        Ipv4Address first = Ipv4Address.Any;
        for (int i = 0; i < _addresses.Count; i++)
        {
            var a = _addresses[i];
            if (a.Device != dev) continue;
            if (destination.InSubnet(a.Address, a.PrefixLength)) return a.Address;
            if (first.IsUnspecified) first = a.Address;
        }
        if (!first.IsUnspecified) return first;
        return _addresses.Count > 0 ? _addresses[0].Address : Ipv4Address.Any;
    }
}
