namespace Xmit.Time;

/// <summary>
/// Armed timers ordered by expiry, then by arming order, so equal expiries fire in the order they were armed.
/// An intrusive binary heap: each timer knows its slot, so re-arming moves it in place and disarming removes it —
/// the heap holds exactly the armed timers (no stale entries piling up behind a timer re-armed on every ACK),
/// arm and disarm cost O(log n), and nothing is allocated once the array has grown to the number of timers.
/// </summary>
public sealed class TimerHeap
{
    private Timer[] _heap = new Timer[256];
    private long _seq;

    public int Armed { get; private set; }

    public void Arm(Timer timer, Instant when)
    {
        timer.Expires = when;
        timer.ArmSeq = _seq++;
        if (timer.HeapIndex < 0)
        {
            if (Armed == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
            timer.HeapIndex = Armed;
            _heap[Armed++] = timer;
            SiftUp(timer.HeapIndex);
        }
        else
        {
            // A later key (the usual re-arm) sinks, an earlier one rises.
            SiftUp(timer.HeapIndex);
            SiftDown(timer.HeapIndex);
        }
    }

    public void Disarm(Timer timer)
    {
        if (timer.HeapIndex < 0) return;
        RemoveAt(timer.HeapIndex);
        timer.Expires = Instant.Never;
    }

    /// <summary>When the next timer fires, or <see cref="Instant.Never"/>.</summary>
    public Instant Next => Armed > 0 ? _heap[0].Expires : Instant.Never;

    /// <summary>Removes and returns the next timer due at or before <paramref name="limit"/>, disarmed; null if none.</summary>
    public Timer? TakeDue(Instant limit, out Instant when)
    {
        when = default;
        if (Armed == 0 || _heap[0].Expires > limit) return null;
        var timer = _heap[0];
        when = timer.Expires;
        RemoveAt(0);
        timer.Expires = Instant.Never;
        return timer;
    }

    private void RemoveAt(int i)
    {
        var removed = _heap[i];
        removed.HeapIndex = -1;
        int last = --Armed;
        if (i != last)
        {
            _heap[i] = _heap[last];
            _heap[i].HeapIndex = i;
            SiftUp(i);
            SiftDown(i);
        }
        _heap[last] = null!;
    }

    private static bool Before(Timer a, Timer b) => a.Expires < b.Expires || (a.Expires == b.Expires && a.ArmSeq < b.ArmSeq);

    private void SiftUp(int i)
    {
        var t = _heap[i];
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(t, _heap[parent])) break;
            Place(_heap[parent], i);
            i = parent;
        }
        Place(t, i);
    }

    private void SiftDown(int i)
    {
        var t = _heap[i];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= Armed) break;
            if (child + 1 < Armed && Before(_heap[child + 1], _heap[child])) child++;
            if (!Before(_heap[child], t)) break;
            Place(_heap[child], i);
            i = child;
        }
        Place(t, i);
    }

    private void Place(Timer t, int i)
    {
        _heap[i] = t;
        t.HeapIndex = i;
    }
}
