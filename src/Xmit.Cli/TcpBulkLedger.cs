using Xmit.Buffers;
using Xmit.Hosting;
using Xmit.Hosting.Accounting;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Simulation;

namespace Xmit.Cli;

/// <summary>
/// The books of `xmit sim tcp`, per host and per direction: what each layer of a host's transmit path (IP output,
/// neighbour, qdisc, driver ring, the wire to its peer) and receive path (IP input, TCP) took in equals what it passed
/// on + Σ drops by reason (Linux's skb_drop_reason names) + what it still holds. Each host has its own skb pool, so
/// the kfree_skb reasons are the host's own. Taken from just after the handshake to the end of the interval.
/// </summary>
/// <remarks>
/// Units: IP output to the qdisc count skbs (a GSO skb is one packet, as in Ip:OutRequests and the qdisc's bstats);
/// from the driver on they count frames (GSO segmented in software before the driver: validate_xmit_skb).
/// TCP's input layer has no counter of its own for segments it kept, so what it passed on is in − drops: ACKs
/// processed, data queued, read or coalesced; its drops are the reasons tcp_v4_rcv and tcp_data_queue give.
/// </remarks>
public sealed class TcpBulkLedger
{
    /// <summary>Reasons only TCP's receive path gives in this scenario (the IP header checksum guards the protocol byte).</summary>
    private static readonly SkbDropReason[] TcpReasons =
        [SkbDropReason.TcpCsum, SkbDropReason.TcpZeroWindow, SkbDropReason.TcpOverWindow, SkbDropReason.TcpOfoDrop, SkbDropReason.ProtoMem, SkbDropReason.NoSocket];

    private readonly Side _a, _b;

    /// <summary>Takes the baseline now; <paramref name="poolA"/> and <paramref name="poolB"/> are the hosts' own pools.</summary>
    public TcpBulkLedger(Host a, SkBuffPool poolA, Host b, SkBuffPool poolB, SimulatedConnection conn)
    {
        _a = new Side(a, poolA, conn.DeviceA, (RingDriver)conn.DriverA, conn.Link.A, b.Name);
        _b = new Side(b, poolB, conn.DeviceB, (RingDriver)conn.DriverB, conn.Link.B, a.Name);
    }

    /// <summary>A's layers, then B's: each host's transmit path, the wire it sends on, then its receive path.</summary>
    public IReadOnlyList<LayerBalance> Build() => [.. _a.Build(_b.RxDelta), .. _b.Build(_a.RxDelta)];

    /// <summary>TCP's own counters of each host that tell of a loss or a drop (non-zero ones), e.g. "A" → RetransSegs 12.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> TcpCounters() =>
        new Dictionary<string, IReadOnlyDictionary<string, long>> { [_a.Name] = _a.Counters(), [_b.Name] = _b.Counters() };

    /// <summary>Counts the frames a device hands its driver (dev_hard_start_xmit, after GSO), as a tap sees them; a TSO skb is the frames the NIC cuts it into.</summary>
    private sealed class FrameCounter : IPacketTap
    {
        public long Out;
        public void OnPacket(NetDevice device, SkBuff skb, bool outgoing) { if (outgoing) Out += Link.SkbGso.Frames(skb); }
    }

    private sealed class Side
    {
        private static readonly string[] CounterNames =
            ["OutSegs", "InSegs", "InErrs", "RetransSegs", "TCPFastRetrans", "TCPTimeouts", "TCPLossProbes", "TCPRcvQDrop", "TCPZeroWindowDrop",
             "BeyondWindow", "TCPOFODrop", "TCPOFOQueue", "TCPACKSkippedSeq", "PruneCalled", "RcvPruned", "OfoPruned"];

        private readonly Host _h;
        private readonly SkBuffPool _pool;
        private readonly NetDevice _dev;
        private readonly RingDriver _ring;
        private readonly SimulatedLink.Direction _txWire;
        private readonly FrameCounter _frames = new();
        private readonly DropCounts _drops;
        private readonly Dictionary<string, long> _tcp0;
        private readonly long _outRequests, _outTransmits, _qdiscPackets, _busyFrames, _wireFrames, _wireDup, _wireLost, _rx, _arpIn, _arpSent, _inSegs, _inErrs;
        private readonly int _neighQueued, _reasmHeld;
        private readonly long _tbfAdded;
        private readonly string _peer;

        public Side(Host h, SkBuffPool pool, NetDevice dev, RingDriver ring, SimulatedLink.Direction txWire, string peer)
        {
            _peer = peer;
            (_h, _pool, _dev, _ring, _txWire) = (h, pool, dev, ring, txWire);
            dev.AddTap(_frames);
            _drops = DropCounts.Of(pool);
            _tcp0 = h.Tcp.Mib.All().ToDictionary(kv => kv.Item1, kv => kv.Item2);
            _outRequests = h.Mib.Ip.OutRequests;
            _outTransmits = h.Mib.Ip.OutTransmits;
            _qdiscPackets = Qdisc.Stats.Packets;
            _tbfAdded = TbfAdded;
            _busyFrames = ring.BusyReturnedFrames;
            _wireFrames = txWire.Frames;
            _wireDup = txWire.Faults.Duplicated;
            _wireLost = txWire.Lost;
            _rx = dev.Stats.RxPackets;
            _arpIn = h.Arp.Stats.Consumed;
            _arpSent = ArpSent(h);
            _inSegs = h.Tcp.Mib.InSegs;
            _inErrs = h.Tcp.Mib.InErrs;
            _neighQueued = h.Neighbours.QueuedPackets;
            _reasmHeld = h.Reassembler.HeldFragments;
        }

