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
/// </remarks>
public sealed class TimerHeap
{
    private struct Slot
    {
        public long Expires;
        public long Seq;
        public int Entry;
    }

    private Slot[] _heap = new Slot[256];
    /// <summary>By entry number: the armed timer, and its slot in the heap.</summary>
    private Timer?[] _timers = new Timer?[256];
    private int[] _slotOf = new int[256];
    /// <summary>Entry numbers of timers disarmed since, for reuse; those at or above <see cref="_entries"/> were never used.</summary>
    private int[] _freeEntries = new int[256];
    private int _free;
    private int _entries;
    private long _seq;

    public int Armed { get; private set; }

    public void Arm(Timer timer, Instant when)
    {
        timer.Expires = when;
        // The arming order breaks ties between equal expiries.
        var slot = new Slot { Expires = when.Nanoseconds, Seq = _seq++, Entry = timer.HeapEntry };
        if (slot.Entry < 0)
        {
            slot.Entry = timer.HeapEntry = NewEntry(timer);
            if (Armed == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
            SiftUp(Armed++, slot);
        }
        else
        {
            // A later key (the usual re-arm) sinks, an earlier one rises.
            int i = _slotOf[slot.Entry];
            if (i > 0 && Before(slot, _heap[(i - 1) >> 1])) SiftUp(i, slot);
            else SiftDown(i, slot);
        }
    }

    public void Disarm(Timer timer)
    {
        if (timer.HeapEntry < 0) return;
        RemoveAt(_slotOf[timer.HeapEntry]);
        timer.Expires = Instant.Never;
    }

    /// <summary>When the next timer fires, or <see cref="Instant.Never"/>.</summary>
    public Instant Next => Armed > 0 ? new Instant(_heap[0].Expires) : Instant.Never;

    /// <summary>Removes and returns the next timer due at or before <paramref name="limit"/>, disarmed; null if none.</summary>
    public Timer? TakeDue(Instant limit, out Instant when)
    {
        when = default;
        if (Armed == 0 || _heap[0].Expires > limit.Nanoseconds) return null;
        var timer = _timers[_heap[0].Entry]!;
        when = new Instant(_heap[0].Expires);
        RemoveAt(0);
        timer.Expires = Instant.Never;
        return timer;
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
        _timers[entry]!.HeapEntry = -1;
        _timers[entry] = null; // a disarmed timer is not kept alive by the heap
        _freeEntries[_free++] = entry;
        int last = --Armed;
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
        int n = Armed;
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
