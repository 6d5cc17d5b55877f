using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// A listener as Linux keeps one: request sockets in a SYN queue bounded by the backlog, SYN cookies when it is
/// full, SYN-ACK retransmission with backoff and expiry, an accept queue bounded by the backlog, and no socket
/// left behind by a connection that died before or after accept().
/// The SYN flood measures the process's heap, so the class runs alone.
/// </summary>
[Collection(nameof(RunsAlone))]
public class TcpListenTests
{
    private const int NonBlockingStream = SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK;
    private const ushort Port = 80;

    private static LinkConfig Gigabit(Duration propagation) => new() { RateBitsPerSecond = 1_000_000_000, Propagation = propagation };

    private static (Syscalls Sb, int Fd, TcpSock Sk) Listen(TwoHosts net, int backlog)
    {
        var sb = new Syscalls(net.B);
        int fd = sb.Socket(Af.AF_INET, NonBlockingStream, 0);
        Assert.Equal(0, sb.Bind(fd, new SockAddrIn(TwoHosts.AddrB, Port)));
        Assert.Equal(0, sb.Listen(fd, backlog));
        return (sb, fd, ((TcpSocketFile)sb.File(fd)!).Sk);
    }

    /// <summary>
    /// 100,000 SYNs from spoofed sources at a million a second: the listener keeps backlog + 1 = 129 request sockets
    /// and answers the rest with SYN cookies (no state). The bound on the managed heap's growth, 8 MiB, is what 129
    /// requests (a few hundred bytes each) and the pool's high water of SYN-ACKs in flight (a qdisc of 1,000 and the
    /// ring, 2 KiB each) could take with a wide margin, and 30 times less than before request sockets (50,000 SYNs
    /// cost 131 MiB of full sockets); measured: under 200 KiB. A real client that connects in the
    /// middle of the flood gets a cookie, completes the handshake with it and moves data. Counted as Linux counts
    /// it: a SYN cookie and TCPReqQFullDoCookies for every SYN that found the queue full, no ListenOverflows or
    /// ListenDrops (the accept queue never filled).
    /// </summary>
    [Fact]
    public void A_SYN_flood_costs_bounded_memory_and_a_real_client_still_connects_through_a_cookie()
    {
        const int Syns = 100_000, Backlog = 128, PerBatch = 100;
        using var net = new TwoHosts(Gigabit(Duration.FromMicroseconds(50)), trackAllocations: false);
        ListenFrames.RouteSpoofedSourcesViaA(net);
        net.WarmUp();
        var (sb, lfd, listener) = Listen(net, Backlog);
        var sa = new Syscalls(net.A);
        int client = sa.Socket(Af.AF_INET, NonBlockingStream, 0);

        long before = GC.GetTotalMemory(forceFullCollection: true);
        for (int i = 0; i < Syns; i++)
        {
            var (src, port) = ListenFrames.Source(i);
            ListenFrames.Inject(net, src, port, Port, (uint)i * 7919u, TcpFlags.Syn);
            if (i == Syns / 2) Assert.Equal(-(int)Errno.EINPROGRESS, sa.Connect(client, new SockAddrIn(TwoHosts.AddrB, Port)));
            if (i % PerBatch == PerBatch - 1) net.RunFor(Duration.FromMicroseconds(100));
        }
        net.RunForMs(10);
        long grown = GC.GetTotalMemory(forceFullCollection: true) - before;
        Assert.True(grown < 8 << 20, $"the heap grew by {grown / 1024} KiB");
        Console.WriteLine($"SYN flood: {Syns} SYNs, heap +{grown / 1024} KiB");

        var mib = net.B.Tcp.Mib;
        Assert.Equal(Backlog + 1, listener.SynQueueLength); // 6.18: full when qlen > backlog
        long cookies = Syns - (Backlog + 1) + 1; // every SYN after the queue filled, and the real client's
        Assert.Equal(cookies, mib.SyncookiesSent);
        Assert.Equal(cookies, mib.ReqQFullDoCookies);
        Assert.Equal(1, mib.SyncookiesRecv);
        Assert.Equal(0, mib.SyncookiesFailed);
        Assert.Equal(0, mib.ListenOverflows);
        Assert.Equal(0, mib.ListenDrops);

        Assert.Equal(0, sa.Connect(client, new SockAddrIn(TwoHosts.AddrB, Port)));
        int server = sb.Accept(lfd, out _);
        Assert.True(server >= 0, $"accept: {server}");
        var data = new byte[20_000];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 31);
        Assert.Equal(data.Length, sa.Write(client, data));
        net.RunForMs(20);
        var got = new byte[data.Length + 1];
        int n = 0;
        for (int r; n < data.Length && (r = sb.Read(server, got.AsSpan(n))) > 0;) n += r;
        Assert.Equal(data, got[..n]);
        var child = ((TcpSocketFile)sb.File(server)!).Sk;
        Assert.True(child.TimestampOk && child.SackOk && child.WscaleOk, "the cookie kept the options in its timestamp");
        Assert.Equal(((TcpSocketFile)sa.File(client)!).Sk.RcvWscale, child.SndWscale);

