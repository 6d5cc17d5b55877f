using Xmit.Packetdrill;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;

namespace Xmit.Tests.Sockets;

public class SysctlTests
{
    [Fact]
    public void Buffer_sysctls_set_defaults_and_caps_like_linux()
    {
        using var net = new TwoHosts();
        var sys = new Syscalls(net.A);
        // Stock Linux caps SO_SNDBUF at wmem_max 212992 (doubled: 425984).
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sys.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, 1_000_000);
        sys.GetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, out int capped);
        Assert.Equal(425984, capped);
        // linux-truth's machine had net.core.wmem_max 4194304: the same call gives 2000000 there.
        Assert.True(net.A.Sysctls.TrySet("net.core.wmem_max", "4194304", out _));
        sys.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, 1_000_000);
        sys.GetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, out int raised);
        Assert.Equal(2_000_000, raised);
        Assert.True(net.A.Sysctls.TrySet("net.core.wmem_default", "65536", out _));
        Assert.True(net.A.Sysctls.TrySet("net.ipv4.ip_default_ttl", "33", out _));
        int fresh = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sys.GetSockOpt(fresh, SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, out int dflt);
        Assert.Equal(65536, dflt); // wmem_default is not doubled
        sys.GetSockOpt(fresh, SockOpt.IPPROTO_IP, SockOpt.IP_TTL, out int ttl);
        Assert.Equal(33, ttl);
        Assert.False(net.A.Sysctls.TrySet("net.core.somaxconn", "10", out var error));
        Assert.Contains("not modelled", error);
        Assert.False(net.A.Sysctls.TrySet("net.core.wmem_max", "lots", out error));
        Assert.Contains("invalid value", error);
        sys.CloseAll();
    }

    [Fact]
    public void A_packetdrill_sysctl_line_changes_the_host()
    {
        var (script, _) = ScriptParser.Parse("s.pkt", """
            `sysctl -q net.core.wmem_default=32768`
            0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
            +0 getsockopt(3, SOL_SOCKET, SO_SNDBUF, [32768], [4]) = 0
            """);
        var r = ScriptRunner.Run(script!);
        Assert.True(r.Status == ScriptStatus.Pass, r.ToString());
        var (unknown, _) = ScriptParser.Parse("u.pkt", "`sysctl -q net.core.somaxconn=10`\n0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n");
        var u = ScriptRunner.Run(unknown!);
        Assert.Equal(ScriptStatus.Unsupported, u.Status);
        Assert.Contains("net.core.somaxconn is not modelled", u.Reason);
    }
}
