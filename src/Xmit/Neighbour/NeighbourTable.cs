using Xmit.Buffers;
using Xmit.Link;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Neighbour;

/// <summary>Counters of the neighbour table, as /proc/net/stat/arp_cache names them.</summary>
public sealed class NeighbourStats
{
    public long Allocs, Destroys, Lookups, Hits, ResFailed, UnresolvedDiscards, Probes, PeriodicGcRuns, ForcedGcRuns, TableFulls;
}

/// <summary>Sends solicitations for a neighbour table (ARP requests for IPv4).</summary>
public interface INeighbourSolicitor
{
    /// <summary>Solicit the link address of <paramref name="n"/>; <paramref name="pending"/> is the newest queued packet (for the source address), or null.</summary>
    void Solicit(NeighbourEntry n, SkBuff? pending);
}

/// <summary>
/// The ARP table: entries per (device, IPv4 address) moving through the NUD states, packets queued while
/// INCOMPLETE (bounded by truesize, oldest dropped first), retries every retrans_time, FAILED after the
/// probes run out, and output through the cached header once the address is known.
/// </summary>
/// <remarks>Linux: net/core/neighbour.c __neigh_event_send(), neigh_update(), neigh_timer_handler(), neigh_resolve_output(); include/net/neighbour.h neigh_output(), neigh_hh_output()</remarks>
public sealed class NeighbourTable
{
    private readonly Dictionary<(int IfIndex, uint Address), NeighbourEntry> _entries = new();
    private readonly IScheduler _scheduler;
    private readonly DeterministicRandom _random;

    private readonly Timer _periodicGc;
    private Instant _lastFlush;

    public NeighbourTable(IScheduler scheduler, DeterministicRandom random, NeighbourParams? parameters = null)
    {
        _scheduler = scheduler;
        _random = random;
        Params = parameters ?? new NeighbourParams();
        _periodicGc = new Timer(scheduler, PeriodicGc, "neigh-gc");
    }

    public int Count => _entries.Count;

    public NeighbourParams Params { get; }
    public NeighbourStats Stats { get; } = new();
    public INeighbourSolicitor? Solicitor { get; set; }

    /// <summary>Called for each queued packet when resolution fails (arp_error_report → ICMP host unreachable to the sender).</summary>
    public Action<SkBuff>? ErrorReport { get; set; }

    public IEnumerable<NeighbourEntry> Entries => _entries.Values;

    /// <summary>Packets waiting in every entry's queue for resolution (what `ip neigh` does not show).</summary>
    public int QueuedPackets
    {
        get
        {
            int n = 0;
            foreach (var e in _entries.Values) n += e.ArpQueue.Count;
            return n;
        }
    }

    public NeighbourEntry? Lookup(NetDevice dev, Ipv4Address key)
    {
        Stats.Lookups++;
        if (_entries.TryGetValue((dev.IfIndex, key.Value), out var n))
        {
            Stats.Hits++;
            return n;
        }
        return null;
    }

    /// <summary>
    /// __neigh_lookup(create=true) / neigh_alloc(): a full table (gc_thresh3, or gc_thresh2 with no flush for
    /// 5 s) first forces a collection; at gc_thresh3 with nothing to collect no entry is made (table_fulls).
    /// </summary>
    /// <remarks>Linux: net/core/neighbour.c neigh_alloc(), ___neigh_create()</remarks>
    public NeighbourEntry? LookupOrCreate(NetDevice dev, Ipv4Address key)
    {
        if (Lookup(dev, key) is { } n) return n;
        var now = _scheduler.Now;
        int entries = _entries.Count;
        if (entries >= Params.GcThresh3 || (entries >= Params.GcThresh2 && now > _lastFlush + Duration.FromSeconds(5)))
        {
            if (ForcedGc() == 0 && entries >= Params.GcThresh3)
            {
                Stats.TableFulls++; // "neighbor table overflow!"
                return null;
            }
        }
        n = new NeighbourEntry(this, dev, key)
        {
            ReachableTime = RandomReachableTime(),
            Updated = now,
            Used = now,
        };
        _entries.Add((dev.IfIndex, key.Value), n);
        Stats.Allocs++;
        if (_entries.Count >= Params.GcThresh1 && !_periodicGc.IsArmed) _periodicGc.Arm(now + Params.BaseReachableTime / 2);
        return n;
    }

