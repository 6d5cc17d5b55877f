using System.Text.Json;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// A receiver that does not read, with a small locked buffer (SO_RCVBUF 16384 on the listener), fed one full
/// segment and then 50-byte TCP_NODELAY writes over veth, against Linux 6.18 (scripts/linux-tcp-rcv-collapse.sh,
/// linux-truth/tcp-rcv-collapse.json): the small segments coalesce into the receive queue's tail, charged
/// their data only, until the window closes.
/// </summary>
public class TcpSmallSegmentsTests
{
    private static readonly JsonElement Truth = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "tcp-rcv-collapse.json"))).RootElement;

    [Fact]
    public void Small_segments_into_a_locked_buffer_are_charged_and_windowed_as_linux_does()
    {
        using var net = new TwoHosts(veth: true);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5401,
            configureClient: (s, fd) => Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY, 1)),
            configureListener: (s, fd) => Assert.Equal(0, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, 16384)));
        var b = tcp.ServerSock;
        var hs = Truth.GetProperty("after_handshake_B");
        Assert.Equal(hs.GetProperty("rcvbuf").GetInt32(), b.RcvBuf);
        Assert.Equal(hs.GetProperty("rcv_wnd").GetUInt32(), b.RcvWnd);
        Assert.Equal(hs.GetProperty("rcv_ssthresh").GetUInt32(), b.RcvSsthresh);

        Assert.Equal(1448, tcp.A.Write(tcp.Client, new byte[1448]));
        net.RunForMs(10);
        var full = Truth.GetProperty("after_full_segment_B");
        Assert.Equal(full.GetProperty("rmem_alloc").GetInt64(), b.RmemAlloc);
        Assert.Equal(full.GetProperty("rcv_wnd").GetUInt32(), b.RcvWnd);

        // Every write until the sender's first loss probe is Linux's to the byte: the 50-byte segments join the tail
        // skb (rmem grows by 50, not by a head each) while cwnd has room, then queue behind the full cwnd. The loss
        // probe (one jiffy out, fired on the tick after next: 4-8 ms at HZ=250) sends a full segment of new data; when
        // it comes depends on where the ticks fall between the writes, so the comparison ends at the first probe of
        // either (Linux's shows as B's queue growing by an MSS at once).
        var chunk = new byte[50];
        var writes = Truth.GetProperty("writes").EnumerateArray().ToList();
        long total = 1448;
        for (int i = 0; i < writes.Count; i++)
        {
            int n = tcp.A.Write(tcp.Client, chunk);
            if (n > 0) total += n;
            net.RunFor(Duration.FromMicroseconds(15));
            bool linuxProbed = i > 0 && writes[i].GetProperty("B_inq").GetInt32() - writes[i - 1].GetProperty("B_inq").GetInt32() >= 1448;
            if (net.A.Tcp.Mib.LossProbes > 0 || linuxProbed) break;
            Assert.True(writes[i].GetProperty("total").GetInt64() == total && writes[i].GetProperty("B_rmem_alloc").GetInt64() == b.RmemAlloc
                && writes[i].GetProperty("B_inq").GetInt32() == b.ReadableBytes && writes[i].GetProperty("A_unacked").GetUInt32() == tcp.ClientSock.PacketsOut,
                $"write {i + 1}: Linux {writes[i]}, Xmit total {total} rmem {b.RmemAlloc} inq {b.ReadableBytes} unacked {tcp.ClientSock.PacketsOut}");
            Assert.True(i < 300, "no loss probe");
        }
        // Then the window closes with the buffer full but never over it.
        for (int i = 0; i < writes.Count && b.RcvWnd != 0; i++)
        {
            tcp.A.Write(tcp.Client, chunk);
            net.RunFor(Duration.FromMicroseconds(15));
        }
        net.RunForMs(500);
        Assert.Equal(0u, b.RcvWnd);
        Assert.InRange(b.RmemAlloc, Truth.GetProperty("end_B").GetProperty("rmem_alloc").GetInt64() * 0.9, b.RcvBuf);
        tcp.Close();
    }
}
