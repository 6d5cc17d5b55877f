using Xmit.Buffers;
namespace Xmit.Transport.Tcp;

/// <summary>
/// CUBIC congestion avoidance (RFC 9438) as Linux computes it: the window follows
/// W(t) = C·(t − K)³ + W_max in BIC's fixed-point units (time in 1/1024 s, C = 41/1024 · 10, β = 717/1024),
/// updated at most once per jiffy, with the TCP-friendly (Reno) estimate as a floor, fast convergence,
/// and the epoch shifted across idle periods; HyStart ends slow start early when ACKs of a round keep
/// coming for longer than half the minimum RTT (ack train) or the round's RTT rises above the minimum.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_cubic.c bictcp_update(), cubictcp_cong_avoid(), cubictcp_recalc_ssthresh(), cubictcp_state(), cubictcp_cwnd_event(), cubictcp_acked(), hystart_update(), bictcp_hystart_reset()</remarks>
public sealed class Cubic : ITcpCongestionOps
{
    /// <summary>HYSTART_MIN_SAMPLES, HYSTART_DELAY_MIN / _MAX (µs).</summary>
    private const int HystartMinSamples = 8;
    private const uint HystartDelayMinUs = 4000, HystartDelayMaxUs = 16000;

    private readonly Time.IScheduler? _clock;
    private readonly Configuration.CubicParameters _params;
    private bool _found;
    private long _roundStartUs, _lastAckUs;
    private Wire.TcpSeq _endSeq;
    private uint _currRttUs;
    private int _sampleCnt;

    /// <summary>CUBIC without a clock: no HyStart (the arithmetic alone, as the tests use it).</summary>
    public Cubic() => _params = new Configuration.CubicParameters { Hystart = false };

    /// <summary>CUBIC for a connection: HyStart reads the host's clock and tcp_cubic's parameters.</summary>
    public Cubic(Time.IScheduler clock, Configuration.CubicParameters parameters)
    {
        _clock = clock;
        _params = parameters;
    }

    /// <summary>HyStart found the end of slow start (ssthresh was set to cwnd then).</summary>
    public bool HystartFound => _found;

    private long NowUs => _clock!.Now.Nanoseconds / 1000; // bictcp_clock_us(): tcp_mstamp
    private uint Jiffies => (uint)(_clock!.Now.Nanoseconds / 1_000_000);

    /// <summary>cubictcp_init(): the curve starts empty; HyStart's first round starts now.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c cubictcp_init()</remarks>
    public void Init(TcpSock sk)
    {
        Reset();
        if (_params.Hystart && _clock is not null) HystartReset(sk);
    }

    /// <summary>bictcp_hystart_reset(): a new round of ACKs, ending at snd_nxt.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c bictcp_hystart_reset()</remarks>
    private void HystartReset(TcpSock sk)
    {
        _roundStartUs = _lastAckUs = NowUs;
        _endSeq = sk.SndNxt;
        _currRttUs = uint.MaxValue;
        _sampleCnt = 0;
    }

    /// <summary>hystart_ack_delay(): room for TSO/GRO aggregation, the time of four 64 KB packets at the pacing rate, at most 1 ms.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c hystart_ack_delay()</remarks>
    private static uint HystartAckDelayUs(TcpSock sk) =>
        sk.PacingRate == 0 ? 0 : (uint)Math.Min(1000UL, 65536UL * 4 * 1_000_000 / sk.PacingRate);

