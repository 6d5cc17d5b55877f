using Xmit.Time;

namespace Xmit.Cli;

/// <summary>
/// `--app stream`: A's application produces one write-size message every interval (write size × 8 / --stream-rate),
/// from the accept on, and writes it at once; what the socket does not take (EAGAIN, a short write) waits in the
/// application, in order, and is written at the next EPOLLOUT. Each message has a write latency (due → the socket
/// took its last byte) and a delivery latency (due → B read its last byte).
/// </summary>
public sealed partial class TcpBulk
{
    private Timer? _tick;
    private long _ticks, _offered, _appBacklogMax;
    private bool _messageOpen;
    /// <summary>Messages produced and not yet written whole / not yet read whole by B: when each was due and where it ends in the stream.</summary>
    private readonly Queue<(Instant Due, long End)> _unwritten = new(), _undelivered = new();
    private readonly List<long> _writeNs = [], _deliveryNs = [];

    private void StartStream()
    {
        _tick = new Timer(_sim.Scheduler, StreamTick, "stream tick");
        _tick.Arm(_start);
    }

    /// <summary>The application's clock: the next message is due; it is written now, after any still waiting.</summary>
    private void StreamTick()
    {
        if (_ended) return;
        _ticks++;
        _offered += _c.WriteSize;
        _unwritten.Enqueue((_sim.Now, _offered));
        _undelivered.Enqueue((_sim.Now, _offered));
        var next = _start + _c.StreamInterval * _ticks; // from the start, so rounding never drifts
        if (next < _end) _tick!.Arm(next);
        WriteStream();
        _appBacklogMax = Math.Max(_appBacklogMax, _offered - _bytesWritten);
    }

    /// <summary>Writes the waiting messages in order until the socket refuses (then again at EPOLLOUT).</summary>
    private void WriteStream()
    {
        if (_ended) return;
        while (_unwritten.TryPeek(out var m))
        {
            if (!_messageOpen)
            {
                BeginMessage((int)(m.End - _bytesWritten));
                _messageOpen = true;
            }
            if (!WriteMessage()) return;
            _messageOpen = false;
            _unwritten.Dequeue();
            _writeNs.Add((_sim.Now - m.Due).Nanoseconds);
        }
    }

    /// <summary>B read more: the messages it now has whole are delivered.</summary>
    private void StreamDelivered()
    {
        if (_ended) return;
        while (_undelivered.TryPeek(out var m) && _received >= m.End)
        {
            _undelivered.Dequeue();
            _deliveryNs.Add((_sim.Now - m.Due).Nanoseconds);
        }
    }

    private TcpStream BuildStream(double seconds) => new(_c.StreamRateBitsPerSecond, _c.WriteSize, _c.StreamInterval.TotalMilliseconds * 1000,
        _ticks, _offered, _offered * 8 / seconds, _bytesWritten, _bytesWritten * 8 / seconds, _receivedAtEnd, _receivedAtEnd * 8 / seconds,
        _offered - _bytesWritten, _appBacklogMax, TcpLatency.Of(_writeNs), TcpLatency.Of(_deliveryNs));
}
