using Xmit.Buffers;
using Xmit.Hosting;
using Xmit.Link;
using Xmit.Network.Ipv4;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// Classic ECN (RFC 3168) as Linux 6.18 does it with net.ipv4.tcp_ecn 0, 1 and 2: who asks and who agrees in the
/// handshake, ECT(0) on new data only, the receiver's ECE echo of a CE mark until the sender's CWR, and the sender's
/// one cwnd reduction per echo — with the wire's CE marking fault, over loss and reordering.
/// </summary>
public class TcpEcnTests
{
    /// <summary>One TCP frame as a device saw it.</summary>
    private readonly record struct Frame(bool Outgoing, byte Flags, int Ecn, uint Seq, int Payload);

    private sealed class Frames : IPacketTap
    {
        public readonly List<Frame> Seen = [];

        public void OnPacket(NetDevice device, SkBuff skb, bool outgoing)
        {
            var bytes = new byte[skb.Len];
            skb.CopyBits(0, bytes);
            if (!EthernetFrame.TryCreate(bytes, out var eth) || eth.EtherType != EtherType.Ipv4 || !Ipv4Packet.TryCreate(eth.Payload, out var ip)
                || ip.Protocol != IpProtocol.Tcp || !TcpSegment.TryCreate(ip.Payload, out var tcp)) return;
            Seen.Add(new Frame(outgoing, tcp.Flags, ip.Tos & 3, tcp.Seq.Value, tcp.Payload.Length));
        }

        public IEnumerable<Frame> Sent => Seen.Where(f => f.Outgoing);
    }

    private const byte SynEcn = TcpFlags.Syn | TcpFlags.Ece | TcpFlags.Cwr;

    private static byte TcpiOptions(TwoHosts net, Host host, TcpSock sk)
    {
        var info = new byte[TcpProtocol.TcpInfoLength];
        host.Tcp.GetInfo(sk, info);
        return info[5];
    }

