using Xmit.Link.Qdiscs;
using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Sockets;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Sockets;

/// <summary>
/// SO_TIMESTAMPING on a TCP sender between two simulated hosts: the three points of the transmit path a byte reports
/// (SCHED entering the device layer, SND as the driver takes it, ACK when the peer acknowledged it), the keys OPT_ID
/// gives them, what OPT_TSONLY and SOF_TIMESTAMPING_SOFTWARE change, and the option's checks as Linux 6.18 makes them
/// (scripts/linux-timestamping-setsockopt.sh). tcp/timestamping in the packetdrill corpus covers the tun-device cases.
/// </summary>
public class TcpTxTimestampTests
{
    private const TimestampingFlags Record = TimestampingFlags.TxSched | TimestampingFlags.TxSoftware | TimestampingFlags.TxAck
        | TimestampingFlags.Software | TimestampingFlags.OptId;

    private static List<ErrQueueMessage> Drain(Syscalls s, int fd, int room = 0)
    {
        var all = new List<ErrQueueMessage>();
        var buf = new byte[room];
        while (s.RecvErrorQueue(fd, buf, out var m) >= 0) all.Add(m);
        return all;
    }

    [Fact]
    public void A_byte_reports_entering_the_qdisc_leaving_it_for_the_driver_and_being_acknowledged()
    {
        // A 10 Mbit/s tbf with a two-packet burst on a 100 Mbit/s link: the later writes' segments wait in the qdisc.
        using var net = new TwoHosts(new LinkConfig { Propagation = Duration.FromMilliseconds(5) });
        net.DevA.SetRootQdisc(new TbfQdisc(net.Sim.Scheduler, new TbfConfig(10_000_000, 3028, 100_000)));
        net.A.Sysctls.TcpAutocorking = 0; // each write its own segment (autocorking would gather the later ones into one skb)
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, configureClient: (s, fd) =>
            Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY, 1)));
        Assert.Equal(0, tcp.A.SetSockOpt(tcp.Client, SockOpt.SOL_SOCKET, SockOpt.SO_TIMESTAMPING, (int)Record));
        var t0 = net.Sim.Now;
        for (int i = 0; i < 8; i++) Assert.Equal(1000, tcp.A.Write(tcp.Client, new byte[1000]));
        net.RunForMs(100);
        var msgs = Drain(tcp.A, tcp.Client);
        Assert.All(msgs, m => Assert.Equal((int)Errno.ENOMSG, m.Ee.Errno));
        Assert.All(msgs, m => Assert.Equal(ErrOrigin.Timestamping, m.Ee.Origin));
        Instant At(TstampType type, uint key) => msgs.Single(m => m.Ee.Info == (uint)type && m.Ee.Data == key).Timestamp!.Value;
        // Keys count from snd_una at the setsockopt and name an skb's last byte. TSQ held the later writes in TCP while
        // two packets waited in the tbf, so they joined one skb: each skb reports once, for its last write's byte.
        var keys = msgs.Select(m => m.Ee.Data).Distinct().Order().ToList();
        Assert.True(keys.Count >= 3, string.Join(",", keys));
        Assert.Equal(7999u, keys[^1]);
        Assert.All(keys, k => Assert.Equal(999u, k % 1000));
        Assert.Equal(3 * keys.Count, msgs.Count);
        Assert.Equal(t0, At(TstampType.Sched, 999));
        Assert.Equal(t0, At(TstampType.Snd, 999)); // the burst lets the first through at once
        foreach (var k in keys)
        {
            Assert.True(At(TstampType.Sched, k) <= At(TstampType.Snd, k));
            // Acknowledged at least a round trip (10 ms of propagation) after the driver took it.
            Assert.True(At(TstampType.Ack, k) - At(TstampType.Snd, k) >= Duration.FromMilliseconds(10));
        }
        // Some segment waited in the tbf, at 10 Mbit/s, for the ones before it to be paid for.
        Assert.True(keys.Max(k => At(TstampType.Snd, k) - At(TstampType.Sched, k)) >= Duration.FromMicroseconds(500));
        Assert.Equal(0, tcp.ClientSock.RmemAlloc); // each message was a copy charged to the receive buffer until read
        tcp.Close();
    }

    [Fact]
    public void A_message_carries_the_packet_unless_OPT_TSONLY_and_a_time_only_with_SOFTWARE_reporting()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        Assert.Equal(0, tcp.A.SetSockOpt(tcp.Client, SockOpt.SOL_SOCKET, SockOpt.SO_TIMESTAMPING, (int)TimestampingFlags.TxSched));
        Assert.Equal(500, tcp.A.Write(tcp.Client, new byte[500]));
        Assert.True(tcp.ClientSock.RmemAlloc > 500, "the copy of the packet is charged to the receive buffer");
        var copy = Drain(tcp.A, tcp.Client, room: 16).Single();
        Assert.Equal(MsgFlags.ErrQueue | MsgFlags.Trunc, copy.Flags); // headers and 500 bytes do not fit in 16
        Assert.Null(copy.Timestamp); // no SOF_TIMESTAMPING_SOFTWARE: generated but not reported
        Assert.Equal(0u, copy.Ee.Data); // no OPT_ID: no key
        net.RunForMs(10); // acknowledged, so Nagle lets the next small write go at once
        Assert.Equal(0, tcp.A.SetSockOpt(tcp.Client, SockOpt.SOL_SOCKET, SockOpt.SO_TIMESTAMPING,
            (int)(TimestampingFlags.TxSched | TimestampingFlags.OptTsonly | TimestampingFlags.Software)));
        Assert.Equal(500, tcp.A.Write(tcp.Client, new byte[500]));
        var only = Drain(tcp.A, tcp.Client, room: 16).Single();
        Assert.Equal(MsgFlags.ErrQueue, only.Flags);
        Assert.Equal(net.Sim.Now, only.Timestamp);
        Assert.Equal(0, tcp.ClientSock.RmemAlloc);
        tcp.Close();
    }

    [Fact]
    public void OPT_ID_TCP_counts_from_write_seq_and_a_partly_sent_write_keys_its_last_queued_byte()
    {
        using var net = new TwoHosts(new LinkConfig { Propagation = Duration.FromMilliseconds(5) });
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        Assert.Equal(300, tcp.A.Write(tcp.Client, new byte[300])); // unacknowledged when the option is set
        Assert.Equal(0, tcp.A.SetSockOpt(tcp.Client, SockOpt.SOL_SOCKET, SockOpt.SO_TIMESTAMPING,
            (int)(Record | TimestampingFlags.OptIdTcp)));
        Assert.Equal(200, tcp.A.Write(tcp.Client, new byte[200]));
        net.RunForMs(50);
        var keys = Drain(tcp.A, tcp.Client).Select(m => m.Ee.Data).Distinct().ToList();
        Assert.Equal([199u], keys); // from write_seq: the 300 bytes before do not count (from snd_una it would be 499)
        tcp.Close();
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Under_faults_every_write_is_acknowledged_once_in_order_and_nothing_stays_charged(ulong seed)
    {
        using var net = new TwoHosts(FaultyLink.Mixed(), seed: seed, trackAllocations: false);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, configureClient: (s, fd) =>
            Assert.Equal(0, s.SetSockOpt(fd, SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY, 1)));
        Assert.Equal(0, tcp.A.SetSockOpt(tcp.Client, SockOpt.SOL_SOCKET, SockOpt.SO_TIMESTAMPING, (int)Record));
        var data = new byte[200_000];
        new Random((int)seed).NextBytes(data);
        var got = new List<byte>();
        var buf = new byte[1 << 16];
        var acks = new List<uint>();
        int sent = 0;
        var deadline = net.Sim.Now + Duration.FromSeconds(60);
        while ((got.Count < data.Length || tcp.ClientSock.UnackedBytes > 0) && net.Sim.Now < deadline)
        {
            if (sent < data.Length && tcp.A.Write(tcp.Client, data.AsSpan(sent, Math.Min(3000, data.Length - sent))) is > 0 and var n) sent += n;
            int r = tcp.B.Read(tcp.Server, buf);
            if (r > 0) got.AddRange(buf.AsSpan(0, r).ToArray());
            acks.AddRange(Drain(tcp.A, tcp.Client).Where(m => m.Ee.Info == (uint)TstampType.Ack).Select(m => m.Ee.Data));
            if (r <= 0) net.RunFor(Duration.FromMicroseconds(200));
        }
        acks.AddRange(Drain(tcp.A, tcp.Client).Where(m => m.Ee.Info == (uint)TstampType.Ack).Select(m => m.Ee.Data));
        Assert.True(data.AsSpan().SequenceEqual(got.ToArray()), "the stream arrived intact");
        Assert.True(net.A.Tcp.Mib.RetransSegs > 0, "the faults cost no retransmission");
        // Every skb's key is reported acknowledged exactly once, in sequence order, the last one the stream's last byte.
        Assert.NotEmpty(acks);
        Assert.Equal(acks.Count, acks.Distinct().Count());
        Assert.Equal(acks.Order(), acks);
        Assert.Equal((uint)data.Length - 1, acks[^1]);
        Assert.Equal(0, tcp.ClientSock.RmemAlloc);
        tcp.Close();
    }

    /// <summary>Linux 6.18 measured: which SO_TIMESTAMPING values are refused, and with what.</summary>
    [Theory]
    [MemberData(nameof(LinuxSetsockoptCases))]
    public void The_option_is_checked_as_on_Linux(string socketState, uint flags, int linuxErrno)
    {
        using var net = new TwoHosts();
        net.WarmUp();
        int fd;
        Syscalls s;
        if (socketState == "connected")
        {
            var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
            (s, fd) = (tcp.A, tcp.Client);
        }
        else
        {
            s = new Syscalls(net.A);
            fd = s.Socket(Af.AF_INET, socketState == "udp" ? SockType.SOCK_DGRAM : SockType.SOCK_STREAM, 0);
        }
        Assert.Equal(-linuxErrno, s.SetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_TIMESTAMPING, (int)flags));
        if (linuxErrno == 0)
        {
            Assert.Equal(0, s.GetSockOpt(fd, SockOpt.SOL_SOCKET, SockOpt.SO_TIMESTAMPING, out int back));
            Assert.Equal(flags, (uint)back);
        }
        s.CloseAll();
        net.RunForMs(100);
    }

    public static TheoryData<string, uint, int> LinuxSetsockoptCases()
    {
        var data = new TheoryData<string, uint, int>();
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "timestamping-setsockopt.json")));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            data.Add(c.GetProperty("socket").GetString()!, c.GetProperty("flags").GetUInt32(), c.GetProperty("errno").GetInt32());
        return data;
    }
}
