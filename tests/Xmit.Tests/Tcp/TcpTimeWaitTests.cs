using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// TIME-WAIT answers the peer's retransmitted FIN (its LAST-ACK lost our ACK) with an ACK and restarts its 60 s,
/// as tcp_timewait_state_process() does (TCP_TW_ACK); without the answer the peer would retransmit its FIN with
/// backoff until TIME-WAIT is over and it gets a RST.
/// </summary>
public class TcpTimeWaitTests
{
    [Fact]
    public void A_retransmitted_FIN_in_TIME_WAIT_is_ACKed_and_restarts_the_timer()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        net.RunForMs(100);
        var sk = tcp.ClientSock;
        tcp.A.Close(tcp.Client);
        net.RunForMs(50);
        tcp.B.Close(tcp.Server);
        net.RunForMs(50);
        Assert.Equal(TcpState.TimeWait, sk.State);
        var firstExpiry = sk.TimeWaitTimer.Expires;

        net.RunFor(Duration.FromSeconds(10));
        long outBefore = net.A.Tcp.Mib.OutSegs;
        // B's FIN again: seq one below rcv_nxt, as a retransmission is.
        InjectedTcp.ToA(net, sk, sk.RcvNxt - 1u, sk.SndNxt, TcpFlags.Fin | TcpFlags.Ack);
        Assert.Equal(1, net.A.Tcp.Mib.OutSegs - outBefore);
        Assert.Equal(TcpState.TimeWait, sk.State);
        Assert.Equal(net.A.Jiffies.Expiry(net.Sim.Now, TcpProtocol.TimeWaitLength), sk.TimeWaitTimer.Expires); // inet_twsk_reschedule: jiffies + TCP_TIMEWAIT_LEN, on the wheel
        Assert.True(sk.TimeWaitTimer.Expires > firstExpiry);
        // A second one at once is ACKed too: a FIN is never rate-limited (tcp_oow_rate_limited skips it).
        InjectedTcp.ToA(net, sk, sk.RcvNxt - 1u, sk.SndNxt, TcpFlags.Fin | TcpFlags.Ack);
        Assert.Equal(2, net.A.Tcp.Mib.OutSegs - outBefore);
        // A bare ACK at rcv_nxt is taken silently.
        InjectedTcp.ToA(net, sk, sk.RcvNxt, sk.SndNxt, TcpFlags.Ack);
        Assert.Equal(2, net.A.Tcp.Mib.OutSegs - outBefore);

        net.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
        Assert.Equal(TcpState.Close, sk.State);
    }
}
