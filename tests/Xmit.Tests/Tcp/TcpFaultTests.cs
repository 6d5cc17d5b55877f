using System.Security.Cryptography;
using System.Text;
using Xmit.Simulation;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Tcp;

/// <summary>
/// 5 MB of TCP across a link with faults — loss, reordering, duplication, corruption and a mix — over five
/// seeds each (smoltcp tests/netsim.rs style). Every run must finish byte-exact with rmem and wmem back to 0
/// and no skb outstanding (TwoHosts checks those on dispose); the virtual completion times are a golden
/// table checked in under Data/golden, so any change in TCP's behaviour under faults shows up in review.
/// </summary>
public class TcpFaultTests
{
    private const int Bytes = 5_000_000;

    public static readonly (string Name, LinkConfig Link)[] Cases =
    [
        ("clean", Link(0, new LinkFaults())),
        ("loss 1%", Link(0.01, new LinkFaults())),
        ("loss 5%", Link(0.05, new LinkFaults())),
        ("loss 10%", Link(0.10, new LinkFaults())),
        ("reorder 30%", Link(0, new LinkFaults { ReorderRate = 0.30, ReorderDelay = Duration.FromMilliseconds(1) })),
        ("duplicate 10%", Link(0, new LinkFaults { DuplicateRate = 0.10 })),
        ("corrupt 1%", Link(0, new LinkFaults { CorruptRate = 0.01 })),
        ("mix", Link(0.02, new LinkFaults
        {
            ReorderRate = 0.05, DuplicateRate = 0.02, CorruptRate = 0.01, Jitter = Duration.FromMicroseconds(200),
            Burst = (0.01, 0.3, 0.5),
        })),
    ];

    private static LinkConfig Link(double loss, LinkFaults faults) => new()
    {
        RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMilliseconds(2), LossRate = loss, Faults = faults,
    };

    /// <summary>One transfer: the virtual time it took, or a description of how it failed.</summary>
    public static string Run(LinkConfig link, ulong seed)
    {
        // Millions of skbs: count them, but do not take a stack trace of each (a leak is re-run with tracking).
        using var net = new TwoHosts(link, seed: seed, trackAllocations: false);
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        var (sa, sb, client, server) = (tcp.A, tcp.B, tcp.Client, tcp.Server);
        var data = new byte[Bytes];
        new Random((int)seed).NextBytes(data); // the test's data; the stack's randomness comes from the simulation seed
        var expected = SHA256.HashData(data);
        using var got = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[65536];
        int sent = 0, received = 0;
        var start = net.Sim.Now;
        var deadline = start + Duration.FromSeconds(120);
        while (received < Bytes && net.Sim.Now < deadline)
        {
            if (sent < Bytes)
            {
                int n = sa.Write(client, data.AsSpan(sent));
                if (n > 0) sent += n;
            }
            int r = sb.Read(server, buf);
            if (r > 0)
            {
                got.AppendData(buf, 0, r);
                received += r;
            }
            else net.RunFor(Duration.FromMicroseconds(200));
        }
        var elapsed = net.Sim.Now - start;
        var a = tcp.ClientSock;
        var peer = tcp.ServerSock;
        string state = $"A {a.State} sent {sent} received {received} una {a.SndUna - a.Iss} nxt {a.SndNxt - a.Iss} wnd {a.SndWnd} cwnd {a.SndCwnd} probes {a.ProbesOut} backoff {a.Backoff} pending {a.PendingTimer} wmemq {a.WmemQueued} sndbuf {a.SndBuf}"
            + $" | B rcvwnd {peer.RcvWnd} rmem {peer.RmemAlloc} rcvbuf {peer.RcvBuf} clamp {peer.WindowClamp} ssth {peer.RcvSsthresh} q {peer.ReceiveQueue.Count} ofo {peer.OutOfOrder.Count}";
        if (received < Bytes) return "STALLED " + state;
        if (!got.GetHashAndReset().AsSpan().SequenceEqual(expected)) return "CORRUPT " + state;
        sa.Close(client);
        sb.Close(server);
        // The FINs (retransmitted across the same faults), then TIME-WAIT's 60 s.
        for (int s = 0; s < 300 && net.A.Tcp.Sockets.Count + net.B.Tcp.Sockets.Count != 0; s++) net.RunFor(Duration.FromSeconds(1));
        if (net.A.Tcp.Sockets.Count + net.B.Tcp.Sockets.Count != 0)
            return $"LINGERING A {string.Join(",", net.A.Tcp.Sockets.Select(x => x.State))} B {string.Join(",", net.B.Tcp.Sockets.Select(x => x.State))} " + state;
        return $"{elapsed.TotalSeconds:F6} s";
    }

    /// <summary>One line of the table: the case's name and its five runs.</summary>
    public static string Line(int index)
    {
        var (name, link) = Cases[index];
        var sb = new StringBuilder(name.PadRight(14));
        for (ulong seed = 1; seed <= 5; seed++) sb.Append("  ").Append(Run(link, seed));
        return sb.ToString();
    }

    public static TheoryData<int> CaseIndexes()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Cases.Length; i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Every_transfer_under_faults_completes_byte_exact_and_matches_the_golden_table(int index)
    {
        var actual = Line(index);
        Assert.DoesNotContain("STALLED", actual);
        Assert.DoesNotContain("CORRUPT", actual);
        Assert.DoesNotContain("LINGERING", actual);
        var path = Path.Combine(AppContext.BaseDirectory, "Data", "golden", "tcp-faults.txt");
        var expected = File.ReadLines(path).FirstOrDefault(l => l.StartsWith(Cases[index].Name + "  ", StringComparison.Ordinal));
        Assert.True(expected == actual,
            $"tests/Xmit.Tests/Data/golden/tcp-faults.txt has\n{expected}\nbut the run gave\n{actual}\n(a deliberate change of behaviour updates the file)");
    }

    [Fact]
    public void The_same_seed_gives_the_same_run()
    {
        var link = Cases[^1].Link;
        Assert.Equal(Run(link, 3), Run(link, 3));
    }
}
