namespace Xmit.Link;

/// <summary>
/// Dynamic queue limits (byte queue limits, BQL): bounds the bytes a driver may hold in its TX ring,
/// growing the limit when the hardware starved and shrinking it when bytes sat in the ring without need.
/// Written from the algorithm's description; the queue is stopped when available bytes go negative.
/// </summary>
/// <remarks>Linux: lib/dynamic_queue_limits.c dql_completed(), dql_queued(), dql_avail()</remarks>
public sealed class Dql
{
    /// <summary>DQL_MAX_LIMIT.</summary>
    public const long MaxLimitCap = (uint.MaxValue / 16);

    private long _numQueued;       // total bytes ever queued
    private long _numCompleted;    // total bytes ever completed
    private long _adjLimit;        // limit + numCompleted
    private long _lastObjCount;
    private long _prevOverLimit;
    private long _prevNumQueued;
    private long _prevLastObjCount;
    private long _lowestSlack = long.MaxValue;
    private Time.Instant _slackStart;

    public long Limit { get; private set; }
    public long MinLimit { get; set; }
    public long MaxLimit { get; set; } = MaxLimitCap;

    /// <summary>How long the limit must have had slack before it is reduced (slack_hold_time = HZ).</summary>
    public Time.Duration SlackHoldTime { get; set; } = Time.Duration.FromSeconds(1);

    /// <summary>Bytes the driver has reported completed since the queue started (num_completed).</summary>
    public long CompletedBytes => _numCompleted;

    /// <summary>Bytes handed to the driver and not yet completed.</summary>
    public long InFlight => _numQueued - _numCompleted;

    /// <summary>dql_avail(): bytes that may still be queued; negative means stop.</summary>
    public long Available => _adjLimit - _numQueued;

    public void Queued(int bytes)
    {
        _lastObjCount = bytes;
        _numQueued += bytes;
    }

    public void Completed(int bytes, Time.Instant now)
    {
        long numQueued = _numQueued;
        long completed = _numCompleted + bytes;
        if (completed > numQueued) ThrowHelper.Bug("BQL completed more than queued");
        long limit = Limit;
        long overLimit = Math.Max(0, numQueued - _numCompleted - limit);
        long inProgress = numQueued - completed;
        long prevInProgress = _prevNumQueued - _numCompleted;
        bool allPrevCompleted = completed >= _prevNumQueued;

        if ((overLimit > 0 && inProgress == 0) || (_prevOverLimit > 0 && allPrevCompleted))
        {
            // The queue ran dry while there was more to send: the limit was too low.
            limit += Math.Max(0, completed - _prevNumQueued) + _prevOverLimit;
            _slackStart = now;
            _lowestSlack = long.MaxValue;
        }
        else if (inProgress > 0 && prevInProgress > 0 && !allPrevCompleted)
        {
            // Not starved: measure how much of the limit was unused and shrink after holding.
            long slack = Math.Max(0, limit + _prevOverLimit - 2 * (completed - _numCompleted));
            long slackLastObjs = _prevOverLimit > 0 ? Math.Max(0, _prevLastObjCount - _prevOverLimit) : 0;
            slack = Math.Max(slack, slackLastObjs);
            if (slack < _lowestSlack) _lowestSlack = slack;
            if (now > _slackStart + SlackHoldTime)
            {
                limit = Math.Max(0, limit - _lowestSlack);
                _slackStart = now;
                _lowestSlack = long.MaxValue;
            }
        }

        limit = Math.Clamp(limit, MinLimit, MaxLimit);
        if (limit != Limit)
        {
            Limit = limit;
            overLimit = 0;
        }
        _adjLimit = limit + completed;
        _prevOverLimit = overLimit;
        _prevLastObjCount = _lastObjCount;
        _numCompleted = completed;
        _prevNumQueued = numQueued;
    }

    public void Reset()
    {
        _numQueued = _numCompleted = 0;
        _lastObjCount = _prevOverLimit = _prevNumQueued = _prevLastObjCount = 0;
        _lowestSlack = long.MaxValue;
        Limit = MinLimit;
        _adjLimit = Limit;
    }
}