    /// <summary>hystart_update(): end slow start (ssthresh = cwnd) on an ACK train past delay_min/2 or an RTT rise.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c hystart_update()</remarks>
    private void HystartUpdate(TcpSock sk, uint delayUs)
    {
        // A round ends on the first ACK past end_seq whatever cwnd is; only the detectors wait for the low window (6.18,
        // since "tcp_cubic: fix incorrect HyStart round start detection": cubictcp_acked() no longer gates the call).
        if (sk.SndUna > _endSeq) HystartReset(sk);
        if (sk.SndCwnd < _params.HystartLowWindow) return;
        if ((_params.HystartDetect & Configuration.CubicParameters.AckTrain) != 0)
        {
            long now = NowUs;
            if (now - _lastAckUs <= _params.HystartAckDeltaUs)
            {
                _lastAckUs = now;
                uint threshold = DelayMinUs + HystartAckDelayUs(sk);
                if (sk.PacingStatus == SkPacingStatus.None) threshold >>= 1; // SK_PACING_NONE: half (pacing may delay packets up to RTT/2)
                if (now - _roundStartUs > threshold)
                {
                    _found = true;
                    sk.Protocol.Mib.HystartTrainDetect++;
                    sk.SndSsthresh = sk.SndCwnd;
                }
            }
        }
        if ((_params.HystartDetect & Configuration.CubicParameters.Delay) != 0)
        {
            if (_currRttUs > delayUs) _currRttUs = delayUs;
            if (_sampleCnt < HystartMinSamples) _sampleCnt++;
            else if (_currRttUs > DelayMinUs + Math.Clamp(DelayMinUs >> 3, HystartDelayMinUs, HystartDelayMaxUs))
            {
                _found = true;
                sk.Protocol.Mib.HystartDelayDetect++;
                sk.SndSsthresh = sk.SndCwnd;
            }
        }
    }

    private const int BetaScale = 1024;
    private const int Beta = 717;
    private const int BicHz = 10;
    private const int Hz = 1000;                     // jiffies are milliseconds
    private const uint CubeRttScale = 41 * 10;       // bic_scale * 10
    private const uint BetaScaleFriendly = 8 * (BetaScale + Beta) / 3 / (BetaScale - Beta); // 15
    private static readonly ulong CubeFactor = (1UL << (10 + 3 * BicHz)) / CubeRttScale;

    private uint _cnt, _lastMaxCwnd, _lastCwnd, _lastTime, _originPoint, _k, _epochStart, _ackCnt, _tcpCwnd;

    /// <summary>delay_min in microseconds (0: no sample yet).</summary>
    public uint DelayMinUs { get; private set; }

    /// <summary>bictcp_reset(): forget the curve (on entering Loss).</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c bictcp_reset()</remarks>
    public void Reset()
    {
        _cnt = _lastMaxCwnd = _lastCwnd = _lastTime = _originPoint = _k = _epochStart = _ackCnt = _tcpCwnd = 0;
        DelayMinUs = 0;
        _found = false;
    }

    /// <summary>cubictcp_acked(): the smallest RTT seen.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c cubictcp_acked()</remarks>
    public void OnRttSample(long rttUs)
    {
        uint d = (uint)Math.Clamp(rttUs, 1, uint.MaxValue);
        if (DelayMinUs == 0 || DelayMinUs > d) DelayMinUs = d;
    }

    /// <summary>cubictcp_recalc_ssthresh(): end the epoch, remember W_max (with fast convergence), ssthresh = β·cwnd.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c cubictcp_recalc_ssthresh()</remarks>
    public uint RecalcSsthresh(uint cwnd)
    {
        _epochStart = 0;
        _lastMaxCwnd = cwnd < _lastMaxCwnd ? (uint)((ulong)cwnd * (BetaScale + Beta) / (2 * BetaScale)) : cwnd;
        return Math.Max(cwnd * Beta / BetaScale, 2u);
    }

    /// <summary>cubictcp_cwnd_event(CA_EVENT_TX_START): after an idle period, shift the epoch so the curve resumes where it was.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c cubictcp_cwnd_event()</remarks>
    public void OnTransmitStart(uint nowJiffies, uint lastSendJiffies)
    {
        int delta = (int)(nowJiffies - lastSendJiffies);
        if (_epochStart != 0 && delta > 0)
        {
            _epochStart += (uint)delta;
            if ((int)(_epochStart - nowJiffies) > 0) _epochStart = nowJiffies;
        }
    }

