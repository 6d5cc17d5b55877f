using Xmit.Buffers;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// The persist (zero-window probe) timer: while data waits and nothing is in flight — the peer's window is
/// closed, or the local qdisc dropped what was sent — probe with backoff, and stop when a window opens.
/// </summary>
public sealed partial class TcpProtocol
{
    /// <summary>TCP_RESOURCE_PROBE_INTERVAL: the retry pace when local congestion kept a probe from leaving.</summary>
    private static readonly Duration ResourceProbeInterval = Duration.FromMilliseconds(500);

    /// <summary>tcp_probe0_base(): the RTO, at least TCP_RTO_MIN.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_probe0_base()</remarks>
    private static Duration ProbeBase(TcpSock sk) => Duration.Max(sk.Rtt.Rto, RtoMin);

    /// <summary>tcp_probe0_when(): the base doubled per backoff, at most TCP_RTO_MAX.</summary>
    /// <remarks>Linux: include/net/tcp.h tcp_probe0_when()</remarks>
    private static Duration ProbeWhen(TcpSock sk)
    {
        var when = ProbeBase(sk);
        for (int i = 0; i < sk.Backoff && when < RtoMax; i++) when *= 2;
        return Duration.Min(when, RtoMax);
    }

    private void ArmProbe0(TcpSock sk, Duration after)
    {
        sk.PendingTimer = TcpXmitTimer.Probe0;
        ResetTimer(sk.RetransmitTimer, Duration.Min(after, RtoMax));
    }

    /// <summary>
    /// tcp_probe_timer(): nothing to probe any more — done; too many probes unanswered (tcp_retries2), or
    /// TCP_USER_TIMEOUT passed since the first probe timer fired (icsk_probes_tstamp) — the connection times out;
    /// otherwise probe again.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_probe_timer()</remarks>
    private void ProbeTimer(TcpSock sk)
    {
        if (sk.PacketsOut > 0 || sk.SendHead is null)
        {
            sk.ProbesOut = 0;
            sk.ProbeStamp = null;
            return;
        }
        // icsk_probes_tstamp: the jiffies of the first probe timer; TCP_USER_TIMEOUT counts from it, in jiffies.
        bool userTimedOut = false;
        if (sk.ProbeStamp is not { } stamp) sk.ProbeStamp = Now;
        else userTimedOut = sk.UserTimeoutMs > 0
            && JiffiesClock.Elapsed(stamp, Now) >= JiffiesClock.RoundUp(Duration.FromMilliseconds(sk.UserTimeoutMs));
        if (userTimedOut || sk.ProbesOut >= Sysctls.TcpRetries2)
        {
            sk.Error = sk.Error != Errno.OK ? sk.Error : Errno.ETIMEDOUT;
            Mib.AbortOnTimeout++; // tcp_write_err()
            Done(sk);
            return;
        }
        SendProbe0(sk);
    }

    /// <summary>
    /// tcp_send_probe0(): send a window probe; if something is in flight now the timer's job is over,
    /// otherwise back off (a probe that local congestion kept back retries at TCP_RESOURCE_PROBE_INTERVAL), never
    /// past TCP_USER_TIMEOUT.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_send_probe0()</remarks>
    private void SendProbe0(TcpSock sk)
    {
        int err = WriteWakeup(sk);
        if (sk.PacketsOut > 0 || sk.SendHead is null)
        {
            sk.ProbesOut = 0;
            sk.ProbeStamp = null;
            sk.Backoff = 0;
            return;
        }
        sk.ProbesOut++;
        var timeout = ResourceProbeInterval;
        if (err >= 0)
        {
            if (sk.Backoff < Sysctls.TcpRetries2) sk.Backoff++;
            timeout = ProbeWhen(sk);
        }
        ArmProbe0(sk, ClampProbe0ToUserTimeout(sk, timeout));
    }

    /// <summary>
    /// tcp_clamp_probe0_to_user_timeout(): with TCP_USER_TIMEOUT set and probing under way, the next probe comes no
    /// later than the timeout's end (in jiffies from icsk_probes_tstamp), but at least TCP_TIMEOUT_MIN (2 jiffies) out.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_timer.c tcp_clamp_probe0_to_user_timeout()</remarks>
    private Duration ClampProbe0ToUserTimeout(TcpSock sk, Duration when)
    {
        if (sk.UserTimeoutMs <= 0 || sk.ProbeStamp is not { } stamp) return when;
        var elapsed = Duration.Max(JiffiesClock.Elapsed(stamp, Now), Duration.Zero);
        var remaining = JiffiesClock.RoundUp(Duration.FromMilliseconds(sk.UserTimeoutMs)) - elapsed;
        var timeoutMin = JiffiesClock.Exact ? Duration.FromMilliseconds(2) : JiffiesClock.Tick * 2;
        return Duration.Min(Duration.Max(remaining, timeoutMin), when);
    }

    /// <summary>
    /// tcp_write_wakeup(): if the window has room for part of the next skb, send that part (at most one MSS,
    /// with PSH); otherwise a probe the peer must answer — an ACK with snd_una − 1, old data it will ACK.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c tcp_write_wakeup(), tcp_xmit_probe_skb()</remarks>
    private int WriteWakeup(TcpSock sk)
    {
        if (sk.State == TcpState.Close) return -1;
        var skb = sk.SendHead;
        if (skb is not null && skb.Cb.Seq < WndEnd(sk))
        {
            int mss = SendMss(sk, out _);
            int segSize = (int)(WndEnd(sk) - skb.Cb.Seq);
            if (skb.Cb.EndSeq > sk.PushedSeq) sk.PushedSeq = skb.Cb.EndSeq;
            if (segSize < (int)(skb.Cb.EndSeq - skb.Cb.Seq) || skb.Len > mss)
            {
                segSize = Math.Min(segSize, mss);
                if (segSize < skb.Len) Fragment(sk, skb, segSize);
            }
            skb.Cb.TcpFlags |= TcpFlags.Psh;
            int err = TransmitSkb(sk, skb, clone: true);
            if (err == 0) EventNewDataSent(sk, skb, mss);
            return err;
        }
        Mib.WinProbe++;
        return SendControl(sk, TcpFlags.Ack, sk.SndUna - 1);
    }

    /// <summary>
    /// tcp_ack_probe(): an ACK arrived while nothing was in flight — if the window now takes the next skb the
    /// probing is over (the data goes out from tcp_data_snd_check), otherwise probe again after the backoff.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_ack_probe()</remarks>
    private void AckProbe(TcpSock sk)
    {
        if (sk.SendHead is not { } head) return;
        if (head.Cb.EndSeq <= WndEnd(sk))
        {
            sk.Backoff = 0;
            if (sk.PendingTimer == TcpXmitTimer.Probe0)
            {
                sk.PendingTimer = TcpXmitTimer.None;
                _clock.Disarm(sk.RetransmitTimer);
            }
        }
        else ArmProbe0(sk, ProbeWhen(sk));
    }
}
