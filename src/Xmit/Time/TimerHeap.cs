namespace Xmit.Time;

/// <summary>
/// Armed timers ordered by expiry, then by arming order, so equal expiries fire in the order they were armed.
/// An intrusive binary heap: each armed timer knows its entry, so re-arming moves it in place and disarming removes
/// it — the heap holds exactly the armed timers (no stale entries piling up behind a timer re-armed on every ACK),
/// arm and disarm cost O(log n), and nothing is allocated once the arrays have grown to the number of timers.
/// </summary>
/// <remarks>
/// Each slot carries its timer's key (expiry, arming order) and the timer's entry number, not the timer: a sift
/// compares keys in the array and moves plain values (no reads of timer objects, no GC write barrier per move), which
/// is most of what a simulation spends in its event loop. A timer holds an entry number only while armed.
/// <para>
/// A timer armed for the instant of the timer just taken (a softirq raised, a tasklet scheduled, a reader woken:
/// "run this now") joins a FIFO instead of the heap: O(1) in and out, no sift. The FIFO is in key order too (its
/// timers are armed in sequence for one instant, and join only at or after its tail's expiry), so taking the earlier
/// of the two heads gives exactly the order of one heap. An entry left behind by a timer re-armed or disarmed since
/// is stale (the timer's <see cref="Timer.DueSeq"/> no longer names it) and is skipped when it reaches the head.
/// </para>
/// <para>
/// The timer taken from the heap keeps its slot until the next take (it is disarmed all the same): a callback that re-arms
/// its own timer for later (a driver's next frame, a wire's next arrival) moves that slot down once, instead of the
/// last slot sifting down from the top and the timer sifting up from the bottom. Any heap of the same keys gives the
/// same order, so this changes no outcome.
/// </para>
/// </remarks>
public sealed class TimerHeap
{
    private struct Slot
    {
        public long Expires;
        public long Seq;
        public int Entry;
    }

    private struct DueEntry
    {
        public Timer Timer;
        public long Expires;
        public long Seq;
    }

    private Slot[] _heap = new Slot[256];
    private int _count;
    /// <summary>The due-now FIFO: a ring of <see cref="_dueCount"/> entries from <see cref="_dueHead"/>, stale ones included.</summary>
    private DueEntry[] _due = new DueEntry[64];
    private int _dueHead, _dueCount;
    /// <summary>Timers armed in the FIFO (its entries minus the stale ones).</summary>
    private int _dueArmed;
    /// <summary>The expiry of the timer last taken: the instant the owner is running.</summary>
    private long _lastTaken = long.MinValue;
    /// <summary>The entry of the timer last taken from the heap while its slot is still there (see the remarks), or -1.</summary>
    private int _pendingEntry = -1;
    /// <summary>By entry number: the armed timer, and its slot in the heap.</summary>
    private Timer?[] _timers = new Timer?[256];
    private int[] _slotOf = new int[256];
    /// <summary>Entry numbers of timers disarmed since, for reuse; those at or above <see cref="_entries"/> were never used.</summary>
    private int[] _freeEntries = new int[256];
    private int _free;
    private int _entries;
    private long _seq;

    public int Armed => _count - (_pendingEntry >= 0 ? 1 : 0) + _dueArmed;

