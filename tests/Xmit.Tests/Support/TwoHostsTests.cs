using Xunit.Sdk;

namespace Xmit.Tests.Support;

/// <summary>The fixture's leak check bites: a socket left with memory charged fails the test that owns it.</summary>
public class TwoHostsTests
{
    [Fact]
    public void A_udp_socket_left_charged_fails_the_fixtures_check()
    {
        var net = new TwoHosts();
        var sk = net.A.Udp.Bind(TwoHosts.AddrA, 7000);
        sk.ChargeWrite(100); // bytes charged to sk_wmem_alloc that no skb will ever give back
        var e = Assert.ThrowsAny<XunitException>(net.Dispose);
        Assert.Contains("still has wmem 100", e.Message);
    }

    [Fact]
    public void A_tcp_socket_left_charged_fails_the_fixtures_check()
    {
        var net = new TwoHosts();
        var sk = net.B.Tcp.Create();
        sk.ChargeWrite(64);
        var e = Assert.ThrowsAny<XunitException>(net.Dispose);
        Assert.Contains("still has wmem 64", e.Message);
    }
}