        public string Name => _h.Name;
        private Link.Qdiscs.Qdisc Qdisc => _dev.RootQdiscTotals;
        private long TbfAdded => Qdisc is Link.Qdiscs.TbfQdisc t ? t.SegmentsAdded : 0;

        public IReadOnlyDictionary<string, long> Counters()
        {
            var d = new Dictionary<string, long>();
            foreach (var (name, v) in _h.Tcp.Mib.All())
                if (CounterNames.Contains(name) && v - _tcp0.GetValueOrDefault(name) is var n and not 0) d[name] = n;
            return d;
        }

        /// <summary>Frames this host's device received since the baseline: what the peer's wire delivered.</summary>
        public long RxDelta => _dev.Stats.RxPackets - _rx;

        /// <param name="peerRx">frames the peer's device received: what this host's wire delivered.</param>
        public IEnumerable<LayerBalance> Build(long peerRx)
        {
            string h = _h.Name;
            var now = DropCounts.Of(_pool);
            var q = Qdisc;
            long outTransmits = _h.Mib.Ip.OutTransmits - _outTransmits;
            long qdiscOut = q.Stats.Packets - _qdiscPackets;
            var qdiscDrops = now.Since(_drops, DropLayer.Qdisc);
            long qdiscQueued = q.QLen - q.RequeuedLen; // requeued ones already left (bstats): the driver's
            long qdiscIn = qdiscOut + qdiscDrops.Values.Sum() + qdiscQueued;
            // A frame the driver refused (NETDEV_TX_BUSY) was handed over and comes back: it is handed over again later.
            long driverIn = _frames.Out - (_ring.BusyReturnedFrames - _busyFrames);
            long wireIn = _txWire.Frames - _wireFrames;
            long ringQueued = _ring.RingFramesUnsent();
            long rx = RxDelta;
            long inSegs = _h.Tcp.Mib.InSegs - _inSegs;
            var tcpDrops = new Dictionary<string, long>();
            var ipInDrops = now.Since(_drops, DropLayer.Receiver);
            foreach (var r in TcpReasons) Move(DropLayer.LinuxName(r), ipInDrops, tcpDrops);
            // PKT_TOO_SMALL is IP's (a truncated datagram) and TCP's (a header shorter than its data offset): TCP's are its
            // InErrs that are not checksum errors.
            long tcpShort = _h.Tcp.Mib.InErrs - _inErrs - tcpDrops.GetValueOrDefault("TCP_CSUM");
            if (tcpShort > 0)
            {
                tcpDrops["PKT_TOO_SMALL"] = tcpShort;
                ipInDrops["PKT_TOO_SMALL"] = ipInDrops.GetValueOrDefault("PKT_TOO_SMALL") - tcpShort;
                if (ipInDrops["PKT_TOO_SMALL"] == 0) ipInDrops.Remove("PKT_TOO_SMALL");
            }
            long tcpDropped = tcpDrops.Values.Sum();
            return
            [
                new($"ip output ({h})", "packets", _h.Mib.Ip.OutRequests - _outRequests, outTransmits, now.Since(_drops, DropLayer.Ip), 0),
                // The qdisc also carries the host's own ARP requests and replies, which never passed the neighbour queue, and
                // counts in segments what tbf cut a GSO skb into (tbf_segment): one skb from the neighbour, n in the qdisc.
                new($"neighbour ({h})", "packets", outTransmits, qdiscIn - (ArpSent(_h) - _arpSent) - (TbfAdded - _tbfAdded), now.Since(_drops, DropLayer.Neighbour),
                    _h.Neighbours.QueuedPackets - _neighQueued),
                new($"qdisc {q.Kind} ({h})", "packets", qdiscIn, qdiscOut, qdiscDrops, qdiscQueued),
                new($"driver ring ({h})", "frames", driverIn, wireIn, now.Since(_drops, DropLayer.Driver), ringQueued),
                new($"wire {h}→{_peer}", "frames", wireIn + _txWire.Faults.Duplicated - _wireDup, peerRx,
                    new Dictionary<string, long> { ["wire loss"] = _txWire.Lost - _wireLost }, _txWire.InFlight),
                new($"ip input ({h})", "frames", rx, inSegs + (_h.Arp.Stats.Consumed - _arpIn), ipInDrops, _h.Reassembler.HeldFragments - _reasmHeld),
                new($"tcp input ({h})", "segments", inSegs, inSegs - tcpDropped, tcpDrops, 0),
            ];
        }

        private static void Move(string name, Dictionary<string, long> from, Dictionary<string, long> to)
        {
            if (from.Remove(name, out long n)) to[name] = n;
        }

        private static long ArpSent(Host h) => h.Arp.Stats.RequestsSent + h.Arp.Stats.RepliesSent;
    }
}