    /// <summary>
    /// neigh_forced_gc(): drop entries no longer worth keeping — FAILED, NOARP, or not updated for 5 s — until
    /// the table is back at gc_thresh2.
    /// </summary>
    /// <remarks>Linux: net/core/neighbour.c neigh_forced_gc()</remarks>
    private int ForcedGc()
    {
        Stats.ForcedGcRuns++;
        int maxClean = _entries.Count - Params.GcThresh2;
        var now = _scheduler.Now;
        int shrunk = 0;
        foreach (var n in _entries.Values.ToArray())
        {
            if (shrunk >= maxClean) break;
            if (n.State == NudState.Permanent) continue;
            if (n.State is NudState.Failed or NudState.NoArp || now - n.Updated > Duration.FromSeconds(5))
            {
                Destroy(n);
                shrunk++;
            }
        }
        _lastFlush = now;
        return shrunk;
    }

    /// <summary>
    /// neigh_periodic_work(): every base_reachable_time/2 while the table holds gc_thresh1 entries or more,
    /// entries outside the timer states that FAILED or went unused for gc_stale_time go. (The work only runs
    /// while there is something to collect, so an idle simulation stays idle.)
    /// </summary>
    /// <remarks>Linux: net/core/neighbour.c neigh_periodic_work()</remarks>
    private void PeriodicGc()
    {
        if (_entries.Count < Params.GcThresh1) return;
        Stats.PeriodicGcRuns++;
        var now = _scheduler.Now;
        foreach (var n in _entries.Values.ToArray())
        {
            if (n.State.Has(NudState.Permanent | NudState.Incomplete | NudState.Reachable | NudState.Delay | NudState.Probe)) continue;
            if (n.Used < n.Confirmed && n.Confirmed <= now) n.Used = n.Confirmed;
            if (n.State == NudState.Failed || now - n.Used > Params.GcStaleTime) Destroy(n);
        }
        if (_entries.Count >= Params.GcThresh1) _periodicGc.Arm(now + Params.BaseReachableTime / 2);
    }

    /// <summary>neigh_destroy(): the entry leaves the table; what waited for it is dropped.</summary>
    private void Destroy(NeighbourEntry n)
    {
        n.Timer.Disarm();
        n.ArpQueue.Purge(SkbDropReason.NeighDead);
        _entries.Remove((n.Device.IfIndex, n.Key.Value));
        Stats.Destroys++;
    }

    /// <summary>neigh_rand_reach_time(): uniformly in [base/2, 3·base/2).</summary>
    private Duration RandomReachableTime()
    {
        long b = Params.BaseReachableTime.Nanoseconds;
        return Duration.FromNanoseconds(b / 2 + (long)(_random.NextDouble() * b));
    }

    /// <summary>
    /// neigh_output(): takes ownership of an IP packet for <paramref name="n"/>. Connected entries prepend the
    /// cached header and go to dev_queue_xmit; others resolve first (the packet may wait in the ARP queue).
    /// Returns the device's NET_XMIT code, 0 when queued, or a negative errno.
    /// </summary>
    public int Output(NeighbourEntry n, SkBuff skb)
    {
        if (n.State.Has(NudStates.Connected)) return HeaderOutput(n, skb);
        return ResolveOutput(n, skb);
    }

    /// <summary>neigh_resolve_output(): resolve (or queue), then send with the current address.</summary>
    private int ResolveOutput(NeighbourEntry n, SkBuff skb)
    {
        if (EventSend(n, skb)) return NetXmit.Success; // queued (or dropped with the queue) while resolving
        return HeaderOutput(n, skb);
    }

    /// <summary>neigh_hh_output(): copy the cached Ethernet header in front and queue on the device.</summary>
    private static int HeaderOutput(NeighbourEntry n, SkBuff skb)
    {
        n.HeaderCache.CopyTo(skb.Push(EthernetFrame.HeaderLength));
        skb.MacHeader = skb.DataOffset;
        skb.Protocol = EtherType.Ipv4;
        return n.Device.QueueXmit(skb);
    }

