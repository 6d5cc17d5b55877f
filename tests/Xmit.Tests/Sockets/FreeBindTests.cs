using Xmit.Sockets.Api;
using Xmit.Tests.Support;

namespace Xmit.Tests.Sockets;

/// <summary>
/// bind() to an address the host does not have, against Linux 6.18 measured by scripts/linux-freebind.sh: refused with
/// EADDRNOTAVAIL unless the socket set IP_FREEBIND or net.ipv4.ip_nonlocal_bind is 1, for TCP and UDP alike.
/// </summary>
public class FreeBindTests
{
    [Theory]
    [MemberData(nameof(LinuxCases))]
    public void Binding_an_address_that_is_not_local_is_as_on_Linux(string kind, int nonlocalBind, int freebind, int linuxGetsockopt, int linuxErrno)
    {
        using var net = new TwoHosts();
        net.A.Sysctls.IpNonlocalBind = nonlocalBind;
        var s = new Syscalls(net.A);
        int fd = s.Socket(Af.AF_INET, kind == "tcp" ? SockType.SOCK_STREAM : SockType.SOCK_DGRAM, 0);
        if (freebind == 1) Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_IP, SockOpt.IP_FREEBIND, 1));
        Assert.Equal(0, s.GetSockOpt(fd, SockOpt.IPPROTO_IP, SockOpt.IP_FREEBIND, out int back));
        Assert.Equal(linuxGetsockopt, back);
        Assert.Equal(-linuxErrno, s.Bind(fd, new SockAddrIn(new Xmit.Wire.Ipv4Address(198, 18, 77, 1), 0)));
        s.CloseAll();
    }

    public static TheoryData<string, int, int, int, int> LinuxCases()
    {
        var data = new TheoryData<string, int, int, int, int>();
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "freebind.json")));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            data.Add(c.GetProperty("socket").GetString()!, c.GetProperty("ip_nonlocal_bind").GetInt32(), c.GetProperty("freebind").GetInt32(),
                c.GetProperty("getsockopt").GetInt32(), c.GetProperty("errno").GetInt32());
        return data;
    }
}
