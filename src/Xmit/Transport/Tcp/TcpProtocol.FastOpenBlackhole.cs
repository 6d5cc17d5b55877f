using Xmit.Time;

namespace Xmit.Transport.Tcp;

/// <summary>
/// Active Fast Open's middlebox blackhole detection (net.ipv4.tcp_fastopen_blackhole_timeout_sec, off by default
/// in 6.18): a Fast Open connection that times out a third time (or gives up sooner), or that closes with only the
/// peer's FIN out of order and no data, suggests a middlebox that drops Fast Open. The host then sends plain SYNs
/// for the timeout — doubled with each detection, up to 64 times — and a later Fast Open connection that exchanges
/// data over a real device forgets the detections.
/// </summary>
/// <remarks>Linux: net/ipv4/tcp_fastopen.c tcp_fastopen_active_disable(), tcp_fastopen_active_should_disable(), tcp_fastopen_active_disable_ofo_check(), tcp_fastopen_active_detect_blackhole()</remarks>
public sealed partial class TcpProtocol
{
    /// <summary>net->ipv4.tfo_active_disable_stamp and tfo_active_disable_times: the last detection, and how many since Fast Open last worked.</summary>
    private Instant _fastOpenDisabledAt;
    private int _fastOpenDisableTimes;

    /// <summary>tcp_fastopen_active_disable(): one more detection, if detection is on (TCPFastOpenBlackhole).</summary>
    private void FastOpenActiveDisable()
    {
        if (Sysctls.TcpFastopenBlackholeTimeoutSec == 0) return;
        _fastOpenDisabledAt = Now;
        _fastOpenDisableTimes++;
        Mib.FastOpenBlackhole++;
    }

    /// <summary>
    /// tcp_fastopen_active_should_disable(): true while the last detection's timeout (× 2^(detections − 1), at most
    /// 64) runs, counted in jiffies; once it has passed, the socket is marked to check whether Fast Open works again.
    /// </summary>
    private bool FastOpenActiveShouldDisable(TcpSock sk)
    {
        int timeoutSec = Sysctls.TcpFastopenBlackholeTimeoutSec;
        if (timeoutSec == 0 || _fastOpenDisableTimes == 0) return false;
        long multiplier = 1L << Math.Min(_fastOpenDisableTimes - 1, 6);
        uint until = ToJiffies(_fastOpenDisabledAt) + (uint)(multiplier * timeoutSec * 1000);
        if ((int)(Jiffies - until) < 0) return true;
        sk.SynFastOpenCheck = true;
        return false;
    }

    /// <summary>
    /// tcp_fastopen_active_disable_ofo_check(), as the socket is torn down: a Fast Open connection that received no
    /// data and holds only a FIN out of order is a detection; one that received data, on a socket marked by
    /// <see cref="FastOpenActiveShouldDisable"/> and not over loopback, clears the detections.
    /// </summary>
    private void FastOpenDisableOfoCheck(TcpSock sk)
    {
        if (!sk.SynFastOpen) return;
        if (sk.DataSegsIn == 0)
        {
            if (sk.OutOfOrder.Count == 1 && (sk.OutOfOrder.Peek()!.Cb.TcpFlags & Wire.TcpFlags.Fin) != 0) FastOpenActiveDisable();
        }
        else if (sk.SynFastOpenCheck && _fastOpenDisableTimes != 0
                 && _output.Routes.Lookup(sk.RemoteAddress) is not { Device.IsLoopback: true })
            _fastOpenDisableTimes = 0;
    }

    /// <summary>
    /// tcp_fastopen_active_detect_blackhole(), from tcp_write_timeout(): the third timeout of a connection whose SYN
    /// carried Fast Open (or data, or had it acknowledged) — or an earlier one that ends it — counts
    /// TCPFastOpenActiveFail and is a detection.
    /// </summary>
    private void FastOpenDetectBlackhole(TcpSock sk, bool expired)
    {
        if (!(sk.SynFastOpen || sk.SynData || sk.SynDataAcked)) return;
        if (sk.Retransmits == 2 || (sk.Retransmits < 2 && expired))
        {
            FastOpenActiveDisable();
            Mib.FastOpenActiveFail++;
        }
    }
}