    /// <summary>
    /// neigh_event_send(): true when the packet was taken (queued for resolution, or dropped); false when the
    /// caller should send it now. Starts resolution from NONE/FAILED and moves STALE to DELAY.
    /// </summary>
    /// <remarks>Linux: net/core/neighbour.c __neigh_event_send()</remarks>
    private bool EventSend(NeighbourEntry n, SkBuff skb)
    {
        var now = _scheduler.Now;
        n.Used = now;
        if (n.State.Has(NudStates.Connected | NudState.Delay | NudState.Probe)) return false;

        bool immediateProbe = false;
        if (n.State is NudState.None or NudState.Failed)
        {
            if (Params.McastSolicit + Params.AppSolicit > 0)
            {
                n.Probes = Params.UcastSolicit;
                n.State = NudState.Incomplete;
                n.Updated = now;
                n.Timer.Arm(now + Duration.Max(Params.RetransTime, Duration.FromMilliseconds(10)));
                immediateProbe = true;
            }
            else
            {
                n.State = NudState.Failed;
                n.Updated = now;
                Stats.ResFailed++;
                skb.Free(SkbDropReason.NeighFailed);
                return true;
            }
        }
        else if (n.State == NudState.Stale)
        {
            n.State = NudState.Delay;
            n.Updated = now;
            n.Timer.Arm(now + Params.DelayFirstProbeTime);
            return false;
        }

        if (n.State == NudState.Incomplete)
        {
            // Queue, dropping the oldest while the queue's truesize would exceed the limit.
            while (n.ArpQueue.TruesizeSum + skb.Truesize > Params.QueueLenBytes && n.ArpQueue.Dequeue() is { } old)
            {
                Stats.UnresolvedDiscards++;
                old.Free(SkbDropReason.NeighQueueFull);
            }
            if (skb.Truesize > Params.QueueLenBytes)
            {
                Stats.UnresolvedDiscards++;
                skb.Free(SkbDropReason.NeighQueueFull);
            }
            else n.ArpQueue.Enqueue(skb);
        }
        if (immediateProbe) Probe(n);
        return true;
    }

    /// <summary>neigh_probe(): solicit (with the newest queued packet for the source address) and count the probe.</summary>
    private void Probe(NeighbourEntry n)
    {
        Stats.Probes++;
        Solicitor?.Solicit(n, n.ArpQueue.PeekTail());
        n.Probes++;
    }

    /// <summary>neigh_max_probes(): unicast + application + multicast probes (plus the reprobes in PROBE).</summary>
    /// <remarks>Linux: net/core/neighbour.c neigh_max_probes()</remarks>
    private int MaxProbes(NeighbourEntry n) =>
        Params.UcastSolicit + Params.AppSolicit + (n.State == NudState.Probe ? Params.McastResolicit : Params.McastSolicit);

    /// <summary>neigh_timer_handler(): REACHABLE ages to DELAY or STALE, DELAY to REACHABLE or PROBE, INCOMPLETE/PROBE retry or fail.</summary>
    internal void OnTimer(NeighbourEntry n)
    {
        var now = _scheduler.Now;
        var state = n.State;
        if (!state.Has(NudStates.InTimer)) return;
        var next = now + Duration.FromSeconds(1);

        if (state == NudState.Reachable)
        {
            if (now <= n.Confirmed + n.ReachableTime) next = n.Confirmed + n.ReachableTime;
            else if (now <= n.Used + Params.DelayFirstProbeTime)
            {
                n.State = NudState.Delay;
                n.Updated = now;
                next = now + Params.DelayFirstProbeTime;
            }
            else
            {
                n.State = NudState.Stale;
                n.Updated = now;
            }
        }
        else if (state == NudState.Delay)
        {
            if (now <= n.Confirmed + Params.DelayFirstProbeTime)
            {
                n.State = NudState.Reachable;
                n.Updated = now;
                next = n.Confirmed + n.ReachableTime;
            }
            else
            {
                n.State = NudState.Probe;
                n.Updated = now;
                n.Probes = 0;
                next = now + Duration.Max(Params.RetransTime, Duration.FromMilliseconds(10));
            }
        }
        else
        {
            next = now + Duration.Max(Params.RetransTime, Duration.FromMilliseconds(10));
        }

        if (n.State.Has(NudState.Incomplete | NudState.Probe) && n.Probes >= MaxProbes(n))
        {
            n.State = NudState.Failed;
            n.Updated = now;
            Stats.ResFailed++;
            Invalidate(n);
            return;
        }

        if (n.State.Has(NudStates.InTimer))
        {
            if (next < now + Duration.FromMilliseconds(10)) next = now + Duration.FromMilliseconds(10);
            n.Timer.Arm(next);
        }
        if (n.State.Has(NudState.Incomplete | NudState.Probe)) Probe(n);
    }