        // The flood's 129 request sockets time out. After their first timeout none is young, and while the queue is more
        // than half full of old requests each gets 2 retries instead of 5 (reqsk_timer_handler): 65 expire at 7 s after
        // SYN-ACKs at 0, 1 and 3 s, until 64 are left (not more than half of the backlog), which get all five
        // (1, 3, 7, 15, 31 s) and expire at 63 s — up to 2.5 s later on the timer wheel's coarser levels at HZ=250.
        net.RunFor(Duration.FromSeconds(62));
        Assert.Equal(64, listener.SynQueueLength);
        net.RunFor(Duration.FromSeconds(4));
        Assert.Equal(0, listener.SynQueueLength);
        Assert.Equal(65 * 2 + 64 * 5, mib.SynRetrans);
    }

    /// <summary>
    /// 2,000 clients connect at once to a listener with backlog 128 that does not accept: 129 requests (the SYN queue
    /// is full when it holds more than the backlog) and 1,871 cookies; the accept queue takes backlog + 1 = 129
    /// children (sk_acceptq_is_full is ack_backlog &gt; backlog), the 129 requests, and every cookie's final ACK is
    /// dropped and counted (ListenOverflows and ListenDrops). Each client then writes 100
    /// bytes: once accept() drains the queue, the data the clients retransmit carries the ACK of the cookie again
    /// and every connection completes.
    /// </summary>
    [Fact]
    public void A_full_accept_queue_drops_final_ACKs_and_the_connections_complete_once_it_drains()
    {
        const int Clients = 2000, Backlog = 128, Bytes = 100;
        using var net = new TwoHosts(Gigabit(Duration.FromMilliseconds(10)), trackAllocations: false);
        net.WarmUp();
        net.RunForMs(20); // ARP's answer takes the 20 ms round trip
        var (sb, lfd, listener) = Listen(net, Backlog);
        var sa = new Syscalls(net.A);
        var clients = new int[Clients];
        // 100 connects every 200 µs: all 2,000 SYNs reach B within 4 ms, before the first final ACK (20 ms RTT),
        // and never more at once than A's qdisc holds.
        for (int i = 0; i < Clients; i++)
        {
            clients[i] = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
            Assert.Equal(-(int)Errno.EINPROGRESS, sa.Connect(clients[i], new SockAddrIn(TwoHosts.AddrB, Port)));
            if (i % 100 == 99) net.RunFor(Duration.FromMicroseconds(200));
        }
        net.RunForMs(100);

        var mib = net.B.Tcp.Mib;
        Assert.Equal(Backlog + 1, listener.AcceptQueueLength);
        Assert.Equal(0, listener.SynQueueLength);
        Assert.Equal(Clients - Backlog - 1, mib.SyncookiesSent);
        Assert.Equal(Clients - Backlog - 1, mib.SyncookiesRecv);
        Assert.Equal(Clients - Backlog - 1, mib.ListenOverflows);
        Assert.Equal(Clients - Backlog - 1, mib.ListenDrops);
        Assert.Equal(Backlog + 1 + 1, net.B.Tcp.Sockets.Count); // the listener and its children: nothing for the dropped ACKs

        var payload = new byte[Bytes];
        foreach (int c in clients)
        {
            Assert.Equal(0, sa.Connect(c, new SockAddrIn(TwoHosts.AddrB, Port))); // each client thinks it is connected
            Assert.Equal(Bytes, sa.Write(c, payload));
        }
        // The server now accepts as soon as it is woken (an application blocked in accept(): it runs right after the
        // wake-up), so each child leaves the queue before the next retransmitted segment arrives.
        var accepted = new List<int>();
        var app = new Xmit.Time.Timer(net.Sim.Scheduler, () =>
        {
            for (int fd; (fd = sb.Accept(lfd, out _)) >= 0;) accepted.Add(fd);
        }, "accept-loop");
        listener.DataReady += _ => { if (!app.IsArmed) app.ArmAfter(Duration.Zero); };
        for (int fd; (fd = sb.Accept(lfd, out _)) >= 0;) accepted.Add(fd);
        var deadline = net.Sim.Now + Duration.FromSeconds(30);
        while (accepted.Count < Clients && net.Sim.Now < deadline) net.RunForMs(100);
        net.RunForMs(100);
        var buf = new byte[4096];
        long received = 0;
        foreach (int fd in accepted)
            for (int r; (r = sb.Recv(fd, buf, MsgFlags.DontWait)) > 0;) received += r;
        Assert.Equal(Clients, accepted.Count);
        Assert.Equal((long)Clients * Bytes, received);
        Assert.True(mib.ListenOverflows >= Clients - Backlog - 1);
        Assert.Equal(mib.ListenOverflows, mib.ListenDrops);
    }

    /// <summary>
    /// A SYN nobody answers: the SYN-ACK goes at 0 s and is resent at 1, 3, 7, 15 and 31 s (the timeout doubles
    /// from TCP_TIMEOUT_INIT, tcp_synack_retries = 5); the request expires at 63 s and nothing is left.
    /// </summary>
    [Fact]
    public void An_unanswered_SYN_ACK_is_resent_at_1_2_4_8_16_s_intervals_then_the_request_expires()
    {
        using var net = new TwoHosts(Gigabit(Duration.FromMicroseconds(50)));
        ListenFrames.RouteSpoofedSourcesViaA(net);
        net.WarmUp();
        var (_, _, listener) = Listen(net, 128);
        var rec = FrameRecorder.On(net.DevB);
        var start = net.Sim.Now;
        var (src, port) = ListenFrames.Source(1);
        ListenFrames.Inject(net, src, port, Port, 1000, TcpFlags.Syn);
        Assert.Equal(1, listener.SynQueueLength);
        Assert.Single(net.B.Tcp.Sockets); // a request socket, not a full one
        net.RunFor(Duration.FromSeconds(62.9));
        Assert.Equal(1, listener.SynQueueLength);
        var synAcks = rec.Sent.Select((b, i) => (b, rec.Frames.Where(f => f.Outgoing).ElementAt(i).Time))
            .Where(x => IsSynAck(x.b)).Select(x => x.Time).ToList();
        // Each timeout (1, 2, 4, 8, 16 s, then 32 s to the end) runs from when the timer last fired, and the wheel
        // fires it on its level's granule after the expiry (32 ms at 1 s, 256 ms from 2 s, 2.048 s from 16 s at
        // HZ=250): some 0, 1.02, 3.07, 7.2, 15.4, 31.7 s, expiring at 63.5 s.
        var fires = new List<Instant> { synAcks[0] };
        foreach (int sec in new[] { 1, 2, 4, 8, 16, 32 }) fires.Add(net.B.Jiffies.Expiry(fires[^1], Duration.FromSeconds(sec)));
        for (int i = 1; i < fires.Count; i++)
        {
            long nominal = (1L << (i - 1)) * 1_000_000_000;
            Assert.InRange((fires[i] - fires[i - 1]).Nanoseconds, nominal, nominal + net.B.Jiffies.Granularity(Duration.FromNanoseconds(nominal)).Nanoseconds);
        }
        Assert.Equal(fires.Take(6), synAcks);
        net.Sim.RunUntil(fires[^1] - Duration.FromMilliseconds(1));
        Assert.Equal(1, listener.SynQueueLength);
        net.Sim.RunUntil(fires[^1] + Duration.FromMilliseconds(1));
        Assert.Equal(0, listener.SynQueueLength);
        Assert.Equal(5, net.B.Tcp.Mib.SynRetrans);
        Assert.Equal(5, net.B.Tcp.Mib.RetransSegs);
        Assert.Single(net.B.Tcp.Sockets); // only the listener
    }

    private static bool IsSynAck(byte[] frame) =>
        EthernetFrame.TryCreate(frame, out var eth) && Ipv4Packet.TryCreate(eth.Payload, out var ip) && ip.Protocol == IpProtocol.Tcp
        && TcpSegment.TryCreate(ip.Payload, out var seg) && seg.Flags == (TcpFlags.Syn | TcpFlags.Ack);

    /// <summary>
    /// A final ACK that finds the accept queue full is dropped but the request stays (tcp_abort_on_overflow 0): its
    /// SYN-ACK is resent by the timer, the client answers it with its ACK again, and once accept() has made room that
    /// ACK completes the connection.
    /// </summary>
    [Fact]
    public void A_request_whose_ACK_met_a_full_accept_queue_completes_after_accept_through_the_SYN_ACK_timer()
    {
        using var net = new TwoHosts(Gigabit(Duration.FromMilliseconds(1)));
        net.WarmUp();
        var (sb, lfd, listener) = Listen(net, 2);
        var sa = new Syscalls(net.A);
        int Connect()
        {
            int c = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
            Assert.Equal(-(int)Errno.EINPROGRESS, sa.Connect(c, new SockAddrIn(TwoHosts.AddrB, Port)));
            return c;
        }
        Connect();
        Connect();
        net.RunForMs(20);
        Assert.Equal(2, listener.AcceptQueueLength);
        Connect(); // room for one more child (2 is not > 2)
        int late = Connect();
        net.RunForMs(20);
        var mib = net.B.Tcp.Mib;
        Assert.Equal(3, listener.AcceptQueueLength);
        Assert.Equal(1, listener.SynQueueLength);
        Assert.True(Assert.Single(listener.Requests).Acked);
        Assert.Equal(1, mib.ListenOverflows);
        Assert.Equal(1, mib.ListenDrops);
        Assert.Equal(0, mib.SyncookiesSent);

        Assert.True(sb.Accept(lfd, out _) >= 0);
        net.RunFor(Duration.FromSeconds(1.1)); // the SYN-ACK timer (1 s) resends, the client ACKs again
        Assert.Equal(0, listener.SynQueueLength);
        Assert.Equal(3, listener.AcceptQueueLength);
        Assert.Equal(1, mib.SynRetrans);
        Assert.Equal(0, sa.Connect(late, new SockAddrIn(TwoHosts.AddrB, Port)));
    }

    /// <summary>
    /// Connections that die leave nothing behind: a half-open one reset by its peer (EmbryonicRsts), a child reset
    /// in the accept queue (accept() still returns it, as Linux's does, and close() frees it), an accepted one the
    /// peer resets, and the listener's close frees what it still holds.
    /// </summary>
    [Fact]
    public void Children_that_are_reset_or_time_out_are_gone_from_every_table()
    {
        using var net = new TwoHosts(Gigabit(Duration.FromMicroseconds(50)));
        ListenFrames.RouteSpoofedSourcesViaA(net);
        net.WarmUp();
        var (sb, lfd, listener) = Listen(net, 8);

        // Half-open, then an in-window RST.
        var (src, port) = ListenFrames.Source(7);
        ListenFrames.Inject(net, src, port, Port, 5000, TcpFlags.Syn);
        Assert.Equal(1, listener.SynQueueLength);
        ListenFrames.Inject(net, src, port, Port, 5001, TcpFlags.Rst);
        Assert.Equal(0, listener.SynQueueLength);
        Assert.Equal(1, net.B.Tcp.Mib.EmbryonicRsts);
        Assert.Single(net.B.Tcp.Sockets);

        // A child reset while it waits in the accept queue.
        var sa = new Syscalls(net.A);
        int c1 = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
        sa.Connect(c1, new SockAddrIn(TwoHosts.AddrB, Port));
        net.RunForMs(5);
        Assert.Equal(1, listener.AcceptQueueLength);
        Assert.Equal(0, sa.SetLinger(c1, true, 0));
        Assert.Equal(0, sa.Close(c1)); // RST
        net.RunForMs(5);
        Assert.Equal(0, net.B.Tcp.EstablishedCount);
        int s1 = sb.Accept(lfd, out _);
        Assert.True(s1 >= 0);
        Assert.Equal(TcpState.Close, ((TcpSocketFile)sb.File(s1)!).Sk.State);
        Assert.Equal(0, sb.Close(s1));
        Assert.Single(net.B.Tcp.Sockets);

        // An accepted connection the peer resets, then closed by the application.
        int c2 = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
        sa.Connect(c2, new SockAddrIn(TwoHosts.AddrB, Port));
        net.RunForMs(5);
        int s2 = sb.Accept(lfd, out _);
        Assert.Equal(1, net.B.Tcp.EstablishedCount);
        Assert.Equal(0, sa.SetLinger(c2, true, 0));
        Assert.Equal(0, sa.Close(c2));
        net.RunForMs(5);
        Assert.Equal(0, net.B.Tcp.EstablishedCount);
        Assert.Equal(0, sb.Close(s2));
        Assert.Single(net.B.Tcp.Sockets);

        // The listener's close frees its queued child and its request sockets.
        int c3 = sa.Socket(Af.AF_INET, NonBlockingStream, 0);
        sa.Connect(c3, new SockAddrIn(TwoHosts.AddrB, Port));
        ListenFrames.Inject(net, src, port, Port, 9000, TcpFlags.Syn);
        net.RunForMs(5);
        Assert.Equal(1, listener.AcceptQueueLength);
        Assert.Equal(1, listener.SynQueueLength);
        Assert.Equal(0, sb.Close(lfd));
        Assert.Empty(net.B.Tcp.Sockets);
        Assert.Equal(0, net.B.Tcp.EstablishedCount);
        net.RunFor(Duration.FromSeconds(70)); // no request timer is left to fire
        Assert.Empty(net.B.Tcp.Sockets);
    }
}
