using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// The RTT estimator of one connection, in tcp_rtt_estimator()'s own fixed point: srtt in microseconds
/// scaled by 8, mdev / mdev_max / rttvar scaled by 4 (Jacobson/Karels with Linux's rttvar floor of
/// TCP_RTO_MIN), min_rtt, and the RTO that follows from them.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_input.c tcp_rtt_estimator(), tcp_set_rto(); include/linux/tcp.h srtt_us, mdev_us, rttvar_us, rtt_seq</remarks>
public sealed class RttEstimator
{
    private long _srtt8, _mdev4, _mdevMax4, _rttvar4;
    private TcpSeq _rttSeq;

    /// <summary>The current retransmission timeout (1 s before any sample, doubled by backoff).</summary>
    public Duration Rto { get; internal set; } = TcpProtocol.InitialRto;

    /// <summary>A sample has been taken (srtt_us ≠ 0).</summary>
    public bool HasSample => _srtt8 != 0;

    /// <summary>srtt_us as Linux stores it: microseconds × 8 (0 before a sample).</summary>
    public long ScaledSrttUs => _srtt8;

    /// <summary>srtt in microseconds (tcpi_rtt), 0 before a sample.</summary>
    public long SrttUs => _srtt8 >> 3;

    /// <summary>The smoothed RTT as a duration.</summary>
    public Duration Srtt => Duration.FromMicroseconds(SrttUs);

    /// <summary>mdev in microseconds (tcpi_rttvar).</summary>
    public long RttVarUs => _mdev4 >> 2;

    /// <summary>The smallest sample seen, in microseconds (long.MaxValue before one; Linux windows it over 5 minutes).</summary>
    public long MinRttUs { get; private set; } = long.MaxValue;

    /// <summary>tcp_rtt_estimator(): fold one measurement into srtt and mdev; rttvar decays once per window of data (rtt_seq).</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rtt_estimator()</remarks>
    internal void Sample(long mrttUs, TcpSeq sndUna, TcpSeq sndNxt)
    {
        long m = Math.Max(mrttUs, 1);
        if (m < MinRttUs) MinRttUs = m;
        long rtoMinUs = TcpProtocol.RtoMin.Nanoseconds / 1000;
        if (_srtt8 != 0)
        {
            m -= _srtt8 >> 3;
            _srtt8 += m;
            if (m < 0)
            {
                m = -m;
                m -= _mdev4 >> 2;
                if (m > 0) m >>= 3;
            }
            else m -= _mdev4 >> 2;
            _mdev4 += m;
            if (_mdev4 > _mdevMax4)
            {
                _mdevMax4 = _mdev4;
                if (_mdevMax4 > _rttvar4) _rttvar4 = _mdevMax4;
            }
            if (sndUna > _rttSeq)
            {
                if (_mdevMax4 < _rttvar4) _rttvar4 -= (_rttvar4 - _mdevMax4) >> 2;
                _rttSeq = sndNxt;
                _mdevMax4 = rtoMinUs;
            }
        }
        else
        {
            _srtt8 = m << 3;
            _mdev4 = m << 1;
            _rttvar4 = Math.Max(_mdev4, rtoMinUs);
            _mdevMax4 = _rttvar4;
            _rttSeq = sndNxt;
        }
    }

    /// <summary>
    /// tcp_set_rto(): RTO = srtt + rttvar (with rttvar ≥ TCP_RTO_MIN), at most TCP_RTO_MAX — in jiffies, rounded up
    /// (icsk_rto: 200 ms + 42 µs is 204 ms at HZ=250), so backoff doubles whole ticks.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_set_rto(); include/net/tcp.h __tcp_set_rto()</remarks>
    internal void SetRto(JiffiesClock jiffies)
    {
        if (_srtt8 == 0) return;
        var rto = jiffies.RoundUp(Duration.FromMicroseconds((_srtt8 >> 3) + _rttvar4));
        Rto = Duration.Min(rto, TcpProtocol.RtoMax);
    }

    /// <summary>Exponential backoff after a timeout: the RTO doubles, up to TCP_RTO_MAX.</summary>
    internal void Backoff() => Rto = Duration.Min(Rto * 2, TcpProtocol.RtoMax);
}
