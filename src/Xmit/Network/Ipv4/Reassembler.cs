using Xmit.Buffers;
using Xmit.Diagnostics;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Network.Ipv4;

/// <summary>
/// IPv4 reassembly: fragments are queued per (source, destination, ID, protocol) in offset order; a datagram
/// is rebuilt when the first and last fragments are in and no gap remains. Overlaps kill the whole queue
/// (RFC 5722 behaviour), a queue not completed within 30 s times out (with ICMP time exceeded if its first
/// fragment arrived), and fragments are refused while queued fragments use more than the memory limit.
/// </summary>
/// <remarks>Linux: net/ipv4/ip_fragment.c ip_defrag(), ip_frag_queue(), ip_frag_reasm(), ip_expire(); net/ipv4/inet_fragment.c inet_frag_find()</remarks>
public sealed class Reassembler
{
    private readonly Dictionary<(uint Src, uint Dst, ushort Id, byte Proto), FragQueue> _queues = new();
    private readonly SkBuffPool _pool;
    private readonly IScheduler _clock;
    private readonly IpMib _mib;

    public Reassembler(SkBuffPool pool, IScheduler clock, SnmpMib mib)
    {
        _pool = pool;
        _clock = clock;
        _mib = mib.Ip;
    }

    /// <summary>ipfrag_time.</summary>
    public Duration Timeout { get; init; } = Duration.FromSeconds(30);

    /// <summary>ipfrag_high_thresh: truesize of queued fragments above which new fragments are refused.</summary>
    public long HighThreshold { get; init; } = 4 * 1024 * 1024;

    /// <summary>Truesize of all queued fragments (frag_mem_limit).</summary>
    public long Memory { get; private set; }

    public int Queues => _queues.Count;

    /// <summary>Fragments held in every queue, waiting for the rest of their datagram.</summary>
    public int HeldFragments
    {
        get
        {
            int n = 0;
            foreach (var q in _queues.Values) n += q.Fragments.Count;
            return n;
        }
    }

    /// <summary>Overlapping fragments seen (IpExt ReasmOverlaps).</summary>
    public long Overlaps { get; private set; }

    /// <summary>Called when a queue with its first fragment times out: send ICMP time exceeded about that fragment.</summary>
    public Action<SkBuff>? OnTimeout { get; set; }

    /// <summary>
    /// ip_defrag(): takes ownership of a fragment (skb->data at the IP header). Returns the reassembled
    /// datagram (IP header at skb->data) when this fragment completed one, else null.
    /// </summary>
    public SkBuff? Defrag(SkBuff skb)
    {
        _mib.ReasmReqds++;
        if (Memory > HighThreshold)
        {
            _mib.ReasmFails++;
            skb.Free(SkbDropReason.FragTooFar);
            return null;
        }
        var ip = Header(skb);
        var key = (ip.Source.Value, ip.Destination.Value, ip.Identification, ip.Protocol);
        if (!_queues.TryGetValue(key, out var q))
        {
            q = new FragQueue(this, key);
            _queues.Add(key, q);
            q.Timer.Arm(_clock.Now + Timeout);
        }
        return Queue(q, skb);
    }

    private SkBuff? Queue(FragQueue q, SkBuff skb)
    {
        var ip = Header(skb);
        int hlen = ip.HeaderLength;
        int offset = ip.FragmentOffset;
        int end = offset + ip.TotalLength - hlen;
        bool last = !ip.MoreFragments;

        if (last)
        {
            // The last fragment fixes the length; it must not contradict what we already have.
            if (end < q.Length || q.LastIn && end != q.Length) { Kill(q, skb); return null; }
            q.LastIn = true;
            q.Length = end;
        }
        else
        {
            end &= ~7;
            if (end > q.Length)
            {
                if (q.LastIn) { Kill(q, skb); return null; }
                q.Length = end;
            }
        }
        if (end == offset) { Kill(q, skb); return null; }

        // Keep the fragment's payload length in the cb; the header stays for the first fragment's sake.
        skb.Cb.Offset = offset;
        skb.Cb.Flags = end - offset;

        // Insert in offset order; any overlap with a neighbour kills the queue.
        SkBuff? after = q.Fragments.PeekTail();
        while (after is not null && after.Cb.Offset > offset) after = SkBuffQueue.PrevOf(after);
        var before = after is null ? q.Fragments.Peek() : SkBuffQueue.NextOf(after);
        if (after is not null && after.Cb.Offset + after.Cb.Flags > offset ||
            before is not null && end > before.Cb.Offset)
        {
            bool duplicate = after is not null && after.Cb.Offset == offset && after.Cb.Flags == end - offset;
            if (duplicate) { skb.Free(SkbDropReason.FragOverlap); return null; }
            Overlaps++;
            Kill(q, skb);
            return null;
        }
        q.Fragments.InsertAfter(after, skb);
        q.Meat += end - offset;
        Memory += skb.Truesize;
        q.Memory += skb.Truesize;
        if (offset == 0) q.FirstIn = true;

        if (q.FirstIn && q.LastIn && q.Meat == q.Length) return Reassemble(q);
        return null;
    }

