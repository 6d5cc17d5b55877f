using System.Text.Json;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Sockets;

/// <summary>
/// IP_RECVERR on UDP against Linux 6.18 measured by scripts/linux-udp-recverr.sh: the ICMP port unreachable and the
/// local EMSGSIZE as recvmsg(MSG_ERRQUEUE) returns them — bytes, msg_flags, msg_name, every sock_extended_err field and
/// the offender — and sk_err before and after reading; without IP_RECVERR nothing is queued.
/// </summary>
public class UdpRecvErrTests
{
    private static readonly JsonElement Linux = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "udp-recverr.json"))).RootElement.GetProperty("cases");

    private static (Syscalls S, int Fd) Connected(TwoHosts net, bool recverr)
    {
        var s = new Syscalls(net.A);
        int fd = s.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_IP, SockOpt.IP_RECVERR, recverr ? 1 : 0));
        Assert.Equal(0, s.Connect(fd, new SockAddrIn(TwoHosts.AddrB, 9)));
        return (s, fd);
    }

    /// <summary>Linux's addresses (198.18.46.1 sending, .2 the peer) as this test's hosts have them.</summary>
    private static string? Ours(string? linux) => linux switch
    {
        "198.18.46.1" => TwoHosts.AddrA.ToString(),
        "198.18.46.2" => TwoHosts.AddrB.ToString(),
        _ => linux,
    };

    private static void AssertSameMessage(JsonElement want, int rc, Xmit.Sockets.ErrQueueMessage m)
    {
        Assert.Equal(want.GetProperty("bytes").GetInt32(), rc);
        Assert.Equal(want.GetProperty("msg_flags").GetInt32(), (int)m.Flags);
        var name = want.GetProperty("msg_name");
        Assert.Equal((Ours(name[0].GetString()), name[1].GetInt32()), (m.Name?.Address.ToString(), (int?)m.Name?.Port ?? -1));
        var c = want.GetProperty("cmsgs")[0];
        Assert.Equal(Enum.Parse<Errno>(c.GetProperty("ee_errno").GetString()!), (Errno)m.Ee.Errno);
        Assert.Equal(c.GetProperty("ee_origin").GetInt32(), (int)m.Ee.Origin);
        Assert.Equal(c.GetProperty("ee_type").GetInt32(), m.Ee.Type);
        Assert.Equal(c.GetProperty("ee_code").GetInt32(), m.Ee.Code);
        Assert.Equal(c.GetProperty("ee_info").GetUInt32(), m.Ee.Info);
        Assert.Equal(c.GetProperty("ee_data").GetUInt32(), m.Ee.Data);
        bool hasOffender = c.GetProperty("offender_family").GetInt32() == Af.AF_INET;
        Assert.Equal(hasOffender ? Ours(c.GetProperty("offender").GetString()) : null, m.Offender?.ToString());
        Assert.Null(m.Timestamp);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_port_unreachable_is_reported_as_on_Linux(bool recverr)
    {
        var want = Linux.GetProperty($"port_unreachable_recverr_{(recverr ? 1 : 0)}");
        using var net = new TwoHosts();
        net.WarmUp();
        var (s, fd) = Connected(net, recverr);
        Assert.Equal(100, s.Send(fd, new byte[100]));
        net.RunForMs(300);
        int rc = s.RecvErrorQueue(fd, new byte[2048], out var m);
        if (want.GetProperty("first").TryGetProperty("errno", out var e)) Assert.Equal(-(int)Enum.Parse<Errno>(e.GetString()!), rc);
        else AssertSameMessage(want.GetProperty("first"), rc, m);
        Assert.Equal(0, s.GetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_ERROR, out int soError));
        Assert.Equal(want.GetProperty("so_error_after").GetInt32(), soError); // reading the ICMP message cleared sk_err
        Assert.Equal(want.GetProperty("next_send").GetInt32(), s.Send(fd, new byte[10]));
        Assert.Equal(0, ((UdpSocketFile)s.File(fd)!).Sk.RmemAlloc);
        s.CloseAll();
    }

    [Fact]
    public void A_local_emsgsize_is_reported_as_on_Linux()
    {
        var want = Linux.GetProperty("emsgsize_recverr_1");
        using var net = new TwoHosts();
        net.WarmUp();
        var (s, fd) = Connected(net, recverr: true);
        Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_IP, SockOpt.IP_MTU_DISCOVER, 2)); // IP_PMTUDISC_DO
        Assert.Equal(-(int)Enum.Parse<Errno>(want.GetProperty("send").GetString()!), s.Send(fd, new byte[2000]));
        int rc = s.RecvErrorQueue(fd, new byte[2048], out var m);
        AssertSameMessage(want.GetProperty("first"), rc, m);
        Assert.Equal(0, s.GetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_ERROR, out int soError));
        Assert.Equal(want.GetProperty("so_error_after").GetInt32(), soError);
        s.CloseAll();
        net.RunFor(Duration.FromMilliseconds(10));
    }
}
