namespace Xmit.Time;

/// <summary>
/// Armed timers ordered by expiry, then by arming order, so equal expiries fire in the order they were armed.
/// An intrusive binary heap: each timer knows its slot, so re-arming moves it in place and disarming removes it —
/// the heap holds exactly the armed timers (no stale entries piling up behind a timer re-armed on every ACK),
/// arm and disarm cost O(log n), and nothing is allocated once the array has grown to the number of timers.
/// </summary>
/// <remarks>
/// Each slot carries its timer's key (expiry, arming sequence) beside the timer: a sift compares keys in the array
/// instead of reading two timer objects per level, which is most of what a simulation spends in its event loop.
/// </remarks>
public sealed class TimerHeap
{
    private struct Slot
    {
        public long Expires;
        public long Seq;
        public Timer Timer;
    }

    private Slot[] _heap = new Slot[256];
    private long _seq;

    public int Armed { get; private set; }

    public void Arm(Timer timer, Instant when)
    {
        timer.Expires = when;
        // The arming order breaks ties between equal expiries.
        long seq = _seq++;
        int i = timer.HeapIndex;
        if (i < 0)
        {
            if (Armed == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
            i = Armed++;
            SiftUp(i, new Slot { Expires = when.Nanoseconds, Seq = seq, Timer = timer });
        }
        else
        {
            // A later key (the usual re-arm) sinks, an earlier one rises.
            var slot = new Slot { Expires = when.Nanoseconds, Seq = seq, Timer = timer };
            if (i > 0 && Before(slot, _heap[(i - 1) >> 1])) SiftUp(i, slot);
            else SiftDown(i, slot);
        }
    }

    public void Disarm(Timer timer)
    {
        if (timer.HeapIndex < 0) return;
        RemoveAt(timer.HeapIndex);
        timer.Expires = Instant.Never;
    }

    /// <summary>When the next timer fires, or <see cref="Instant.Never"/>.</summary>
    public Instant Next => Armed > 0 ? new Instant(_heap[0].Expires) : Instant.Never;

    /// <summary>Removes and returns the next timer due at or before <paramref name="limit"/>, disarmed; null if none.</summary>
    public Timer? TakeDue(Instant limit, out Instant when)
    {
        when = default;
        if (Armed == 0 || _heap[0].Expires > limit.Nanoseconds) return null;
        var timer = _heap[0].Timer;
        when = new Instant(_heap[0].Expires);
        RemoveAt(0);
        timer.Expires = Instant.Never;
        return timer;
    }

    private void RemoveAt(int i)
    {
        _heap[i].Timer.HeapIndex = -1;
        int last = --Armed;
        var moved = _heap[last];
        _heap[last] = default;
        if (i == last) return;
        if (i > 0 && Before(moved, _heap[(i - 1) >> 1])) SiftUp(i, moved);
        else SiftDown(i, moved);
    }

    private static bool Before(in Slot a, in Slot b) => a.Expires < b.Expires || (a.Expires == b.Expires && a.Seq < b.Seq);

    /// <summary>Puts <paramref name="s"/> at the hole <paramref name="i"/> or above it.</summary>
    private void SiftUp(int i, Slot s)
    {
        var heap = _heap;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(s, heap[parent])) break;
            Place(heap, heap[parent], i);
            i = parent;
        }
        Place(heap, s, i);
    }

    /// <summary>Puts <paramref name="s"/> at the hole <paramref name="i"/> or below it.</summary>
    private void SiftDown(int i, Slot s)
    {
        var heap = _heap;
        int n = Armed;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && Before(heap[child + 1], heap[child])) child++;
            if (!Before(heap[child], s)) break;
            Place(heap, heap[child], i);
            i = child;
        }
        Place(heap, s, i);
    }

    private static void Place(Slot[] heap, in Slot s, int i)
    {
        heap[i] = s;
        s.Timer.HeapIndex = i;
    }
}