    /// <summary>
    /// tcp_ecn 1 asks (SYN with ECE|CWR), 1 and 2 agree (SYN-ACK with ECE alone), 0 does neither; ECN is on at both
    /// ends only when one asked and the other agreed, and tcp_info says so (TCPI_OPT_ECN, 8).
    /// </summary>
    [Theory]
    [InlineData(0, 0, false, false)]
    [InlineData(0, 1, false, false)]
    [InlineData(0, 2, false, false)]
    [InlineData(1, 0, true, false)]
    [InlineData(1, 1, true, true)]
    [InlineData(1, 2, true, true)]
    [InlineData(2, 1, false, false)]
    [InlineData(2, 2, false, false)]
    public void The_handshake_negotiates_ecn_as_tcp_ecn_says(int clientEcn, int serverEcn, bool asks, bool agreed)
    {
        using var net = new TwoHosts();
        net.A.Sysctls.TcpEcn = clientEcn;
        net.B.Sysctls.TcpEcn = serverEcn;
        var a = new Frames();
        var b = new Frames();
        net.DevA.AddTap(a);
        net.DevB.AddTap(b);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5600);
        var syn = Assert.Single(a.Sent, f => (f.Flags & TcpFlags.Syn) != 0);
        Assert.Equal(asks ? SynEcn : TcpFlags.Syn, syn.Flags);
        var synAck = Assert.Single(b.Sent, f => (f.Flags & TcpFlags.Syn) != 0);
        Assert.Equal(agreed ? TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Ece : TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        // Neither SYN is ECN-capable itself (RFC 3168 6.1.1).
        Assert.Equal(0, syn.Ecn);
        Assert.Equal(0, synAck.Ecn);
        var expected = agreed ? TcpEcnFlags.Ok : TcpEcnFlags.None;
        Assert.Equal(expected, tcp.ClientSock.Ecn);
        Assert.Equal(expected, tcp.ServerSock.Ecn);
        Assert.Equal(agreed, (TcpiOptions(net, net.A, tcp.ClientSock) & 8) != 0);
        Assert.Equal(agreed, (TcpiOptions(net, net.B, tcp.ServerSock) & 8) != 0);
        // Data each way: ECT(0) exactly when ECN was agreed; the peer saw it (TCPI_OPT_ECN_SEEN, 16).
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 50_000, seed: 1));
        Assert.True(TcpConnection.Transfer(net, tcp.B, tcp.Server, tcp.A, tcp.Client, 50_000, seed: 2));
        Assert.All(a.Sent.Concat(b.Sent).Where(f => f.Payload > 0), f => Assert.Equal(agreed ? TcpProtocol.EcnEct0 : 0, f.Ecn));
        Assert.Equal(agreed, (TcpiOptions(net, net.B, tcp.ServerSock) & 16) != 0);
        Assert.Equal(agreed, (TcpiOptions(net, net.A, tcp.ClientSock) & 16) != 0);
        tcp.Close();
    }

    /// <summary>
    /// A listener refuses an ECN-setup SYN that itself arrived ECT(0) (a middlebox rewrote the TOS byte: RFC 3168
    /// 6.1.1), but agrees to the same SYN Not-ECT; and tcp_ecn 3 to 5 (AccECN) is refused, not silently taken.
    /// </summary>
    [Fact]
    public void An_ect_marked_ecn_setup_syn_is_not_agreed_to_and_accecn_modes_are_refused()
    {
        using var net = new TwoHosts();
        net.B.Sysctls.TcpEcn = 2;
        var b = new Frames();
        net.DevB.AddTap(b);
        net.WarmUp();
        var sb = new Xmit.Sockets.Api.Syscalls(net.B);
        int listener = sb.Socket(Xmit.Sockets.Api.Af.AF_INET, Xmit.Sockets.Api.SockType.SOCK_STREAM, 0);
        Assert.Equal(0, sb.Bind(listener, new Xmit.Sockets.Api.SockAddrIn(TwoHosts.AddrB, 5601)));
        Assert.Equal(0, sb.Listen(listener, 8));
        InjectSyn(net, 40000, tos: TcpProtocol.EcnEct0);
        InjectSyn(net, 40001, tos: 0);
        net.RunForMs(5);
        var synAcks = b.Sent.Where(f => (f.Flags & TcpFlags.Syn) != 0).ToList();
        Assert.Equal(2, synAcks.Count);
        Assert.Equal(0, synAcks[0].Flags & TcpFlags.Ece);
        Assert.Equal(TcpFlags.Ece, synAcks[1].Flags & (TcpFlags.Ece | TcpFlags.Cwr));
        sb.Close(listener);
        net.RunForMs(10);

        Assert.True(net.B.Sysctls.TrySet("net.ipv4.tcp_ecn", "1", out _));
        Assert.Equal(1, net.B.Sysctls.TcpEcn);
        Assert.False(net.B.Sysctls.TrySet("net.ipv4.tcp_ecn", "3", out var error));
        Assert.Contains("AccECN", error, StringComparison.Ordinal);
        Assert.False(net.B.Sysctls.TrySet("net.ipv4.tcp_ecn", "6", out _));
        Assert.Equal(1, net.B.Sysctls.TcpEcn);
        Assert.Equal(2, new Xmit.Configuration.Sysctls().TcpEcn); // Linux's default: agree when asked, do not ask
    }

    /// <summary>
    /// A SYN cookie carries the ECN agreement in the SYN-ACK's TSval (cookie_init_timestamp), so the connection the
    /// cookie ACK completes has ECN on both ends; without timestamps a cookie cannot carry it, and the SYN-ACK does
    /// not agree.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_syn_cookie_carries_ecn_only_in_the_timestamp(bool timestamps)
    {
        using var net = new TwoHosts();
        net.A.Sysctls.TcpEcn = 1;
        if (!timestamps) net.A.Sysctls.TcpTimestamps = 0;
        net.B.Sysctls.TcpSyncookies = 2; // a cookie for every SYN
        var b = new Frames();
        net.DevB.AddTap(b);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5606);
        Assert.Equal(1, net.B.Tcp.Mib.SyncookiesRecv);
        var synAck = Assert.Single(b.Sent, f => (f.Flags & TcpFlags.Syn) != 0);
        Assert.Equal(timestamps ? TcpFlags.Ece : 0, synAck.Flags & TcpFlags.Ece);
        var expected = timestamps ? TcpEcnFlags.Ok : TcpEcnFlags.None;
        Assert.Equal(expected, tcp.ClientSock.Ecn);
        Assert.Equal(expected, tcp.ServerSock.Ecn);
        tcp.Close();
    }

    [Fact]
    public void The_cookie_timestamp_bit_decodes_only_while_tcp_ecn_is_on()
    {
        uint ts = SynCookies.InitTimestamp(123_456, wscaleOk: true, sndWscale: 7, sackOk: true, ecnOk: true);
        Assert.True(SynCookies.EcnOk(true, ts, 2));
        Assert.False(SynCookies.EcnOk(true, ts, 0));
        Assert.False(SynCookies.EcnOk(false, ts, 2));
        Assert.False(SynCookies.EcnOk(true, SynCookies.InitTimestamp(123_456, true, 7, true, ecnOk: false), 2));
    }

    /// <summary>
    /// tcp_ecn_clear_syn(): the resent SYN goes without ECE|CWR (a middlebox may drop ECN-setup SYNs); the listener
    /// that saw the first one still agrees in its SYN-ACK, and the client takes it — ECN is on, as on Linux.
    /// </summary>
    [Fact]
    public void A_resent_syn_drops_the_ecn_setup_flags()
    {
        using var net = new TwoHosts();
        net.A.Sysctls.TcpEcn = 1;
        var a = new Frames();
        net.DevA.AddTap(a);
        net.WarmUp();
        var deliver = net.DevA.Receiver!;
        int dropped = 0;
        net.DevA.Receiver = (dev, skb) =>
        {
            if (dropped < 1 && EthernetFrame.TryCreate(skb.Data, out var eth) && Ipv4Packet.TryCreate(eth.Payload, out var ip) && ip.Protocol == IpProtocol.Tcp
                && TcpSegment.TryCreate(ip.Payload, out var seg) && (seg.Flags & TcpFlags.Syn) != 0)
            {
                dropped++;
                skb.Free(SkbDropReason.NotSpecified);
                return;
            }
            deliver(dev, skb);
        };
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5607);
        var syns = a.Sent.Where(f => (f.Flags & TcpFlags.Syn) != 0).ToList();
        Assert.Equal(2, syns.Count);
        Assert.Equal(SynEcn, syns[0].Flags);
        Assert.Equal(TcpFlags.Syn, syns[1].Flags);
        Assert.Equal(TcpEcnFlags.Ok, tcp.ClientSock.Ecn);
        Assert.Equal(TcpEcnFlags.Ok, tcp.ServerSock.Ecn);
        tcp.Close();
    }

    /// <summary>An ECN-setup SYN (ECE|CWR) from A's address to B's listener, with the IP TOS byte given.</summary>
    private static void InjectSyn(TwoHosts net, ushort srcPort, byte tos)
    {
        int tcpLen = TcpSegment.MinHeaderLength;
        var skb = net.Sim.Pool.AllocNetdev(14 + 20 + tcpLen);
        var f = skb.Put(14 + 20 + tcpLen);
        f.Clear();
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(net.DevB.Mac, net.DevA.Mac, EtherType.Ipv4).Emit(eth);
        new TcpHeaderRepr { SourcePort = srcPort, DestinationPort = 5601, Seq = new TcpSeq(1000), Flags = SynEcn, Window = 64240 }
            .Emit(f[34..], 0, TwoHosts.AddrA, TwoHosts.AddrB);
        new Ipv4Repr(TwoHosts.AddrA, TwoHosts.AddrB, IpProtocol.Tcp, tcpLen, Tos: tos).Emit(f[14..]);
        net.DevB.Receive(skb);
    }

    /// <summary>
    /// tcp_ecn_send(): only new data goes ECT(0); a retransmission (here after random loss), pure ACKs and the FIN
    /// go Not-ECT (INET_ECN_dontxmit).
    /// </summary>
    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    public void Only_new_data_is_ect0_retransmissions_and_acks_are_not(ulong seed)
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMicroseconds(200), LossRate = 0.02 },
            seed: seed, trackAllocations: false);
        net.A.Sysctls.TcpEcn = 1;
        var a = new Frames();
        var b = new Frames();
        net.DevA.AddTap(a);
        net.DevB.AddTap(b);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5602);
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 500_000, seed: (int)seed));
        uint iss = a.Sent.First(f => (f.Flags & TcpFlags.Syn) != 0).Seq;
        long highest = 0; // the sequence space sent so far, relative to the ISN
        int fresh = 0, resent = 0;
        foreach (var f in a.Sent.Where(f => f.Payload > 0))
        {
            long start = f.Seq - iss, end = start + f.Payload;
            if (start >= highest)
            {
                Assert.Equal(TcpProtocol.EcnEct0, f.Ecn);
                fresh++;
            }
            else
            {
                Assert.Equal(0, f.Ecn);
                resent++;
            }
            highest = Math.Max(highest, end);
        }
        Assert.True(fresh > 100);
        Assert.True(resent > 0, "the loss caused no retransmission");
        Assert.All(b.Sent.Where(f => f.Payload == 0), f => Assert.Equal(0, f.Ecn));
        tcp.Close();
        Assert.All(a.Sent.Where(f => f.Payload == 0), f => Assert.Equal(0, f.Ecn)); // the handshake's ACK, the FIN, the last ACK
    }

    /// <summary>
    /// tcp_data_ecn_check() and tcp_ecn_accept_cwr() at the receiver: a CE-marked segment is ACKed at once with ECE
    /// (quick ACK: no delayed ACK), every ACK after it echoes ECE — an ECT(0) segment's too — until a segment with
    /// CWR arrives, whose ACK goes at once without ECE; TCPI_OPT_ECN_SEEN is set.
    /// </summary>
    [Fact]
    public void A_ce_mark_is_echoed_with_ece_until_cwr_arrives()
    {
        using var net = new TwoHosts();
        net.A.Sysctls.TcpEcn = 1;
        var a = new Frames();
        net.DevA.AddTap(a);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5605);
        var sk = tcp.ClientSock;
        Assert.Equal(TcpEcnFlags.Ok, sk.Ecn);
        net.RunForMs(50);
        var buf = new byte[4096];
        Frame SegmentTo(byte tos, byte flags)
        {
            int before = a.Seen.Count;
            InjectData(net, sk, tos, flags, 100);
            net.RunFor(Duration.FromMicroseconds(100)); // well inside the delayed-ACK timer
            while (tcp.A.Read(tcp.Client, buf) > 0) { }
            return Assert.Single(a.Seen.Skip(before), f => f.Outgoing);
        }
        // Quick ACKs are used up first, so the ACK-at-once below is the CE mark's doing.
        for (int i = 0; i < 20; i++) InjectData(net, sk, TcpProtocol.EcnEct0, TcpFlags.Ack, 100);
        net.RunForMs(50);
        while (tcp.A.Read(tcp.Client, buf) > 0) { }
        Assert.Equal(0, sk.Delack.QuickAcks);
        // The control: an unmarked segment now waits for the delayed ACK.
        int seen = a.Seen.Count;
        InjectData(net, sk, TcpProtocol.EcnEct0, TcpFlags.Ack | TcpFlags.Psh, 100);
        net.RunFor(Duration.FromMicroseconds(100));
        Assert.DoesNotContain(a.Seen.Skip(seen), f => f.Outgoing);

        var ack = SegmentTo(TcpProtocol.EcnCe, TcpFlags.Ack | TcpFlags.Psh);
        Assert.Equal(TcpFlags.Ece, ack.Flags & TcpFlags.Ece);
        Assert.Equal(0, ack.Ecn); // a pure ACK is Not-ECT
        Assert.True((sk.Ecn & TcpEcnFlags.DemandCwr) != 0);
        ack = SegmentTo(TcpProtocol.EcnEct0, TcpFlags.Ack | TcpFlags.Psh); // the second quick ACK tcp_enter_quickack_mode(sk, 2) gave
        Assert.Equal(TcpFlags.Ece, ack.Flags & TcpFlags.Ece);
        ack = SegmentTo(TcpProtocol.EcnEct0, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Cwr);
        Assert.Equal(0, ack.Flags & TcpFlags.Ece);
        Assert.Equal(TcpEcnFlags.None, sk.Ecn & TcpEcnFlags.DemandCwr);
        var info = new byte[TcpProtocol.TcpInfoLength];
        net.A.Tcp.GetInfo(sk, info);
        Assert.Equal(8 | 16, info[5] & (8 | 16));
        tcp.Close();
    }

    /// <summary>A data segment to A's end <paramref name="sk"/> at rcv_nxt, acknowledging snd_una, with the IP TOS byte given.</summary>
    private static void InjectData(TwoHosts net, TcpSock sk, byte tos, byte flags, int payload) =>
        InjectedTcp.ToA(net, sk, sk.RcvNxt, sk.SndUna, flags, payload, tos: tos);

    /// <summary>
    /// CE marks alone: the receiver echoes ECE until the sender's CWR, the sender enters CWR (ssthresh from CUBIC,
    /// cwnd brought down by PRR) once per echo and sets CWR on its next new segment — and nothing is retransmitted,
    /// as a mark loses nothing.
    /// </summary>
    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Ce_marks_make_the_sender_reduce_cwnd_without_retransmitting(ulong seed)
    {
        using var net = new TwoHosts(new LinkConfig
        {
            RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMicroseconds(500), Faults = new LinkFaults { CeMarkRate = 0.01 },
        }, seed: seed, trackAllocations: false);
        net.A.Sysctls.TcpEcn = 1;
        var a = new Frames();
        var b = new Frames();
        net.DevA.AddTap(a);
        net.DevB.AddTap(b);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5603);
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 4 << 20, seed: (int)seed), "A to B");
        Assert.True(net.Connection.Link.A.Faults.CeMarked > 0, "nothing was marked");
        Assert.Equal(0, net.Connection.Link.B.Faults.CeMarked); // B sends pure ACKs, Not-ECT: never marked

        var ece = b.Sent.Count(f => (f.Flags & TcpFlags.Ece) != 0);
        var cwr = a.Sent.Count(f => (f.Flags & TcpFlags.Cwr) != 0 && (f.Flags & TcpFlags.Syn) == 0);
        Assert.True(ece > 0, "B never echoed the CE marks");
        Assert.True(cwr > 0, "A never said CWR");
        Assert.True(net.A.Tcp.CwrEntered > 0);
        Assert.InRange(tcp.ClientSock.DeliveredCe, 1, tcp.ClientSock.Delivered - 1); // what ECE ACKs acknowledged (tcpi_delivered_ce)
        // One reduction per echo episode: every CWR answers one, and B stops echoing once CWR reached it.
        Assert.True(cwr <= net.A.Tcp.CwrEntered, $"{cwr} CWR segments for {net.A.Tcp.CwrEntered} reductions");
        Assert.All(a.Sent.Where(f => (f.Flags & TcpFlags.Cwr) != 0 && (f.Flags & TcpFlags.Syn) == 0), f => Assert.True(f.Payload > 0));
        // The echo ends at CWR: after B's first ECE, some of its ACKs go without it again.
        var acks = b.Sent.Where(f => (f.Flags & TcpFlags.Syn) == 0).ToList();
        int firstEce = acks.FindIndex(f => (f.Flags & TcpFlags.Ece) != 0);
        Assert.Contains(acks.Skip(firstEce), f => (f.Flags & TcpFlags.Ece) == 0);
        Assert.True(tcp.ClientSock.SndSsthresh < TcpProtocol.InfiniteSsthresh, "ssthresh never came down");
        Assert.Equal(0, net.A.Tcp.Mib.RetransSegs);
        Assert.Equal(0u, tcp.ClientSock.TotalRetrans);
        Assert.Equal(0, tcp.ClientSock.RmemAlloc);
        Assert.Equal(0, tcp.ServerSock.RmemAlloc);
        tcp.Close();
    }

    /// <summary>
    /// ECN on both ends with CE marks, loss and reordering, both ways: every transfer arrives byte-exact, both sockets
    /// end with nothing charged (TwoHosts' Dispose checks skbs and wmem), and the senders entered CWR.
    /// </summary>
    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Transfers_with_ce_marks_loss_and_reordering_arrive_byte_exact(ulong seed)
    {
        using var net = new TwoHosts(new LinkConfig
        {
            RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMicroseconds(500), LossRate = 0.005,
            Faults = new LinkFaults { CeMarkRate = 0.02, ReorderRate = 0.02 },
        }, seed: seed, trackAllocations: false);
        net.A.Sysctls.TcpEcn = 1;
        net.B.Sysctls.TcpEcn = 1;
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5604);
        Assert.Equal(TcpEcnFlags.Ok, tcp.ClientSock.Ecn & TcpEcnFlags.Ok);
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 1 << 20, seed: (int)seed), "A to B");
        Assert.True(TcpConnection.Transfer(net, tcp.B, tcp.Server, tcp.A, tcp.Client, 1 << 20, seed: (int)seed + 10), "B to A");
        Assert.True(net.Connection.Link.A.Faults.CeMarked > 0 && net.Connection.Link.B.Faults.CeMarked > 0);
        Assert.True(net.A.Tcp.CwrEntered > 0 && net.B.Tcp.CwrEntered > 0, "a sender never reduced cwnd for the marks");
        Assert.True(net.A.Tcp.Mib.RetransSegs + net.B.Tcp.Mib.RetransSegs > 0, "the loss cost no retransmission");
        Assert.Equal(0, tcp.ClientSock.RmemAlloc);
        Assert.Equal(0, tcp.ServerSock.RmemAlloc);
        tcp.Close();
    }
}
