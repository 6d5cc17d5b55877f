using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// A path MTU that falls under an established connection (an ICMP fragmentation-needed about the destination,
/// learned by the route whichever socket it quoted) re-syncs the MSS at the next send, as tcp_current_mss does.
/// Found by the RX fuzzer: before, every full-sized segment with DF was refused locally and the connection
/// stalled for ever.
/// </summary>
public class TcpPmtuTests
{
    [Fact]
    public void A_lower_path_mtu_shrinks_the_mss_and_the_stream_goes_on()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        var sk = tcp.ClientSock;
        Assert.Equal(1448, sk.MssCache);
        var sent = FrameRecorder.On(net.DevA);

        Assert.True(net.A.Routes.UpdatePmtu(TwoHosts.AddrB, 576));
        var data = new byte[200_000];
        int written = 0, read = 0;
        var buf = new byte[65536];
        var deadline = net.Sim.Now + Duration.FromSeconds(10);
        while (read < data.Length && net.Sim.Now < deadline)
        {
            if (written < data.Length && tcp.A.Write(tcp.Client, data.AsSpan(written)) is > 0 and var n) written += n;
            net.RunForMs(1);
            while (tcp.B.Read(tcp.Server, buf) is > 0 and var r) read += r;
        }
        Assert.Equal(data.Length, read);
        Assert.Equal(576 - 20 - 20 - 12, sk.MssCache);                          // tcp_sync_mss: less the timestamp option
        Assert.All(sent.Sent.Where(f => f.Length > 100), f => Assert.True(f.Length - 14 <= 576, $"a {f.Length - 14}-byte packet"));
        tcp.Close();
    }
}