    /// <summary>bictcp_update(): the number of ACKs after which cwnd grows by one segment.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c bictcp_update()</remarks>
    public uint Update(uint cwnd, uint acked, uint nowJiffies)
    {
        _ackCnt += acked;
        if (_lastCwnd == cwnd && (int)(nowJiffies - _lastTime) <= Hz / 32) return _cnt;
        if (!(_epochStart != 0 && nowJiffies == _lastTime))
        {
            _lastCwnd = cwnd;
            _lastTime = nowJiffies;
            if (_epochStart == 0)
            {
                _epochStart = nowJiffies;
                _ackCnt = acked;
                _tcpCwnd = cwnd;
                if (_lastMaxCwnd <= cwnd)
                {
                    _k = 0;
                    _originPoint = cwnd;
                }
                else
                {
                    _k = CubeRoot(CubeFactor * (_lastMaxCwnd - cwnd));
                    _originPoint = _lastMaxCwnd;
                }
            }
            ulong t = (uint)(nowJiffies - _epochStart);
            t += (ulong)((DelayMinUs + 999) / 1000); // usecs_to_jiffies(delay_min)
            t = (t << BicHz) / Hz;
            ulong offs = t < _k ? _k - t : t - _k;
            uint delta = (uint)((CubeRttScale * offs * offs * offs) >> (10 + 3 * BicHz));
            uint target = t < _k ? _originPoint - delta : _originPoint + delta;
            _cnt = target > cwnd ? cwnd / (target - cwnd) : 100 * cwnd;
            if (_lastMaxCwnd == 0 && _cnt > 20) _cnt = 20; // no loss seen yet: at least 5 % per RTT
        }
        // TCP friendliness: never slower than Reno would be.
        uint d = (cwnd * BetaScaleFriendly) >> 3;
        while (d > 0 && _ackCnt > d)
        {
            _ackCnt -= d;
            _tcpCwnd++;
        }
        if (_tcpCwnd > cwnd)
        {
            uint maxCnt = cwnd / (_tcpCwnd - cwnd);
            if (_cnt > maxCnt) _cnt = maxCnt;
        }
        _cnt = Math.Max(_cnt, 2u);
        return _cnt;
    }

    public string Name => "cubic";

    /// <summary>cubictcp_recalc_ssthresh() as the ssthresh hook.</summary>
    public uint SsThresh(TcpSock sk) => RecalcSsthresh(sk.SndCwnd);

    /// <summary>cubictcp_cong_avoid(): nothing unless cwnd limited the sender; slow start, then one segment per <see cref="Update"/> ACKs.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c cubictcp_cong_avoid()</remarks>
    public void CongAvoid(TcpSock sk, uint acked, uint nowJiffies)
    {
        if (!TcpCongestion.IsCwndLimited(sk)) return;
        if (TcpCongestion.InSlowStart(sk))
        {
            acked = TcpCongestion.SlowStart(sk, acked);
            if (acked == 0) return;
        }
        TcpCongestion.CongAvoidAi(sk, Update(sk.SndCwnd, acked, nowJiffies), acked);
    }

    /// <summary>cubictcp_state(): entering Loss forgets the curve.</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c cubictcp_state()</remarks>
    public void SetState(TcpSock sk, TcpCaState newState)
    {
        if (newState != TcpCaState.Loss) return;
        Reset();
        if (_params.Hystart && _clock is not null) HystartReset(sk);
    }

    public void CwndEvent(TcpSock sk, TcpCaEvent ev, uint nowJiffies)
    {
        if (ev == TcpCaEvent.TxStart) OnTransmitStart(nowJiffies, (uint)(sk.LastSendTime.Nanoseconds / 1_000_000));
    }

    /// <summary>cubictcp_acked(): the minimum delay, and HyStart while in slow start (not within a second of a recovery's epoch start).</summary>
    /// <remarks>Linux: net/ipv4/tcp_cubic.c cubictcp_acked()</remarks>
    public void PktsAcked(TcpSock sk, uint acked, long rttUs)
    {
        if (rttUs < 0) return;
        if (_clock is not null && _epochStart != 0 && (int)(Jiffies - _epochStart) < Hz) return;
        OnRttSample(rttUs);
        if (!_found && TcpCongestion.InSlowStart(sk) && _params.Hystart && _clock is not null)
            HystartUpdate(sk, (uint)Math.Clamp(rttUs, 1, uint.MaxValue));
    }

    public uint UndoCwnd(TcpSock sk) => TcpCongestion.RenoUndoCwnd(sk);

    /// <summary>The integer cube root (Linux approximates it with a table and one Newton step).</summary>
    private static uint CubeRoot(ulong a)
    {
        if (a == 0) return 0;
        ulong x = (ulong)Math.Cbrt(a);
        while (x * x * x > a) x--;
        while ((x + 1) * (x + 1) * (x + 1) <= a) x++;
        return (uint)x;
    }
}
