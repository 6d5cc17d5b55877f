using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Tcp;

/// <summary>
/// Reordering that RACK's reordering window (min_rtt/4, here about 1 ms) cannot hide: a segment held back 3 ms
/// is fast-retransmitted, then the original arrives, and the receiver reports the retransmission as a duplicate
/// (D-SACK) — or, with timestamps, the ACK of the original echoes a TSval older than the retransmission. Either
/// way the cwnd reduction is undone (tcp_try_undo_dsack / tcp_try_undo_recovery / tcp_try_undo_partial). Every
/// transfer must still arrive byte-exact, with both sockets' receive memory back to 0 (TwoHosts' Dispose checks
/// skbs and wmem), over several seeds.
/// </summary>
public class TcpUndoFaultTests
{
    private static readonly LinkConfig Reordering = new()
    {
        RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMilliseconds(2),
        Faults = new LinkFaults { ReorderRate = 0.02, ReorderDelay = Duration.FromMilliseconds(3) },
    };

    [Theory]
    [InlineData(1UL, true)]
    [InlineData(2UL, true)]
    [InlineData(3UL, true)]
    [InlineData(1UL, false)]
    [InlineData(2UL, false)]
    [InlineData(3UL, false)]
    public void Spurious_fast_retransmits_from_reordering_are_undone(ulong seed, bool timestamps)
    {
        using var net = new TwoHosts(Reordering, seed: seed, trackAllocations: false);
        if (!timestamps) net.A.Sysctls.TcpTimestamps = 0;
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5600);
        Assert.Equal(timestamps, tcp.ClientSock.TimestampOk);
        Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 4 << 20, seed: (int)seed), "A to B");
        var mib = net.A.Tcp.Mib;
        Assert.True(mib.FastRetrans > 0, "the reordering caused no fast retransmit");
        Assert.True(mib.DsackRecv > 0, "the receiver reported no duplicate");
        long undone = mib.DsackUndo + mib.FullUndo + mib.PartialUndo;
        Assert.True(undone > 0, $"nothing undone: {mib.FastRetrans} fast retransmits, {mib.DsackRecv} D-SACKs");
        // Without timestamps a fast retransmit can only be shown spurious by D-SACKs.
        if (!timestamps) Assert.True(mib.DsackUndo > 0, $"no D-SACK undo: {mib.FullUndo} full, {mib.PartialUndo} partial");
        // Undo never exceeds the episodes it undoes.
        Assert.True(undone <= mib.FastRetrans, $"{undone} undone of {mib.FastRetrans} recoveries");
        Assert.Equal(0, tcp.ClientSock.RmemAlloc);
        Assert.Equal(0, tcp.ServerSock.RmemAlloc);
        tcp.Close();
    }

    [Fact]
    public void The_same_seed_gives_the_same_undos()
    {
        static (long, long, long, long) Counts()
        {
            using var net = new TwoHosts(Reordering, seed: 7, trackAllocations: false);
            net.WarmUp();
            var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, 5601);
            Assert.True(TcpConnection.Transfer(net, tcp.A, tcp.Client, tcp.B, tcp.Server, 1 << 20, seed: 7));
            var mib = net.A.Tcp.Mib;
            var counts = (mib.FastRetrans, mib.DsackUndo, mib.FullUndo, mib.RetransSegs);
            tcp.Close();
            return counts;
        }
        Assert.Equal(Counts(), Counts());
    }
}
