using System.Buffers.Binary;
using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Transport.Tcp;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// ICMP errors that quote a TCP segment (tcp_v4_err): fragmentation needed lowers the MSS and resends what no
/// longer fits at once; a quoted sequence the connection never sent is counted and ignored; a fatal error about
/// a request socket's SYN-ACK drops the request; a hard error ends a connect.
/// </summary>
public class TcpIcmpErrorTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>An ICMP error from B's address to A quoting A → B TCP with <paramref name="seq"/>.</summary>
    private static void IcmpToA(TwoHosts net, byte type, byte code, ushort mtu, ushort sport, ushort dport, TcpSeq seq)
    {
        var quoted = new byte[28];
        new Ipv4Repr(TwoHosts.AddrA, TwoHosts.AddrB, IpProtocol.Tcp, 1000).Emit(quoted);
        BinaryPrimitives.WriteUInt16BigEndian(quoted.AsSpan(20), sport);
        BinaryPrimitives.WriteUInt16BigEndian(quoted.AsSpan(22), dport);
        BinaryPrimitives.WriteUInt32BigEndian(quoted.AsSpan(24), seq.Value);
        int icmpLen = IcmpPacket.HeaderLength + quoted.Length;
        int total = 14 + 20 + icmpLen;
        var skb = net.Sim.Pool.AllocNetdev(total);
        var f = skb.Put(total);
        f.Clear();
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(net.DevA.Mac, net.DevB.Mac, EtherType.Ipv4).Emit(eth);
        quoted.CopyTo(f[(34 + IcmpPacket.HeaderLength)..]);
        new IcmpRepr(type, code, mtu, quoted.Length).Emit(f[34..]);
        new Ipv4Repr(TwoHosts.AddrB, TwoHosts.AddrA, IpProtocol.Icmp, icmpLen).Emit(f[14..]);
        net.DevA.Receive(skb);
        net.RunForMs(1);
    }

    [Fact]
    public void Fragmentation_needed_shrinks_the_mss_and_resends_what_no_longer_fits_at_once()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        net.RunForMs(100);
        var sk = tcp.ClientSock;
        Assert.Equal(1448, sk.MssCache);
        // Out of window: counted, nothing changes.
        IcmpToA(net, 3, 4, 1000, sk.LocalPort, sk.RemotePort, sk.SndNxt + 5000u);
        Assert.Equal(1, net.A.Tcp.Mib.OutOfWindowIcmps);
        Assert.Equal(1448, sk.MssCache);

        net.DevB.SetRootQdisc(Xmit.Link.Qdiscs.FifoQdisc.Packets(0)); // no ACKs: the data stays in flight
        Assert.Equal(4000, tcp.A.Write(tcp.Client, new byte[4000]));
        net.RunForMs(1);
        long retrans = net.A.Tcp.Mib.RetransSegs;
        IcmpToA(net, 3, 4, 1000, sk.LocalPort, sk.RemotePort, sk.SndUna);
        Assert.Equal(1000 - 20 - 20 - 12, sk.MssCache); // the path MTU less IP, TCP and the timestamp option
        Assert.Equal(TcpCaState.Loss, sk.CaState);
        Assert.True(net.A.Tcp.Mib.RetransSegs > retrans, "nothing was resent");
        Assert.Equal(0, net.A.Tcp.Mib.Timeouts); // at once, not by the RTO
    }

    /// <summary>At each retransmission: sk_wmem_alloc with that skb charged, against tcp_small_queue_check's doubled limit.</summary>
    private sealed class RetransmitWatch(TcpProtocol tcp, Func<Instant> now) : ITcpTracepoints
    {
        public readonly List<Instant> At = [];
        public int PastLimit;

        public void TcpRetransmitSkb(TcpSock sk, Xmit.Buffers.SkBuff skb)
        {
            At.Add(now());
            int rtxSkbs = 0;
            for (var s = sk.WriteQueue.Peek(); s is not null && s != sk.SendHead; s = Xmit.Buffers.SkBuffQueue.NextOf(s)) rtxSkbs++;
            // charged before this one went, wmem_alloc was over twice the limit with more than one skb unacknowledged
            if (sk.WmemAlloc - skb.Truesize > (long)(tcp.SmallQueueLimit(sk, skb.Truesize) << 1) && rtxSkbs > 1) PastLimit++;
        }

        public void InetSockSetState(TcpSock sk, TcpState oldState, TcpState newState) { }
        public void TcpProbe(TcpSock sk, Xmit.Buffers.SkBuff skb, int dataLength) { }
        public void SockExceedBufLimit(TcpSock sk, SkMemKind kind) { }
    }

    /// <summary>
    /// A lower path MTU marks a whole window lost at once (tcp_simple_retransmit) and leaves cwnd as it was, so the
    /// retransmit queue could put all of it below TCP in one go. tcp_xmit_retransmit_queue() checks TCP Small Queues
    /// before each skb, with the limit doubled for retransmissions: the rest goes as TX completions free the memory.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_xmit_retransmit_queue(), tcp_small_queue_check()</remarks>
    [Fact]
    public void Resending_a_window_after_fragmentation_needed_keeps_to_tcp_small_queues()
    {
        // 1 Gbit/s and 5 ms each way: a window of several hundred segments, a dozen TSO skbs
        using var net = new TwoHosts(new Xmit.Simulation.LinkConfig { RateBitsPerSecond = 1_000_000_000, Propagation = Duration.FromMilliseconds(5) }, trackAllocations: false);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        var sk = tcp.ClientSock;
        var data = new byte[65536];
        var buf = new byte[1 << 20];
        for (var end = net.Sim.Now + Duration.FromMilliseconds(500); net.Sim.Now < end; net.RunFor(Duration.FromMicroseconds(20)))
        {
            while (tcp.A.Write(tcp.Client, data) > 0) { }
            while (tcp.B.Read(tcp.Server, buf) > 0) { }
        }
        net.DevB.SetRootQdisc(Xmit.Link.Qdiscs.FifoQdisc.Packets(0)); // no more ACKs: a window stays in flight
        net.RunForMs(50);
        Assert.True(sk.PacketsOut > 300 && sk.WmemAlloc == 0, $"packets out {sk.PacketsOut}, wmem_alloc {sk.WmemAlloc}");
        long retrans = net.A.Tcp.Mib.RetransSegs;
        var watch = new RetransmitWatch(net.A.Tcp, () => net.Sim.Now);
        net.A.Tcp.Trace = watch;
        IcmpToA(net, 3, 4, 1000, sk.LocalPort, sk.RemotePort, sk.SndUna);
        net.RunForMs(20);
        string what = $"{net.A.Tcp.Mib.RetransSegs - retrans} segments resent in {watch.At.Count} skbs at {watch.At.Distinct().Count()} instants, {watch.PastLimit} past the limit";
        output.WriteLine(what);
        Assert.True(net.A.Tcp.Mib.RetransSegs - retrans > 300, what);
        Assert.True(watch.PastLimit == 0, what);
        // TSQ stopped the queue and the TX completions went on with it: the skbs left at several instants.
        Assert.True(watch.At.Distinct().Count() > 3, what);
        net.A.Tcp.Trace = null;
    }

    [Fact]
    public void Host_unreachable_about_a_SYN_ACK_drops_the_request_and_ends_a_connect()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        // A listens; B's SYN makes a request whose SYN-ACK never leaves A; an ICMP error about it drops it.
        var sa = new Syscalls(net.A);
        int l = sa.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sa.Bind(l, new SockAddrIn(TwoHosts.AddrA, 7000)));
        Assert.Equal(0, sa.Listen(l, 8));
        var listener = ((TcpSocketFile)sa.File(l)!).Sk;
        net.DevA.SetRootQdisc(Xmit.Link.Qdiscs.FifoQdisc.Packets(0)); // A's SYN-ACKs never leave
        var sb = new Syscalls(net.B);
        int c = sb.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(-(int)Errno.EINPROGRESS, sb.Connect(c, new SockAddrIn(TwoHosts.AddrA, 7000)));
        net.RunForMs(5);
        var clientPort = ((TcpSocketFile)sb.File(c)!).Sk.LocalPort;
        var req = Assert.Single(listener.SynQueue).Value;
        IcmpToA(net, 3, 1, 0, 7000, clientPort, req.SntIsn + 1u); // not the SYN-ACK's sequence: ignored
        Assert.Single(listener.SynQueue);
        Assert.Equal(1, net.A.Tcp.Mib.OutOfWindowIcmps);
        IcmpToA(net, 3, 1, 0, 7000, clientPort, req.SntIsn);
        Assert.Empty(listener.SynQueue);
        Assert.Equal(1, net.A.Tcp.Mib.ListenDrops);

        // A connect from A that meets host unreachable fails with EHOSTUNREACH.
        int d = sa.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(-(int)Errno.EINPROGRESS, sa.Connect(d, new SockAddrIn(TwoHosts.AddrB, 7001)));
        var sk = ((TcpSocketFile)sa.File(d)!).Sk;
        IcmpToA(net, 3, 1, 0, sk.LocalPort, 7001, sk.Iss);
        Assert.Equal(TcpState.Close, sk.State);
        Assert.Equal(0, sa.GetSockOpt(d, SockOpt.SOL_SOCKET, SockOpt.SO_ERROR, out int err));
        Assert.Equal((int)Errno.EHOSTUNREACH, err);
    }
}
