using System.Text.Json;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.LinuxTruth;

/// <summary>
/// A sender filling a receiver that does not read, then the receiver draining it, against Linux 6.18 with cubic
/// measured by scripts/linux-tcp-fill-drain.sh (linux-truth/tcp-fill-drain.json) over a veth pair: the memory
/// charged per skb, the send buffer after the handshake, the zero window, the zero-window probes and their
/// backoff, and the window update that lets the transfer finish.
/// </summary>
public class TcpFillDrainTests
{
    private static readonly JsonElement Truth = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "tcp-fill-drain.json"))).RootElement;

    private static (Syscalls A, Syscalls B, int Client, int Server) Connect(TwoHosts net)
    {
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5001);
        return (tcp.A, tcp.B, tcp.Client, tcp.Server);
    }

    private static TcpSock Tcp(Syscalls s, int fd) => ((TcpSocketFile)s.File(fd)!).Sk;

    [Fact]
    public void An_unsent_skb_is_charged_832_bytes_plus_its_data_and_the_send_buffer_starts_at_linuxs()
    {
        using var net = new TwoHosts(LinkConfig.Veth);
        var (sa, sb, client, server) = Connect(net);
        var sk = Tcp(sa, client);
        var probe = Truth.GetProperty("per_skb_charge").GetProperty("probes")[0];
        Assert.Equal(probe.GetProperty("before").GetProperty("sndbuf").GetInt32(), sk.SndBuf); // tcp_sndbuf_expand at the handshake
        Assert.Equal(0, sa.SetSockOpt(client, SockOpt.IPPROTO_TCP, SockOpt.TCP_CORK, 1));
        foreach (var write in Truth.GetProperty("per_skb_charge").GetProperty("probes").EnumerateArray())
        {
            var w = write.GetProperty("writes")[0];
            if (write.GetProperty("writes").GetArrayLength() != 1 || w.GetProperty("outqnsd").GetInt32() != w.GetProperty("write").GetInt32()) continue; // a full segment leaves at once
            int n = w.GetProperty("write").GetInt32();
            long before = sk.WmemQueued;
            Assert.Equal(n, sa.Write(client, new byte[n]));
            Assert.True(w.GetProperty("wmem_queued_minus_outq").GetInt64() == sk.WmemQueued - before - n,
                $"{n} bytes: charged {sk.WmemQueued - before - n} beyond the data, Linux {w.GetProperty("wmem_queued_minus_outq")}");
            Assert.Equal(0, sa.SetSockOpt(client, SockOpt.IPPROTO_TCP, SockOpt.TCP_CORK, 0)); // send it, so the next write starts a new skb
            net.RunForMs(5);
            Assert.Equal(0, sa.SetSockOpt(client, SockOpt.IPPROTO_TCP, SockOpt.TCP_CORK, 1));
        }
        sa.Close(client);
        sb.Close(server);
        net.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
    }

    [Fact]
    public void A_receiver_that_stops_reading_closes_the_window_the_sender_probes_with_backoff_and_a_drain_reopens_it()
    {
        using var net = new TwoHosts(LinkConfig.Veth);
        var (sa, sb, client, server) = Connect(net);
        var a = Tcp(sa, client);
        var b = Tcp(sb, server);
        var chunk = new byte[1000];
        long accepted = 0;
        // Fill: write until the sender stalls against B's zero window.
        for (int i = 0; i < 20000 && !(a.SndWnd == 0 && a.PacketsOut == 0 && a.NotSentBytes > 0); i++)
        {
            int n = sa.Write(client, chunk);
            if (n > 0) accepted += n;
            else net.RunFor(Duration.FromMicroseconds(100));
        }
        Assert.True(a.SndWnd == 0, $"B's window never closed: snd_wnd {a.SndWnd}, accepted {accepted}, out {a.PacketsOut} notsent {a.NotSentBytes} pending {a.PendingTimer} B rmem {b.RmemAlloc} rcvbuf {b.RcvBuf} rcvwnd {b.RcvWnd} t {net.Sim.Now}");
        Assert.Equal(0u, b.RcvWnd); // announced zero: free space below one segment

        // Zero-window probes: Linux sends them after ~RTO, each interval twice the last.
        var linux = Truth.GetProperty("summary")[0].GetProperty("zero_window_probe_times_after_first_zero_window_s")
            .EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var probes = new List<double>();
        var stalledAt = net.Sim.Now;
        long lastInSegs = net.B.Tcp.Mib.InSegs;
        while (probes.Count < linux.Length && net.Sim.Now - stalledAt < Duration.FromSeconds(10))
        {
            net.RunFor(Duration.FromMilliseconds(1));
            if (net.B.Tcp.Mib.InSegs != lastInSegs) probes.Add((net.Sim.Now - stalledAt).TotalSeconds);
            lastInSegs = net.B.Tcp.Mib.InSegs;
        }
        Assert.Equal(linux.Length, probes.Count);
        for (int i = 1; i < probes.Count; i++)
        {
            double ours = probes[i] - probes[i - 1], theirs = linux[i] - linux[i - 1];
            Assert.True(Math.Abs(ours / (probes[i - 1] - (i > 1 ? probes[i - 2] : 0)) - 2) < 0.1, $"probe interval {i} does not double: {string.Join(", ", probes)}");
            Assert.True(Math.Abs(ours - theirs) / theirs < 0.15, $"probe interval {i}: {ours:F3} s, Linux {theirs:F3} s");
        }
        Assert.True(a.Backoff >= 3, $"backoff {a.Backoff}");
        Assert.True(net.A.Tcp.Mib.WinProbe >= linux.Length);

        // Drain: B reads everything; its window update restarts the sender, which finishes what it had accepted.
        var buf = new byte[4096];
        long read = 0;
        var deadline = net.Sim.Now + Duration.FromSeconds(5);
        while (read < accepted && net.Sim.Now < deadline)
        {
            int r = sb.Read(server, buf);
            if (r > 0) read += r;
            else net.RunFor(Duration.FromMilliseconds(1));
        }
        Assert.Equal(accepted, read);
        Assert.Equal(0, a.Backoff); // the window opened: probing is over
        Assert.True(a.StreamMemoryFree);
        sa.Close(client);
        sb.Close(server);
        net.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
    }
}
