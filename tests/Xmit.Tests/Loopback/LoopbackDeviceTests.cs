using Xmit.Buffers;
using Xmit.Link.Drivers;
using Xmit.Link.Qdiscs;
using Xmit.Network.Ipv4;
using Xmit.Neighbour;
using Xmit.Tests.Support;
using Xmit.Wire;

namespace Xmit.Tests.Loopback;

/// <summary>lo as every host gets it, and the local routes that send a host's own traffic through it.</summary>
public class LoopbackDeviceTests
{
    [Fact]
    public void Every_host_has_lo_up_with_127_0_0_1_slash_8()
    {
        using var net = new TwoHosts();
        foreach (var host in new[] { net.A, net.B })
        {
            var lo = host.Devices[0];
            Assert.Same(host.Loopback, lo);
            Assert.Equal("lo", lo.Name);
            Assert.Equal(1, lo.IfIndex);
            Assert.True(lo.IsLoopback && lo.IsUp);
            Assert.Equal(65536, lo.Mtu);
            Assert.Equal(MacAddress.Zero, lo.Mac);
            Assert.IsType<NoQueueQdisc>(lo.TxQueues[0].Qdisc);
            Assert.IsType<LoopbackDriver>(lo.Driver);
            Assert.Contains(host.Addresses.All, a => a.Device == lo && a.Address == Ipv4Address.Loopback && a.PrefixLength == 8);
        }
        // The Ethernet devices keep their names and addresses: eth0, ifindex 2.
        Assert.Equal("eth0", net.DevA.Name);
        Assert.Equal(2, net.DevA.IfIndex);
    }

    [Fact]
    public void The_local_table_holds_lo_s_prefix_and_every_address_as_Linux_s_does()
    {
        using var net = new TwoHosts();
        var routes = net.A.Routes;
        Assert.Equal(
            ["local 127.0.0.1 dev lo src 127.0.0.1", "local 198.18.0.1 dev lo src 198.18.0.1", "local 127.0.0.0/8 dev lo src 127.0.0.1"],
            routes.LocalTable.Select(r => r.ToString()));
        // The main table is what it was: the connected route of eth0, nothing for 127.0.0.0/8.
        Assert.Equal(["198.18.0.0/24 dev eth0 src 198.18.0.1"], routes.All.Select(r => r.ToString()));
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("127.0.0.5", "127.0.0.1")]
    [InlineData("198.18.0.1", "198.18.0.1")]
    public void Ip_route_get_to_a_local_address_says_local_dev_lo(string destination, string source)
    {
        using var net = new TwoHosts();
        var dst = Ipv4Address.Parse(destination);
        var route = net.A.Routes.Lookup(dst)!;
        Assert.True(route.IsLocal);
        Assert.Same(net.A.Loopback, route.Device);
        Assert.Equal(Ipv4Address.Parse(source), net.A.Output.SourceFor(route, dst));
        Assert.Equal(65535, route.EffectiveMtu); // ipv4_mtu(): lo's 65536 capped at IP_MAX_MTU
        // The peer is not local: it goes out of eth0.
        Assert.Same(net.DevA, net.A.Routes.Lookup(TwoHosts.AddrB)!.Device);
    }

    [Fact]
    public void Lo_s_neighbours_need_no_arp()
    {
        using var net = new TwoHosts();
        var n = net.A.Arp.NeighbourFor(net.A.Loopback, Ipv4Address.Loopback)!;
        Assert.Equal(NudState.NoArp, n.State);
        Assert.Equal(MacAddress.Zero, n.LinkAddress);
    }

    [Fact]
    public void A_loopback_address_arriving_on_eth0_is_martian_and_dropped()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        // B sends to 127.0.0.1 by a route through eth0 (as a misconfigured peer could): A must not take it.
        net.B.Routes.Add(new Route(new Ipv4Address(127, 0, 0, 1), 32, net.DevB, TwoHosts.AddrA, Metric: 0));
        var bLocal = net.B.Routes.LocalTable.ToList();
        foreach (var r in bLocal) net.B.Routes.Remove(r);
        Assert.Equal(0, net.B.Icmp.SendEchoRequest(new Ipv4Address(127, 0, 0, 1), 7, 1, 8));
        net.RunForMs(10);
        Assert.Equal(1, net.Sim.Pool.Drops(SkbDropReason.IpInvalidDest));
        Assert.Equal(0, net.A.Mib.Icmp.InEchos);
    }
}
