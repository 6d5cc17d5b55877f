using Xmit.Hosting;
using Xmit.Hosting.Accounting;
using Xmit.Link.Drivers;
using Xmit.Simulation;
using Xmit.Transport.Udp;

namespace Xmit.Cli;

/// <summary>
/// The books of `xmit sim`'s run, layer by layer from A's socket to B's: each layer's in = passed on + Σ drops by
/// reason + still queued. Counted from the layers' own counters (Linux's names where Linux has them) and the
/// kfree_skb reasons of each host's pool (A's layers from A's, B's from B's), from just after the warm-up ping to
/// the moment the report is taken.
/// </summary>
public sealed class UdpFloodLedger
{
    private readonly Host _a, _b;
    private readonly SimulatedConnection _conn;
    private readonly DropCounts _dropsA, _dropsB;
    private readonly long _outRequests, _outTransmits, _qdiscPackets, _qdiscDrops, _wireFrames, _wireDup, _wireLost, _rxB, _arrivalsB, _arpB, _arpSentA;
    private readonly int _neighQueued, _reasmHeld;

    /// <summary>Takes the baseline now.</summary>
    public UdpFloodLedger(Host a, Host b, SimulatedConnection conn)
    {
        _a = a; _b = b; _conn = conn;
        _dropsA = DropCounts.Of(a.Pool);
        _dropsB = DropCounts.Of(b.Pool);
        _outRequests = a.Mib.Ip.OutRequests;
        _outTransmits = a.Mib.Ip.OutTransmits;
        var q = conn.DeviceA.RootQdiscTotals;
        _qdiscPackets = q.Stats.Packets;
        _qdiscDrops = q.Stats.Drops;
        _wireFrames = conn.Link.A.Frames;
        _wireDup = conn.Link.A.Faults.Duplicated;
        _wireLost = conn.Link.A.Lost;
        _rxB = conn.DeviceB.Stats.RxPackets;
        _arrivalsB = conn.RingB.RxArrivals;
        _arpB = b.Arp.Stats.Consumed;
        _arpSentA = ArpSent(a);
        // What already waited at the baseline (the warm-up ping behind an unresolved ARP) is not this interval's.
        _neighQueued = a.Neighbours.QueuedPackets;
        _reasmHeld = b.Reassembler.HeldFragments;
    }

    /// <param name="sentDatagrams">sendto calls that succeeded (corked groups count once).</param>
    /// <param name="corkedPending">a corked datagram not yet pushed.</param>
    /// <param name="delivered">datagrams B's application read.</param>
    /// <param name="sink">B's socket (what it still holds).</param>
    /// <param name="framesPerDatagram">IP packets each datagram becomes (1, or its fragments).</param>
    public IReadOnlyList<LayerBalance> Build(long sentDatagrams, int corkedPending, long delivered, UdpSock sink, int framesPerDatagram)
    {
        var d = DropCounts.Of(_a.Pool);
        var dB = DropCounts.Of(_b.Pool);
        var q = _conn.DeviceA.RootQdiscTotals;
        var ring = _conn.RingA;
        var wire = _conn.Link.A;
        int k = framesPerDatagram;
        long outTransmits = _a.Mib.Ip.OutTransmits - _outTransmits;
        long qdiscOut = q.Stats.Packets - _qdiscPackets;
        var qdiscDrops = d.Since(_dropsA, DropLayer.Qdisc);
        long qdiscQueued = q.QLen - q.RequeuedLen;
        long qdiscIn = qdiscOut + qdiscDrops.Values.Sum() + qdiscQueued;
        long wireIn = wire.Frames - _wireFrames;
        long ringQueued = ring.RingPackets() - ring.RingAwaitingCompletion() - (ring.Transmitting ? 1 : 0) + q.RequeuedLen;
        long rxB = _conn.DeviceB.Stats.RxPackets - _rxB;
        long arrivalsB = _conn.RingB.RxArrivals - _arrivalsB;
        var empty = new Dictionary<string, long>();
        return
        [
            // Handed to ip_output: Udp:OutDatagrams counts only those no layer below refused (a qdisc drop is
            // Udp:SndbufErrors instead, without IP_RECVERR), so Ip:OutRequests is what the socket passed on.
            new("socket (A)", "datagrams", sentDatagrams, _a.Mib.Ip.OutRequests - _outRequests, empty, corkedPending),
            new("ip output (A)", "packets", (_a.Mib.Ip.OutRequests - _outRequests) * k, outTransmits, d.Since(_dropsA, DropLayer.Ip), 0),
            // The qdisc also carries A's own ARP requests and replies, which never passed the neighbour queue.
            new("neighbour (A)", "packets", outTransmits, qdiscIn - (ArpSent(_a) - _arpSentA), d.Since(_dropsA, DropLayer.Neighbour),
                _a.Neighbours.QueuedPackets - _neighQueued),
            new($"qdisc {q.Kind} (A)", "packets", qdiscIn, qdiscOut, qdiscDrops, qdiscQueued),
            new("driver ring (A)", "packets", qdiscOut, wireIn, d.Since(_dropsA, DropLayer.Driver), ringQueued),
            new("wire A→B", "frames", wireIn + wire.Faults.Duplicated - _wireDup, arrivalsB,
                new Dictionary<string, long> { ["wire loss"] = wire.Lost - _wireLost }, wire.InFlight),
            // B's NIC: a frame finding no free RX descriptor is missed (rx_missed_errors); the rest wait for NAPI.
            new("rx ring (B)", "frames", arrivalsB, rxB, dB.Since(_dropsB, DropLayer.RxRing), _conn.RingB.RxRingFilled),
            new("receiver (B)", "frames", rxB, delivered * k + (_b.Arp.Stats.Consumed - _arpB), dB.Since(_dropsB, DropLayer.Receiver),
                _b.Reassembler.HeldFragments - _reasmHeld + sink.ReceiveQueue.Count * k),
        ];
    }

    private static long ArpSent(Host h) => h.Arp.Stats.RequestsSent + h.Arp.Stats.RepliesSent;

    /// <summary>The qdisc's own drop counter must agree with the QDISC_DROP frees (a check on the books themselves).</summary>
    public long QdiscStatDrops => _conn.DeviceA.RootQdiscTotals.Stats.Drops - _qdiscDrops;
}
