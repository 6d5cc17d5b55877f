using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Tcp;

/// <summary>
/// TCP's timer_list timers on the host's jiffies: a delayed ACK armed between two ticks fires on a tick, 40-44 ms
/// later at HZ=250 (ato is 10 jiffies from the current tick, and the wheel adds one), as B's delayed ACKs in Linux's
/// fill→drain capture do; with HZ 0 it fires after exactly 40 ms.
/// </summary>
public class TcpJiffiesTimerTests
{
    [Theory]
    [InlineData(250)]
    [InlineData(1000)]
    [InlineData(0)]
    public void A_delayed_ack_fires_on_a_tick_one_jiffy_after_its_timeout_at_most(int hz)
    {
        using var net = new TwoHosts(veth: true);
        net.A.Jiffies.Hz = net.B.Jiffies.Hz = hz;
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        net.RunForMs(5);
        var rec = FrameRecorder.On(net.DevA);
        // Segments until B's quick-ACK budget is spent: the first one B does not ACK at once arms its delayed ACK.
        var chunk = new byte[1000];
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal(1000, tcp.A.Write(tcp.Client, chunk));
            net.RunFor(Duration.FromMicroseconds(337)); // off any tick: the timer is armed between two
        }
        net.RunForMs(100);
        var frames = rec.Frames.Where(f => f.Bytes[12] == 8 && f.Bytes[13] == 0).Select(f =>
        {
            Ipv4Packet.TryCreate(f.Bytes.AsSpan(14), out var ip);
            TcpSegment.TryCreate(f.Bytes.AsSpan(14 + ip.HeaderLength), out var seg);
            return (f.Time, FromA: f.Outgoing, Data: ip.TotalLength - ip.HeaderLength - seg.HeaderLength > 0);
        }).ToList();
        // The delayed ACK: B's first segment that no arrival of the moment triggered.
        int delayed = Enumerable.Range(1, frames.Count - 1).FirstOrDefault(i => !frames[i].FromA && frames[i].Time - frames[i - 1].Time > Duration.FromMilliseconds(1));
        Assert.True(delayed > 0, "no delayed ACK");
        // Armed by the first data segment after B's last immediate ACK.
        int lastImmediate = frames.FindLastIndex(delayed - 1, f => !f.FromA);
        var armed = frames.Skip(lastImmediate + 1).First(f => f.FromA && f.Data).Time;
        var fired = frames[delayed].Time;
        var after = fired - armed;
        if (hz == 0)
        {
            Assert.Equal(Duration.FromMilliseconds(40), after);
            return;
        }
        var tick = net.B.Jiffies.Tick;
        Assert.Equal(fired, net.B.Jiffies.TickTime(net.B.Jiffies.At(fired))); // on a tick
        Assert.InRange(after.Nanoseconds, 40_000_000, 40_000_000 + tick.Nanoseconds);
        Assert.NotEqual(Duration.FromMilliseconds(40), after); // armed between ticks: never exactly the timeout
        tcp.Close();
    }
}