    /// <summary>
    /// ip_frag_reasm(): one datagram, charged with the truesize of all its fragments — unless it would be
    /// longer than an IPv4 datagram can be (65535 bytes): then the fragments are dropped (ReasmFails).
    /// </summary>
    /// <remarks>Linux: net/ipv4/ip_fragment.c ip_frag_reasm() out_oversize</remarks>
    private SkBuff? Reassemble(FragQueue q)
    {
        var first = q.Fragments.Peek()!;
        var fip = Header(first);
        int hlen = fip.HeaderLength;
        int total = hlen + q.Length;
        if (total > 65535)
        {
            _mib.ReasmFails++;
            q.Fragments.Purge(SkbDropReason.PktTooBig);
            Remove(q);
            return null;
        }
        var skb = _pool.Alloc(total);
        skb.CopyMetadataFrom(first);
        var data = skb.Put(total);
        first.CopyBits(0, data[..hlen]);
        int truesize = 0;
        while (q.Fragments.Dequeue() is { } f)
        {
            var ip = Header(f);
            f.CopyBits(ip.HeaderLength, data.Slice(hlen + f.Cb.Offset, f.Cb.Flags));
            truesize += f.Truesize;
            f.Consume();
        }
        skb.Truesize = truesize;
        skb.NetworkHeader = skb.DataOffset;
        var rip = Header(skb);
        rip.TotalLength = (ushort)total;
        rip.FragmentField = 0;
        rip.FillChecksum();
        Remove(q);
        _mib.ReasmOKs++;
        return skb;
    }

    /// <summary>inet_frag_kill() after an inconsistent or overlapping fragment: everything queued goes, counted in ReasmFails.</summary>
    /// <remarks>Linux: net/ipv4/ip_fragment.c ip_frag_queue() discard_qp</remarks>
    private void Kill(FragQueue q, SkBuff skb)
    {
        _mib.ReasmFails++;
        skb.Free(SkbDropReason.FragOverlap);
        q.Fragments.Purge(SkbDropReason.FragOverlap);
        Remove(q);
    }

    /// <summary>ip_expire().</summary>
    private void Expire(FragQueue q)
    {
        _mib.ReasmFails++;
        _mib.ReasmTimeout++;
        if (q.FirstIn && q.Fragments.Peek() is { Cb.Offset: 0 } head) OnTimeout?.Invoke(head);
        q.Fragments.Purge(SkbDropReason.FragReasmTimeout);
        Remove(q);
    }

    private void Remove(FragQueue q)
    {
        Memory -= q.Memory;
        q.Timer.Disarm();
        _queues.Remove(q.Key);
    }

    /// <summary>Drops every queue (shutdown).</summary>
    public void Flush()
    {
        foreach (var q in _queues.Values.ToArray())
        {
            q.Fragments.Purge();
            Remove(q);
        }
    }

    private static Ipv4Packet Header(SkBuff skb)
    {
        if (!Ipv4Packet.TryCreate(skb.Data, out var ip)) ThrowHelper.Bug("fragment without an IPv4 header");
        return ip;
    }

    private sealed class FragQueue
    {
        public FragQueue(Reassembler owner, (uint, uint, ushort, byte) key)
        {
            Key = key;
            Timer = new Timer(owner._clock, () => owner.Expire(this), "ipfrag");
        }

        public (uint Src, uint Dst, ushort Id, byte Proto) Key { get; }
        public Timer Timer { get; }
        public SkBuffQueue Fragments { get; } = new();
        public int Length;
        public int Meat;
        public long Memory;
        public bool FirstIn;
        public bool LastIn;
    }
}