    public void Arm(Timer timer, Instant when)
    {
        timer.Expires = when;
        // The arming order breaks ties between equal expiries.
        long seq = _seq++;
        if (when.Nanoseconds == _lastTaken && (_dueCount == 0 || DueTail.Expires <= _lastTaken))
        {
            ArmDue(timer, seq);
            return;
        }
        if (timer.DueSeq >= 0)
        {
            // Leaves the FIFO (its entry there goes stale) for the heap.
            timer.DueSeq = -1;
            _dueArmed--;
        }
        var slot = new Slot { Expires = when.Nanoseconds, Seq = seq, Entry = timer.HeapEntry };
        if (slot.Entry < 0)
        {
            slot.Entry = timer.HeapEntry = NewEntry(timer);
            if (_count == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
            SiftUp(_count++, slot);
        }
        else
        {
            // A later key (the usual re-arm) sinks, an earlier one rises; the timer just taken re-armed keeps its slot.
            if (slot.Entry == _pendingEntry) _pendingEntry = -1;
            int i = _slotOf[slot.Entry];
            if (i > 0 && Before(slot, _heap[(i - 1) >> 1])) SiftUp(i, slot);
            else SiftDown(i, slot);
        }
    }

    public void Disarm(Timer timer)
    {
        if (timer.DueSeq >= 0)
        {
            timer.DueSeq = -1; // its FIFO entry goes stale
            _dueArmed--;
            timer.Expires = Instant.Never;
            return;
        }
        if (timer.HeapEntry < 0) return;
        RemoveAt(_slotOf[timer.HeapEntry]);
        timer.Expires = Instant.Never;
    }

    /// <summary>When the next timer fires, or <see cref="Instant.Never"/>.</summary>
    public Instant Next
    {
        get
        {
            DropPending();
            SkipStaleDue();
            if (_dueCount > 0 && (_count == 0 || DueFirst(_due[_dueHead], _heap[0]))) return new Instant(_due[_dueHead].Expires);
            return _count > 0 ? new Instant(_heap[0].Expires) : Instant.Never;
        }
    }

    /// <summary>Removes and returns the next timer due at or before <paramref name="limit"/>, disarmed; null if none.</summary>
    public Timer? TakeDue(Instant limit, out Instant when)
    {
        when = default;
        DropPending();
        SkipStaleDue();
        Timer timer;
        if (_dueCount > 0 && (_count == 0 || DueFirst(_due[_dueHead], _heap[0])))
        {
            ref var head = ref _due[_dueHead];
            if (head.Expires > limit.Nanoseconds) return null;
            timer = head.Timer;
            when = new Instant(head.Expires);
            PopDue();
            timer.DueSeq = -1;
            _dueArmed--;
        }
        else
        {
            if (_count == 0 || _heap[0].Expires > limit.Nanoseconds) return null;
            timer = _timers[_heap[0].Entry]!;
            when = new Instant(_heap[0].Expires);
            _pendingEntry = _heap[0].Entry; // removed at the next take unless the callback re-arms it
        }
        _lastTaken = when.Nanoseconds;
        timer.Expires = Instant.Never;
        return timer;
    }

    /// <summary>Removes the slot of the timer last taken, if its callback did not re-arm it.</summary>
    private void DropPending()
    {
        if (_pendingEntry >= 0) RemoveAt(_slotOf[_pendingEntry]);
    }

    private ref DueEntry DueTail => ref _due[(_dueHead + _dueCount - 1) & (_due.Length - 1)];

    /// <summary>Whether the FIFO's head <paramref name="d"/> comes before the heap's top <paramref name="h"/>.</summary>
    private static bool DueFirst(in DueEntry d, in Slot h) => d.Expires < h.Expires || (d.Expires == h.Expires && d.Seq < h.Seq);

    /// <summary>Appends <paramref name="timer"/> to the due-now FIFO with the arming number <paramref name="seq"/>, out of the heap if it was there.</summary>
    private void ArmDue(Timer timer, long seq)
    {
        if (timer.HeapEntry >= 0)
        {
            RemoveAt(_slotOf[timer.HeapEntry]); // from the heap (or the slot of the timer just taken) to the FIFO
            _dueArmed++;
        }
        else if (timer.DueSeq < 0) _dueArmed++;
        // else: re-armed for now while already in the FIFO: its old entry goes stale, the new one is at the tail
        timer.DueSeq = seq;
        if (_dueCount == _due.Length) GrowDue();
        ref var e = ref _due[(_dueHead + _dueCount++) & (_due.Length - 1)];
        e.Timer = timer;
        e.Expires = _lastTaken;
        e.Seq = seq;
    }

    private void PopDue()
    {
        _due[_dueHead].Timer = null!; // a fired or disarmed timer is not kept alive by the FIFO
        _dueHead = (_dueHead + 1) & (_due.Length - 1);
        _dueCount--;
    }

    private void SkipStaleDue()
    {
        while (_dueCount > 0 && _due[_dueHead].Timer.DueSeq != _due[_dueHead].Seq) PopDue();
    }

    /// <summary>Doubles the ring (a power of two, so an index wraps with a mask), unrolling it from the head.</summary>
    private void GrowDue()
    {
        var bigger = new DueEntry[_due.Length * 2];
        for (int i = 0; i < _dueCount; i++) bigger[i] = _due[(_dueHead + i) & (_due.Length - 1)];
        _due = bigger;
        _dueHead = 0;
    }

    private int NewEntry(Timer timer)
    {
        int e;
        if (_free > 0) e = _freeEntries[--_free];
        else
        {
            e = _entries++;
            if (e == _timers.Length)
            {
                Array.Resize(ref _timers, e * 2);
                Array.Resize(ref _slotOf, e * 2);
                Array.Resize(ref _freeEntries, e * 2);
            }
        }
        _timers[e] = timer;
        return e;
    }

    private void RemoveAt(int i)
    {
        int entry = _heap[i].Entry;
        if (entry == _pendingEntry) _pendingEntry = -1;
        _timers[entry]!.HeapEntry = -1;
        _timers[entry] = null; // a disarmed timer is not kept alive by the heap
        _freeEntries[_free++] = entry;
        int last = --_count;
        var moved = _heap[last];
        if (i == last) return;
        if (i > 0 && Before(moved, _heap[(i - 1) >> 1])) SiftUp(i, moved);
        else SiftDown(i, moved);
    }

    private static bool Before(in Slot a, in Slot b) => a.Expires < b.Expires || (a.Expires == b.Expires && a.Seq < b.Seq);

    /// <summary>Puts <paramref name="s"/> at the hole <paramref name="i"/> or above it.</summary>
    private void SiftUp(int i, Slot s)
    {
        var heap = _heap;
        var slotOf = _slotOf;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(s, heap[parent])) break;
            heap[i] = heap[parent];
            slotOf[heap[i].Entry] = i;
            i = parent;
        }
        heap[i] = s;
        slotOf[s.Entry] = i;
    }

    /// <summary>Puts <paramref name="s"/> at the hole <paramref name="i"/> or below it.</summary>
    private void SiftDown(int i, Slot s)
    {
        var heap = _heap;
        var slotOf = _slotOf;
        int n = _count;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && Before(heap[child + 1], heap[child])) child++;
            if (!Before(heap[child], s)) break;
            heap[i] = heap[child];
            slotOf[heap[i].Entry] = i;
            i = child;
        }
        heap[i] = s;
        slotOf[s.Entry] = i;
    }
}
