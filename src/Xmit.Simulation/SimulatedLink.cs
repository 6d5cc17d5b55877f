using Xmit.Buffers;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Time;

namespace Xmit.Simulation;

/// <summary>
/// A full-duplex point-to-point wire between two devices. Each direction serializes frames at the link
/// rate, applies the configured faults (loss, reordering, duplication, corruption, jitter, CE marks; seeded), and
/// delivers each frame a propagation delay after its last bit left, into a receive buffer the far device
/// allocates (netdev_alloc_skb), then up its receive path.
/// </summary>
public sealed class SimulatedLink
{
    public SimulatedLink(IScheduler scheduler, LinkConfig config, DeterministicRandom random)
    {
        if (config.Validate() is { } error) ThrowHelper.Argument(error, nameof(config));
        Config = config;
        A = new Direction(this, scheduler, random.Fork(1), "a->b");
        B = new Direction(this, scheduler, random.Fork(2), "b->a");
    }

    public LinkConfig Config { get; }

    /// <summary>The port device A transmits on (towards B).</summary>
    public Direction A { get; }

    /// <summary>The port device B transmits on (towards A).</summary>
    public Direction B { get; }

    /// <summary>Joins the two devices: frames sent on <see cref="A"/> arrive at <paramref name="b"/> and vice versa.</summary>
    public void Connect(NetDevice a, NetDevice b)
    {
        A.Receiver = b;
        B.Receiver = a;
    }

    /// <summary>One direction of the wire: a transmitter's port.</summary>
    public sealed class Direction : IWirePort
    {
        private readonly SimulatedLink _link;
        private readonly IScheduler _scheduler;
        private readonly SkBuffQueue _inFlight = new();
        private readonly Timer _arrival;
        private Instant _busyUntil;

        internal Direction(SimulatedLink link, IScheduler scheduler, DeterministicRandom random, string name)
        {
            _link = link;
            _scheduler = scheduler;
            Faults = new FaultInjector(link.Config.Faults, link.Config.LossRate, random);
            Name = name;
            _arrival = new Timer(scheduler, Deliver, "wire-" + name);
        }

        public string Name { get; }
        public NetDevice? Receiver { get; internal set; }

        public long Frames { get; private set; }
        public long Bytes { get; private set; }
        public long Lost => Faults.Lost;

        /// <summary>The faults this direction injects, with their counts.</summary>
        public FaultInjector Faults { get; }

        /// <summary>Time the wire spent sending frames (for utilisation).</summary>
        public Duration BusyTime { get; private set; }

        /// <summary>Time the wire has spent sending up to <paramref name="now"/> (the frame on the wire counts as far as it got).</summary>
        public Duration BusyTimeAsOf(Instant now) => BusyTime - Duration.Max(Duration.Zero, _busyUntil - now);

        /// <summary>Frames on the wire (sent, not yet arrived).</summary>
        public int InFlight => _inFlight.Count;

        public Instant Transmit(SkBuff frame, Instant start)
        {
            var begin = Instant.Max(start, _busyUntil);
            var serialization = _link.Config.SerializationTime(frame.Len);
            var end = begin + serialization;
            _busyUntil = end;
            Frames++;
            Bytes += frame.Len;
            BusyTime += serialization;
            if (Receiver is null || Faults.Blackholes(frame) || Faults.Lose()) return end;
            Deliver(frame, end);
            if (Faults.Duplicate()) Deliver(frame, end);
            return end;
        }

        /// <summary>
        /// The receiving NIC DMAs the frame into a buffer of its own (a forwarding veth keeps the skb's GSO size,
        /// truesize, checksum state and shape: <see cref="SkbForward"/>); it arrives after the propagation delay (and any fault's).
        /// </summary>
        private void Deliver(SkBuff frame, Instant end)
        {
            bool corrupt = Faults.Corrupts();
            SkBuff copy;
            if (_link.Config.ForwardsSkb) copy = SkbForward.CopyForReceive(frame, Receiver!.Pool);
            else
            {
                copy = Receiver!.Pool.AllocNetdev(frame.Len);
                frame.CopyBits(0, copy.Put(frame.Len));
            }
            if (corrupt)
            {
                // A damaged frame carries whole checksums (a forwarded CHECKSUM_PARTIAL one is finished first) and
                // is handed up unverified, so the receiver's stack finds the damage where Linux's would.
                if (frame.IpSummed == ChecksumState.Partial)
                {
                    copy.CsumStart = copy.DataOffset + (frame.CsumStart - frame.DataOffset);
                    copy.CsumOffset = frame.CsumOffset;
                    SkbChecksum.Help(copy);
                }
                copy.IpSummed = ChecksumState.None;
                Faults.Corrupt(copy);
            }
            Faults.MaybeMarkCe(copy);
            copy.Timestamp = end + _link.Config.Propagation + Faults.ExtraDelay();
            // Frames are kept in arrival order: a delayed one is overtaken by those behind it.
            var before = _inFlight.PeekTail();
            while (before is not null && before.Timestamp > copy.Timestamp) before = SkBuffQueue.PrevOf(before);
            _inFlight.InsertAfter(before, copy);
            _arrival.ArmNoLaterThan(_inFlight.Peek()!.Timestamp);
        }

        private void Deliver()
        {
            var now = _scheduler.Now;
            while (_inFlight.Peek() is { } skb && skb.Timestamp <= now)
            {
                _inFlight.Dequeue();
                skb.Timestamp = now;
                Receiver!.ReceiveFromWire(skb);
            }
            if (_inFlight.Peek() is { } next) _arrival.Arm(next.Timestamp);
        }

        /// <summary>Frees frames still on the wire (end of a run).</summary>
        public void Drain() => _inFlight.Purge();
    }
}
