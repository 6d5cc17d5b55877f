using System.Text.Json;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// What a FIN costs, against Linux 6.18 (scripts/linux-tcp-control-charge.sh, linux-truth/tcp-control-charge.json):
/// shutdown(SHUT_WR) on a sender a zero window holds back. With data still unsent the FIN joins the last skb
/// (no new charge, SIOCOUTQ one more); with nothing unsent tcp_send_fin queues an skb of its own, charged 832.
/// </summary>
public class TcpControlChargeTests
{
    private static readonly JsonElement Runs = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "tcp-control-charge.json"))).RootElement.GetProperty("runs");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_fin_behind_a_zero_window_is_charged_as_linux_charges_it(bool dataUnsent)
    {
        var linux = Runs.EnumerateArray().Single(r => r.GetProperty("leave_unsent").GetBoolean() == dataUnsent);
        using var net = new TwoHosts(veth: true);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5501,
            configureClient: (s, fd) => Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY, 1)),
            configureListener: (s, fd) => Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, 4096)));
        var a = tcp.ClientSock;
        if (dataUnsent)
            for (int i = 0; i < 200 && a.SndWnd != 0 && tcp.A.Write(tcp.Client, new byte[1000]) > 0; i++) net.RunForMs(1);
        else
            for (int i = 0; i < 50 && a.SndWnd != 0; i++)
            {
                tcp.A.Write(tcp.Client, new byte[a.SndWnd]); // exactly what the window takes
                net.RunForMs(50);
            }
        net.RunForMs(300);
        Assert.Equal(0u, a.SndWnd);
        Assert.Equal(dataUnsent, a.NotSentBytes > 0);
        long before = a.WmemQueued;
        int outqBefore = a.UnackedBytes, nsdBefore = a.NotSentBytes;
        Assert.Equal(0, tcp.A.Shutdown(tcp.Client, Shut.SHUT_WR));
        var l = linux.GetProperty("before_fin");
        var m = linux.GetProperty("after_fin");
        Assert.Equal(linux.GetProperty("fin_charge").GetInt64(), a.WmemQueued - before);
        Assert.Equal(m.GetProperty("outq").GetInt32() - l.GetProperty("outq").GetInt32(), ReadOutq(tcp) - outqBefore);
        Assert.Equal(m.GetProperty("outqnsd").GetInt32() - l.GetProperty("outqnsd").GetInt32(), ReadNsd(tcp) - nsdBefore);
        tcp.B.Close(tcp.Server);
        tcp.A.Close(tcp.Client);
        net.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
    }

    private static int ReadOutq(TcpConnection tcp) { Assert.Equal(0, tcp.A.Ioctl(tcp.Client, Ioctl.SIOCOUTQ, out int v)); return v; }
    private static int ReadNsd(TcpConnection tcp) { Assert.Equal(0, tcp.A.Ioctl(tcp.Client, Ioctl.SIOCOUTQNSD, out int v)); return v; }
}
