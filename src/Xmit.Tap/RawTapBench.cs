using System.Diagnostics;
using Xmit.Wire;

namespace Xmit.Tap;

/// <summary>
/// The raw limit of a TAP file descriptor: frames per second one process can write (or read) with no stack
/// at all — one prebuilt frame written in a loop, or frames read and thrown away. The yardstick for the
/// stack's own rates, measured in the same run.
/// </summary>
public static class RawTapBench
{
    public static (long Frames, double Seconds) Write(TunFd tun, MacAddress dst, MacAddress src, Ipv4Address from, Ipv4Address to, ushort port, int payload, TimeSpan duration)
    {
        // Pinned, as the driver's buffers are: the same call path per frame as Xmit's (PinnedArray).
        var frame = new PinnedArray<byte>(TunFd.VnetHeaderLength + 14 + 20 + 8 + payload);
        var f = frame.Span[TunFd.VnetHeaderLength..];
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(dst, src, EtherType.Ipv4).Emit(eth);
        new UdpRepr(40000, port, payload).Emit(f[34..], from, to);
        new Ipv4Repr(from, to, IpProtocol.Udp, 8 + payload, DontFragment: true).Emit(f[14..]);
        long frames = 0;
        var poll = new PinnedArray<Native.PollFd>(1);
        poll.Array[0] = new Native.PollFd { Fd = tun.Fd, Events = Native.POLLOUT };
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            int n = Native.Write(tun.Fd, frame, frame.Length);
            if (n > 0) frames++;
            else if (n == -Native.EAGAIN) Native.Poll(poll, 1, 10);
            else break;
        }
        return (frames, sw.Elapsed.TotalSeconds);
    }

    public static (long Frames, double Seconds) Read(TunFd tun, TimeSpan duration)
    {
        var buffer = new PinnedArray<byte>(TunFd.VnetHeaderLength + 65536);
        var poll = new PinnedArray<Native.PollFd>(1);
        poll.Array[0] = new Native.PollFd { Fd = tun.Fd, Events = Native.POLLIN };
        long frames = 0;
        var sw = Stopwatch.StartNew();
        TimeSpan first = default, last = default;
        while (sw.Elapsed < duration)
        {
            int n = Native.Read(tun.Fd, buffer);
            if (n > 0)
            {
                if (frames++ == 0) first = sw.Elapsed;
                last = sw.Elapsed;
            }
            else if (n == -Native.EAGAIN) Native.Poll(poll, 1, 10);
            else break;
        }
        return (frames, (last - first).TotalSeconds); // from the first frame to the last: idle time does not count
    }
}
