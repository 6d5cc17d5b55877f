using Xmit.Buffers;
using Xmit.Hosting;
using Xmit.Link;
using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Transport.Udp;
using Xmit.Wire;

namespace Xmit.Fuzz;

/// <summary>
/// The host under attack, T (198.18.0.1), and its honest peer P (198.18.0.2) on a 1 Gbit/s link, with live state
/// for the fuzzed frames to hit: a bound UDP socket (port 7), a connected one (to P:9, which answers with port
/// unreachable), a listener (port 80), a victim connection (P → T:5000) the frames are aimed at, and a legitimate
/// connection (P → T:6000, never aimed at) carrying a checked byte stream both ways.
/// </summary>
public sealed class RxTarget : IDisposable
{
    public static readonly Ipv4Address AddrT = new(198, 18, 0, 1);
    public static readonly Ipv4Address AddrP = new(198, 18, 0, 2);
    public const ushort UdpPort = 7, UdpPeerPort = 9, ListenPort = 80, VictimPort = 5000, LegitPort = 6000;

    private readonly byte[] _scratch = new byte[2048];
    private int _victimListener, _victimP = -1, _victimT = -1;
    private int _legitP, _legitT;

    public RxTarget(ulong seed, bool trackAllocations = false)
    {
        Sim = new Simulation.Simulation(seed, trackAllocations);
        T = Sim.AddHost("T");
        P = Sim.AddHost("P");
        var c = Sim.Connect(T, AddrT, P, AddrP, 24, new Simulation.LinkConfig { RateBitsPerSecond = 1_000_000_000, Propagation = Duration.FromMicroseconds(50) });
        DevT = c.DeviceA;
        DevP = c.DeviceB;
        St = new Syscalls(T);
        Sp = new Syscalls(P);
        // T knows P's MAC for good (`ip neigh add … nud permanent`): a mutated ARP reply naming P could otherwise
        // poison T's entry, as on Linux, and the legitimate stream would stop for a reason that is no bug.
        T.Neighbours.AddPermanent(DevT, AddrP, DevP.Mac);

        UdpBound = Must(St.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0));
        Must(St.Bind(UdpBound, new SockAddrIn(Ipv4Address.Any, UdpPort)));
        UdpConnected = Must(St.Socket(Af.AF_INET, SockType.SOCK_DGRAM | SockType.SOCK_NONBLOCK, 0));
        Must(St.Connect(UdpConnected, new SockAddrIn(AddrP, UdpPeerPort)));
        Listener = Must(St.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0));
        Must(St.Bind(Listener, new SockAddrIn(Ipv4Address.Any, ListenPort)));
        Must(St.Listen(Listener, 16));
        _victimListener = Must(St.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0));
        Must(St.Bind(_victimListener, new SockAddrIn(Ipv4Address.Any, VictimPort)));
        Must(St.Listen(_victimListener, 4));

        (_legitP, _legitT) = Open(LegitPort, listener: -1);
        OpenVictim();
    }

    public Simulation.Simulation Sim { get; }
    public Host T { get; }
    public Host P { get; }
    public NetDevice DevT { get; }
    public NetDevice DevP { get; }
    public Syscalls St { get; }
    public Syscalls Sp { get; }
    public int UdpBound { get; }
    public int UdpConnected { get; }
    public int Listener { get; }

    /// <summary>P → T on the legitimate connection, and back.</summary>
    public StreamCheck ToT { get; } = new();
    public StreamCheck ToP { get; } = new();

    /// <summary>T's end of the victim connection (the one fuzzed TCP segments are aimed at), or null between victims.</summary>
    public TcpSock? Victim => _victimT >= 0 ? (St.File(_victimT) as TcpSocketFile)?.Sk : null;

    public UdpSock ConnectedUdp => ((UdpSocketFile)St.File(UdpConnected)!).Sk;

    /// <summary>Victim connections opened so far (a reset or closed one is replaced).</summary>
    public int VictimsOpened { get; private set; }

    /// <summary>Hands a frame to T's device as if it came off the wire.</summary>
    public void Inject(Frame f)
    {
        var skb = Sim.Pool.AllocNetdev(Math.Max(f.Length, 1));
        f.Span.CopyTo(skb.Put(f.Length));
        DevT.Receive(skb);
    }

    /// <summary>
    /// The honest traffic of one batch: the legitimate stream both ways (checked), data on the victim, a datagram
    /// to P:9, every queue read, connections the fuzz completed on the listener accepted and closed; then time runs.
    /// </summary>
    public void Step(Duration d)
    {
        ToT.Write(Sp, _legitP, 4096);
        ToP.Write(St, _legitT, 2048);
        if (_victimP >= 0) Sp.Send(_victimP, _scratch.AsSpan(0, 512), MsgFlags.DontWait);
        St.Send(UdpConnected, _scratch.AsSpan(0, 32), MsgFlags.DontWait);
        Sim.RunFor(d);
        ToT.Drain(St, _legitT);
        ToP.Drain(Sp, _legitP);
        DrainUdp(UdpBound);
        DrainUdp(UdpConnected);
        if (_victimT >= 0) while (St.Recv(_victimT, _scratch, MsgFlags.DontWait) > 0) { }
        if (_victimP >= 0) while (Sp.Recv(_victimP, _scratch, MsgFlags.DontWait) > 0) { }
        int child;
        while ((child = St.Accept(Listener, out _)) >= 0) St.Close(child);
        if (Victim is not { State: TcpState.Established } || (Sp.File(_victimP) as TcpSocketFile)?.Sk.State != TcpState.Established)
            OpenVictim();
    }

    private void DrainUdp(int fd)
    {
        while (St.RecvFrom(fd, _scratch, MsgFlags.DontWait, out _) is >= 0 or -(int)Errno.ECONNREFUSED) { }
    }

    private void OpenVictim()
    {
        if (_victimP >= 0) Sp.Close(_victimP);
        if (_victimT >= 0) St.Close(_victimT);
        _victimP = _victimT = -1;
        // A victim that cannot connect (T's table in a bad way) is retried next batch; the legitimate stream says whether T still works.
        try { (_victimP, _victimT) = Open(VictimPort, _victimListener); VictimsOpened++; }
        catch (FuzzSetupException) { }
    }

    /// <summary>P connects to T:<paramref name="port"/>; T accepts on <paramref name="listener"/> (or a listener made for it).</summary>
    private (int P, int T) Open(ushort port, int listener)
    {
        bool own = listener < 0;
        if (own)
        {
            listener = Must(St.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0));
            Must(St.Bind(listener, new SockAddrIn(Ipv4Address.Any, port)));
            Must(St.Listen(listener, 4));
        }
        int p = Must(Sp.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0));
        int rc = Sp.Connect(p, new SockAddrIn(AddrT, port));
        if (rc != -(int)Errno.EINPROGRESS) { Sp.Close(p); throw new FuzzSetupException($"connect to T:{port}: {rc}"); }
        int t = -1;
        var deadline = Sim.Now + Duration.FromSeconds(10);
        while (Sim.Now < deadline && (t = St.Accept(listener, out _)) < 0) Sim.RunFor(Duration.FromMilliseconds(1));
        if (own) St.Close(listener);
        if (t < 0) { Sp.Close(p); throw new FuzzSetupException($"T did not accept on port {port}: {t}"); }
        Must(St.Fcntl(t, Fcntl.F_SETFL, Fcntl.O_RDWR | Fcntl.O_NONBLOCK));
        return (p, t);
    }

    /// <summary>
    /// The end of an epoch: the legitimate stream is finished and checked, everything is closed, and the timers
    /// run out. Returns what is still held: sockets left in a table, skbs outstanding, memory still charged.
    /// </summary>
    public List<string> Finish()
    {
        var problems = new List<string>();
        // Stop writing, let what is in flight arrive, and read it all.
        var deadline = Sim.Now + Duration.FromSeconds(30);
        while (Sim.Now < deadline && (ToT.Read < ToT.Written || ToP.Read < ToP.Written))
        {
            Sim.RunFor(Duration.FromMilliseconds(10));
            ToT.Drain(St, _legitT);
            ToP.Drain(Sp, _legitP);
        }
        if (!ToT.Complete || !ToP.Complete)
            problems.Add($"legitimate stream broken: P→T wrote {ToT.Written} read {ToT.Read} first mismatch {ToT.FirstMismatch}; T→P wrote {ToP.Written} read {ToP.Read} first mismatch {ToP.FirstMismatch}");
        var socks = Sockets();
        St.CloseAll();
        Sp.CloseAll();
        problems.AddRange(Drained(Sim, socks));
        return problems;
    }

    /// <summary>Every socket both hosts hold now.</summary>
    public List<Sockets.Sock> Sockets() => Sockets(Sim);

    public static List<Sockets.Sock> Sockets(Simulation.Simulation sim) =>
        sim.Hosts.SelectMany(h => h.Udp.Sockets.Cast<Sockets.Sock>().Concat(h.Tcp.Sockets)).ToList();

    /// <summary>
    /// After every descriptor is closed: runs the timers (TIME-WAIT, FIN retransmissions, orphans, reassembly, ARP)
    /// until the tables are empty or 1000 s have passed, then lists what is left.
    /// </summary>
    public static List<string> Drained(Simulation.Simulation sim, List<Sockets.Sock> sockets)
    {
        var problems = new List<string>();
        var deadline = sim.Now + Duration.FromSeconds(1000);
        while (sim.Now < deadline && (sim.Hosts.Any(h => h.Tcp.Sockets.Count > 0 || h.Udp.Sockets.Count > 0) || sim.Pool.Outstanding > 0))
            sim.RunFor(Duration.FromSeconds(10));
        foreach (var h in sim.Hosts)
        {
            foreach (var sk in h.Tcp.Sockets.Take(3)) problems.Add($"{h}: TCP socket {sk.LocalAddress}:{sk.LocalPort} → {sk.RemoteAddress}:{sk.RemotePort} still in the table in {sk.State} after every fd closed and 1000 s");
            if (h.Tcp.Sockets.Count > 3) problems.Add($"{h}: {h.Tcp.Sockets.Count} TCP sockets left in all");
            if (h.Udp.Sockets.Count > 0) problems.Add($"{h}: {h.Udp.Sockets.Count} UDP sockets left");
            if (h.Reassembler.Memory != 0) problems.Add($"{h}: reassembly holds {h.Reassembler.Memory} bytes");
        }
        foreach (var sk in sockets)
            if (sk.WmemAlloc != 0 || sk.RmemAlloc != 0) problems.Add($"socket {sk} still charged: wmem {sk.WmemAlloc} rmem {sk.RmemAlloc}");
        if (sim.Pool.Outstanding != 0) problems.Add($"{sim.Pool.Outstanding} skbs outstanding with the network idle: {Outstanding(sim.Pool)}");
        sim.Shutdown();
        if (sim.Pool.Outstanding != 0 || sim.Pool.OutstandingBuffers != 0 || sim.Pool.OutstandingPages != 0)
            problems.Add($"after shutdown: {sim.Pool.Outstanding} skbs, {sim.Pool.OutstandingBuffers} buffers, {sim.Pool.OutstandingPages} pages outstanding: {Outstanding(sim.Pool)}");
        return problems;
    }

    private static string Outstanding(SkBuffPool pool) => pool.TrackAllocations ? pool.DescribeOutstanding() : "(run with allocation tracking to see where they were rented)";

    private static int Must(int rc) => rc >= 0 ? rc : throw new FuzzSetupException($"setup call failed: {(Errno)(-rc)}");

    public void Dispose() => Sim.Dispose();
}

/// <summary>The honest part of a fuzz run could not be set up: a finding in itself, reported as a violation.</summary>
public sealed class FuzzSetupException(string message) : Exception(message);
