using Xmit.Buffers;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Simulation;

/// <summary>
/// The faults of one direction of a wire, decided per frame from its own seeded generator: a frame is lost
/// (random or Gilbert–Elliott), or delivered — possibly late (jitter, reordering), twice, or with a bit
/// flipped. Draws are made only for the faults configured, so a link without faults replays as before.
/// </summary>
public sealed class FaultInjector(LinkFaults faults, double lossRate, DeterministicRandom random)
{
    private bool _bad; // Gilbert–Elliott state

    public long Lost { get; private set; }
    public long Reordered { get; private set; }
    public long Duplicated { get; private set; }
    public long Corrupted { get; private set; }
    public long CeMarked { get; private set; }
    public long Blackholed { get; private set; }

    /// <summary>Whether the frame is longer than the path's blackhole lets through (no draw is made).</summary>
    public bool Blackholes(SkBuff frame)
    {
        if (faults.BlackholeAbove <= 0 || frame.GsoSize != 0 || frame.Len - EthernetFrame.HeaderLength <= faults.BlackholeAbove) return false;
        Blackholed++;
        return true;
    }

    /// <summary>Whether this frame is lost on the wire.</summary>
    public bool Lose()
    {
        bool lost = lossRate > 0 && random.NextDouble() < lossRate;
        if (faults.Burst is { } b)
        {
            _bad = _bad ? random.NextDouble() >= b.R : random.NextDouble() < b.P;
            if (_bad && b.BadLoss > 0 && random.NextDouble() < b.BadLoss) lost = true;
        }
        if (lost) Lost++;
        return lost;
    }

    /// <summary>The delay this frame adds to the propagation delay (jitter, and the hold-back of a reordered frame).</summary>
    public Duration ExtraDelay()
    {
        var extra = Duration.Zero;
        if (faults.Jitter > Duration.Zero) extra += Duration.FromNanoseconds((long)(random.NextDouble() * faults.Jitter.Nanoseconds));
        if (faults.ReorderRate > 0 && random.NextDouble() < faults.ReorderRate)
        {
            extra += faults.ReorderDelay;
            Reordered++;
        }
        return extra;
    }

    /// <summary>Whether the frame arrives a second time.</summary>
    public bool Duplicate()
    {
        if (faults.DuplicateRate <= 0 || random.NextDouble() >= faults.DuplicateRate) return false;
        Duplicated++;
        return true;
    }

    /// <summary>Whether this frame gets a bit flipped (then <see cref="Corrupt"/> flips it).</summary>
    public bool Corrupts() => faults.CorruptRate > 0 && random.NextDouble() < faults.CorruptRate;

    /// <summary>
    /// INET_ECN_set_ce() on the way: an ECT(0)/ECT(1) IPv4 frame becomes CE with the configured probability, its
    /// header checksum redone (a draw is made only for ECN-capable frames, so other traffic replays as before).
    /// </summary>
    /// <remarks>Linux: include/net/inet_ecn.h INET_ECN_set_ce(), IP_ECN_set_ce()</remarks>
    public void MaybeMarkCe(SkBuff frame)
    {
        if (faults.CeMarkRate <= 0 || !EthernetFrame.TryCreate(frame.Data, out var eth) || eth.EtherType != EtherType.Ipv4) return;
        if (!Ipv4Packet.TryCreate(eth.Payload, out var ip) || (ip.Tos & 3) is 0 or 3) return;
        if (random.NextDouble() >= faults.CeMarkRate) return;
        ip.Tos |= 3;
        ip.FillChecksum();
        CeMarked++;
    }

    /// <summary>Flips one bit of <paramref name="frame"/> past its Ethernet header.</summary>
    public void Corrupt(SkBuff frame)
    {
        int bits = (frame.Len - EthernetFrame.HeaderLength) * 8;
        if (bits <= 0) return;
        int bit = (int)random.NextUInt32((uint)bits);
        frame.Data[EthernetFrame.HeaderLength + bit / 8] ^= (byte)(1 << (bit % 8));
        Corrupted++;
    }
}