    /// <summary>neigh_invalidate(): resolution failed; report and drop every waiting packet.</summary>
    private void Invalidate(NeighbourEntry n)
    {
        while (n.ArpQueue.Dequeue() is { } skb)
        {
            ErrorReport?.Invoke(skb);
            skb.Free(SkbDropReason.NeighFailed);
        }
    }

    /// <summary>
    /// neigh_update(): a new link address and/or state learned (ARP reply, request, admin). Without
    /// <paramref name="overrideAddress"/> a valid entry keeps a different address. Leaving an invalid state
    /// sends the queued packets.
    /// </summary>
    /// <remarks>Linux: net/core/neighbour.c __neigh_update()</remarks>
    public void Update(NeighbourEntry n, MacAddress? linkAddress, NudState newState, bool overrideAddress, bool admin = false)
    {
        var now = _scheduler.Now;
        var old = n.State;

        // Only the administrator changes a PERMANENT or NOARP entry: ARP packets (a spoofed reply) cannot.
        if (!admin && old.Has(NudState.NoArp | NudState.Permanent)) return;

        if (!newState.Has(NudStates.Valid))
        {
            n.Timer.Disarm();
            n.State = newState;
            if (old.Has(NudState.Incomplete | NudState.Probe) && newState == NudState.Failed) Invalidate(n);
            return;
        }

        MacAddress lladdr;
        if (linkAddress is { } given) lladdr = given;
        else if (!old.Has(NudStates.Valid)) return; // nothing to learn from
        else lladdr = n.LinkAddress;

        if (newState.Has(NudStates.Connected)) n.Confirmed = now;

        if (old.Has(NudStates.Valid))
        {
            if (lladdr != n.LinkAddress && !overrideAddress) return;
            if (lladdr == n.LinkAddress && newState == NudState.Stale) newState = old;
        }

        if (newState != old || lladdr != n.LinkAddress) n.Updated = now;
        if (newState != old)
        {
            n.Timer.Disarm();
            if (newState == NudState.Probe) n.Probes = 0;
            if (newState.Has(NudStates.InTimer))
                n.Timer.Arm(now + (newState == NudState.Reachable ? n.ReachableTime : Duration.Zero));
            n.State = newState;
        }
        if (lladdr != n.LinkAddress || !old.Has(NudStates.Valid))
        {
            n.LinkAddress = lladdr;
            n.UpdateHeaderCache();
            if (!newState.Has(NudStates.Connected)) n.Confirmed = now - Params.BaseReachableTime * 2;
        }
        if (newState == old) return;

        if (!old.Has(NudStates.Valid))
        {
            // The address is known now: send what waited for it, in order.
            while (n.State.Has(NudStates.Valid) && n.ArpQueue.Dequeue() is { } skb) Output(n, skb);
            n.ArpQueue.Purge(SkbDropReason.NeighDead);
        }
    }

    /// <summary>neigh_confirm(): an upper layer saw forward progress (e.g. a TCP ACK, MSG_CONFIRM).</summary>
    public void Confirm(NeighbourEntry n) => n.Confirmed = _scheduler.Now;

    /// <summary>Adds a permanent entry (`ip neigh add … nud permanent`).</summary>
    public NeighbourEntry AddPermanent(NetDevice dev, Ipv4Address key, MacAddress mac)
    {
        var n = LookupOrCreate(dev, key) ?? throw new InvalidOperationException("neighbour table full");
        Update(n, mac, NudState.Permanent, overrideAddress: true, admin: true);
        return n;
    }

    /// <summary>Frees every queued packet and stops every timer (host shutdown).</summary>
    public void Flush()
    {
        foreach (var n in _entries.Values)
        {
            n.Timer.Disarm();
            n.ArpQueue.Purge(SkbDropReason.NeighDead);
        }
    }
}
