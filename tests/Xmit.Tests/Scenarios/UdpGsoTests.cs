using Xmit.Link.Drivers;
using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Wire;

namespace Xmit.Tests.Scenarios;

/// <summary>UDP_SEGMENT: one send, one GSO skb down the stack, one datagram per segment on the wire.</summary>
public class UdpGsoTests
{
    private static (TwoHosts Net, Syscalls Sys, int Fd, int Rx, Syscalls SysB) Setup(bool offload)
    {
        var net = new TwoHosts(ring: new RingDriverConfig { ChecksumOffload = offload });
        net.WarmUp();
        var sys = new Syscalls(net.A);
        var sysB = new Syscalls(net.B);
        int rx = sysB.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sysB.Bind(rx, new SockAddrIn(TwoHosts.AddrB, 9));
        int fd = sys.Socket(Af.AF_INET, SockType.SOCK_DGRAM, 0);
        sys.Connect(fd, new SockAddrIn(TwoHosts.AddrB, 9));
        Assert.Equal(0, sys.SetSockOpt(fd, SockOpt.IPPROTO_UDP, SockOpt.UDP_SEGMENT, 1000));
        return (net, sys, fd, rx, sysB);
    }

    [Fact]
    public void One_send_leaves_as_one_datagram_per_segment_with_consecutive_ids()
    {
        var (net, sys, fd, rx, sysB) = Setup(offload: true);
        using (net)
        {
            var rec = FrameRecorder.On(net.DevA);
            var data = new byte[10_500];
            for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 13);
            long sent0 = net.A.Mib.Udp.OutDatagrams;
            Assert.Equal(10_500, sys.Send(fd, data));
            Assert.Equal(1, net.A.Mib.Udp.OutDatagrams - sent0); // one sendmsg, one GSO skb
            Assert.Equal(1, net.A.Mib.Ip.OutRequests - 1); // (the warm-up ping was the first)
            net.RunForMs(20);
            var frames = rec.Sent.ToList();
            Assert.Equal(11, frames.Count);
            Assert.All(frames.Take(10), f => Assert.Equal(14 + 20 + 8 + 1000, f.Length));
            Assert.Equal(14 + 20 + 8 + 500, frames[10].Length);
            var ids = frames.Select(f => { Ipv4Packet.TryCreate(f.AsSpan(14), out var ip); return ip.Identification; }).ToArray();
            for (int i = 1; i < ids.Length; i++) Assert.Equal((ushort)(ids[0] + i), ids[i]);
            var buf = new byte[2000];
            var got = new List<byte>();
            for (int i = 0; i < 11; i++)
            {
                int n = sysB.Recv(rx, buf, MsgFlags.DontWait);
                Assert.Equal(i < 10 ? 1000 : 500, n); // each segment is a datagram of its own, checksums verified by B
                got.AddRange(buf.AsSpan(0, n).ToArray());
            }
            Assert.Equal(data, got.ToArray());
            sys.CloseAll();
            sysB.CloseAll();
        }
    }

    [Fact]
    public void Without_checksum_offload_gso_sends_fail_with_eio_and_oversized_segments_with_einval()
    {
        var (net, sys, fd, _, sysB) = Setup(offload: false);
        using (net)
        {
            Assert.Equal(-(int)Errno.EIO, sys.Send(fd, new byte[5000]));
            Assert.Equal(0, sys.SetSockOpt(fd, SockOpt.IPPROTO_UDP, SockOpt.UDP_SEGMENT, 1473)); // 1473 + 28 > MTU 1500
            Assert.Equal(-(int)Errno.EINVAL, sys.Send(fd, new byte[5000]));
            Assert.Equal(0, ((UdpSocketFile)sys.File(fd)!).Sk.WmemAlloc);
            Assert.Equal(0, sys.SetSockOpt(fd, SockOpt.IPPROTO_UDP, SockOpt.UDP_SEGMENT, 0));
            Assert.Equal(5000, sys.Send(fd, new byte[5000])); // off again: a plain fragmented datagram
            sys.CloseAll();
            sysB.CloseAll();
        }
    }
}
