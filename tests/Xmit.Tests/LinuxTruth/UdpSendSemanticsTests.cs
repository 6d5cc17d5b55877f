using Xmit.Network.Ipv4;
using Xmit.Sockets;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.LinuxTruth;

/// <summary>The tables of linux-truth/README.md for UDP, each reproduced through udp_sendmsg.</summary>
public class UdpSendSemanticsTests
{
    public static TheoryData<int?, int, int, int, int, int, int> EpolloutPoints()
    {
        var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "udp-epollout.json")));
        var data = new TheoryData<int?, int, int, int, int, int, int>();
        foreach (var r in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            var set = r.GetProperty("so_sndbuf_set");
            data.Add(set.ValueKind == System.Text.Json.JsonValueKind.Null ? null : set.GetInt32(), r.GetProperty("payload").GetInt32(),
                r.GetProperty("wmem_at_eagain").GetInt32(), r.GetProperty("wmem_at_epollout").GetInt32(), r.GetProperty("ms_to_epollout_min").GetInt32(),
                r.GetProperty("ms_to_epollout_max").GetInt32(), r.GetProperty("sends_until_next_eagain").GetInt32());
        }
        return data;
    }

    // linux-truth: "UDP: EAGAIN, ENOBUFS and EPOLLOUT", the EPOLLOUT examples (Data/linux-truth/udp-epollout.json).
    [Theory]
    [MemberData(nameof(EpolloutPoints))]
    public void Epollout_comes_when_wmem_drops_below_half_the_sndbuf(int? soSndbuf, int payload, int wmemAtEagain,
        int wmemAtEpollout, int msMin, int msMax, int sendsUntilNextEagain)
    {
        using var net = new VethTbf(soSndbuf);
        var sk = net.Socket;
        while (net.Send(payload) >= 0) { }
        Assert.Equal(wmemAtEagain, sk.WmemAlloc);
        var eagainAt = net.Sim.Now;

        long wmemAtWake = -1;
        var wokeAt = Instant.Never;
        sk.WriteSpace += s => { if (wmemAtWake < 0) { wmemAtWake = s.WmemAlloc; wokeAt = net.Sim.Now; } };
        net.Sim.Scheduler.WaitUntil(() => wmemAtWake >= 0, net.Sim.Now + Duration.FromSeconds(10));
        Assert.Equal(wmemAtEpollout, wmemAtWake);
        double ms = (wokeAt - eagainAt).TotalMilliseconds;
        // Linux's figure is whole milliseconds from EAGAIN to epoll_wait returning (wake-up latency included).
        Assert.InRange(ms, msMin - 1, msMax + 1);
        // The time is the frames that had to leave, at the tbf rate (1442-byte frames at 1 Mbit/s: 11.536 ms each),
        // less the part of a frame time that had already passed when EAGAIN came.
        int frames = (wmemAtEagain - wmemAtEpollout) / 2304;
        Assert.InRange(ms, (frames - 1) * 11.536, frames * 11.536);

        int sends = 0;
        while (net.Send(payload) >= 0) sends++;
        Assert.Equal(sendsUntilNextEagain, sends);
    }

    [Fact]
    public void A_blocking_sender_sleeps_until_half_the_sndbuf_is_free()
    {
        using var net = new VethTbf(16384);
        var sk = net.Socket;
        while (net.Send(1400) >= 0) { }
        var t0 = net.Sim.Now;
        // Blocking: this call waits in virtual time, then succeeds.
        Assert.Equal(1400, net.A.Udp.SendMsg(sk, new byte[1400], null, MsgFlags.None));
        Assert.InRange((net.Sim.Now - t0).TotalMilliseconds, 91, 93); // when EPOLLOUT would come (92 ms in linux-truth)
        Assert.Equal(16128 + 2304, sk.WmemAlloc);
    }

    [Fact]
    public void A_blocking_sender_gives_up_with_eagain_after_sndtimeo_if_still_full()
    {
        using var net = new VethTbf(16384);
        var sk = net.Socket;
        sk.SndTimeo = Duration.FromMilliseconds(5); // the next frame leaves the tbf only after ~10.7 ms
        while (net.Send(1400) >= 0) { }
        var t0 = net.Sim.Now;
        Assert.Equal(-(int)Errno.EAGAIN, net.A.Udp.SendMsg(sk, new byte[1400], null, MsgFlags.None));
        Assert.Equal(5, (net.Sim.Now - t0).TotalMilliseconds);
    }

    [Fact]
    public void After_sndtimeo_a_sender_still_goes_if_wmem_fell_below_sndbuf_meanwhile()
    {
        // sock_alloc_send_pskb() re-checks wmem_alloc < sndbuf after the wait, even when the wait timed out
        // without a wake-up (wake-ups need wmem below half).
        using var net = new VethTbf(16384);
        var sk = net.Socket;
        sk.SndTimeo = Duration.FromMilliseconds(50);
        while (net.Send(1400) >= 0) { }
        Assert.Equal(1400, net.A.Udp.SendMsg(sk, new byte[1400], null, MsgFlags.None));
        Assert.True(sk.WmemAlloc > sk.SndBuf / 2);
    }

    // linux-truth: "UDP: when the qdisc drops".
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Qdisc_drops_are_silent_without_ip_recverr_and_enobufs_with_it(bool recvErr)
    {
        using var net = new VethTbf(null, tbfLimit: 3000);
        net.Socket.RecvErr = recvErr;
        long sndbufErrors0 = net.A.Mib.Udp.SndbufErrors, discards0 = net.A.Mib.Ip.OutDiscards, sent0 = net.Tbf.Stats.Packets;
        var results = Enumerable.Range(0, 20).Select(_ => net.Send(1000)).ToArray();
        net.Sim.RunFor(Duration.FromSeconds(1));
        int enobufs = results.Count(r => r == -(int)Errno.ENOBUFS);
        Assert.Equal(recvErr ? 17 : 0, enobufs);
        Assert.Equal(recvErr ? 3 : 20, results.Count(r => r == 1000));
        Assert.Equal(3, net.Tbf.Stats.Packets - sent0);
        Assert.Equal(17, net.Tbf.Stats.Drops);
        Assert.Equal(17, net.A.Mib.Udp.SndbufErrors - sndbufErrors0);
        Assert.Equal(17, net.A.Mib.Ip.OutDiscards - discards0);
    }

    [Fact]
    public void A_dropped_first_fragment_aborts_the_rest_of_the_datagram()
    {
        using var net = new VethTbf(null, tbfLimit: 3000);
        long sent0 = net.Tbf.Stats.Packets;
        net.Send(1000); // leaves at once
        net.Send(1000); // waits
        net.Send(1000); // waits: 2084 bytes queued, so a 1514-byte fragment no longer fits
        long fragFails0 = net.A.Mib.Ip.FragFails;
        Assert.Equal(3000, net.Send(3000)); // 3 fragments; the first is dropped, the other two are never sent
        Assert.Equal(1, net.Tbf.Stats.Drops);
        Assert.Equal(1, net.A.Mib.Ip.FragFails - fragFails0);
        net.Sim.RunFor(Duration.FromSeconds(1));
        Assert.Equal(3, net.Tbf.Stats.Packets - sent0);
    }

    // linux-truth: "UDP_CORK and MSG_MORE".
    [Fact]
    public void Cork_joins_appends_into_one_datagram_charging_appended_bytes_one_for_one()
    {
        using var net = new VethTbf(null);
        var sk = net.Socket;
        var rec = FrameRecorder.On(net.Connection.DeviceA);
        Assert.Equal(0, net.A.Udp.SetCork(sk, true));
        var wmem = new List<long>();
        foreach (int n in new[] { 100, 200, 300 })
        {
            Assert.Equal(n, net.Send(n));
            wmem.Add(sk.WmemAlloc);
        }
        Assert.Equal([832L, 1032, 1332], wmem);
        Assert.Empty(rec.Sent);
        Assert.Equal(0, net.A.Udp.SetCork(sk, false));
        net.Sim.RunFor(Duration.FromSeconds(1));
        var frame = Assert.Single(rec.Sent);
        Assert.Equal(14 + 20 + 8 + 600, frame.Length);
        var buf = new byte[1000];
        Assert.Equal(600, net.B.Udp.Receive(net.Sink, buf)!.Value.Length);
    }

    [Fact]
    public void Msg_more_on_the_first_sends_gives_the_same_single_datagram()
    {
        using var net = new VethTbf(null);
        var rec = FrameRecorder.On(net.Connection.DeviceA);
        net.Send(100, MsgFlags.DontWait | MsgFlags.More);
        net.Send(200, MsgFlags.DontWait | MsgFlags.More);
        Assert.Equal(1032, net.Socket.WmemAlloc);
        net.Send(300);
        net.Sim.RunFor(Duration.FromSeconds(1));
        Assert.Equal(14 + 20 + 8 + 600, Assert.Single(rec.Sent).Length);
    }

    [Fact]
    public void Zero_length_sends_make_empty_datagrams_and_empty_corks_send_nothing()
    {
        using var net = new VethTbf(null);
        var rec = FrameRecorder.On(net.Connection.DeviceA);
        Assert.Equal(0, net.Send(0));
        net.Sim.RunFor(Duration.FromSeconds(1));
        Assert.Equal(14 + 20 + 8, Assert.Single(rec.Sent).Length);
        net.A.Udp.SetCork(net.Socket, true);
        net.A.Udp.SetCork(net.Socket, false); // nothing pending: nothing sent
        net.A.Udp.SetCork(net.Socket, true);
        net.Send(50);
        net.A.Udp.Close(net.Socket); // closing while corked sends nothing
        net.Sim.RunFor(Duration.FromSeconds(1));
        Assert.Single(rec.Sent);
        Assert.Equal(0, net.Socket.WmemAlloc);
    }

    [Fact]
    public void A_cork_that_would_exceed_the_largest_datagram_fails_with_emsgsize_and_drops_what_was_pending()
    {
        using var net = new VethTbf(null);
        var rec = FrameRecorder.On(net.Connection.DeviceA);
        net.A.Udp.SetCork(net.Socket, true);
        Assert.Equal(40000, net.A.Udp.SendMsg(net.Socket, new byte[40000], null, MsgFlags.DontWait));
        Assert.Equal(-(int)Errno.EMSGSIZE, net.A.Udp.SendMsg(net.Socket, new byte[30000], null, MsgFlags.DontWait));
        Assert.False(net.Socket.Pending); // the corked datagram was discarded
        Assert.Equal(0, net.Socket.WmemAlloc);
        net.A.Udp.SetCork(net.Socket, false);
        net.Sim.RunFor(Duration.FromSeconds(1));
        Assert.Empty(rec.Sent);
    }

    // linux-truth: "UDP: fragmentation at MTU 1500".
    [Fact]
    public void Largest_datagram_leaves_as_45_fragments_from_the_frag_list()
    {
        using var net = new VethTbf(null);
        var rec = FrameRecorder.On(net.Connection.DeviceA);
        var payload = new byte[65507];
        new Random(1).NextBytes(payload);
        Assert.Equal(65507, net.A.Udp.SendMsg(net.Socket, payload, null, MsgFlags.DontWait));
        Assert.Equal(102656, net.Socket.WmemHighWater); // linux-truth's charge for 65507 bytes
        net.Sim.RunFor(Duration.FromSeconds(2));
        var frags = rec.Sent.Select(f => { Ipv4Packet.TryCreate(f.AsSpan(14), out var ip); return (ip.FragmentOffset, ip.TotalLength, ip.MoreFragments, ip.DontFragment, ip.Identification); }).ToList();
        Assert.Equal(45, frags.Count);
        Assert.All(frags.Take(44), f => Assert.Equal((1500, true), (f.TotalLength, f.MoreFragments)));
        Assert.Equal((65120, 415, false), (frags[44].FragmentOffset, frags[44].TotalLength, frags[44].MoreFragments));
        Assert.All(frags, f => Assert.False(f.DontFragment));
        Assert.Single(frags.Select(f => f.Identification).Distinct());
        var buf = new byte[65536];
        var got = net.B.Udp.Receive(net.Sink, buf)!.Value;
        Assert.Equal(payload, buf[..got.Length]);
    }

    [Theory]
    [InlineData(1473, 3136)]
    [InlineData(2952, 4608)]
    [InlineData(2953, 5440)]
    [InlineData(4000, 6912)]
    [InlineData(8000, 12800)]
    [InlineData(20000, 32256)]
    public void Fragmented_datagrams_charge_what_linux_charges(int payload, int charge)
    {
        using var net = new VethTbf(null);
        net.A.Udp.SendMsg(net.Socket, new byte[payload], null, MsgFlags.DontWait);
        Assert.Equal(charge, net.Socket.WmemHighWater);
    }

    [Theory]
    [InlineData(PmtuDisc.Want, 1472, true)]
    [InlineData(PmtuDisc.Want, 1473, true)]
    [InlineData(PmtuDisc.Want, 65507, true)]
    [InlineData(PmtuDisc.Want, 65508, false)]
    [InlineData(PmtuDisc.Do, 1472, true)]
    [InlineData(PmtuDisc.Do, 1473, false)]
    [InlineData(PmtuDisc.Dont, 65507, true)]
    [InlineData(PmtuDisc.Dont, 65508, false)]
    public void Emsgsize_in_do_mode_above_1472_and_always_at_65508(PmtuDisc mode, int payload, bool ok)
    {
        using var net = new VethTbf(null);
        net.Socket.PmtuDisc = mode;
        int rc = net.A.Udp.SendMsg(net.Socket, new byte[payload], null, MsgFlags.DontWait);
        Assert.Equal(ok ? payload : -(int)Errno.EMSGSIZE, rc);
    }

    [Theory]
    [InlineData(PmtuDisc.Want, true)]
    [InlineData(PmtuDisc.Do, true)]
    [InlineData(PmtuDisc.Dont, false)]
    public void Df_on_unfragmented_datagrams_follows_the_mode(PmtuDisc mode, bool df)
    {
        using var net = new VethTbf(null);
        var rec = FrameRecorder.On(net.Connection.DeviceA);
        net.Socket.PmtuDisc = mode;
        net.Send(100);
        Ipv4Packet.TryCreate(rec.Sent.Single().AsSpan(14), out var ip);
        Assert.Equal(df, ip.DontFragment);
    }

    [Fact]
    public void Ip_id_connected_counts_per_socket_unconnected_shares_and_do_mode_is_zero()
    {
        using var net = new VethTbf(null);
        var rec = FrameRecorder.On(net.Connection.DeviceA);
        ushort Id(int i) { Ipv4Packet.TryCreate(rec.Sent.ElementAt(i).AsSpan(14), out var ip); return ip.Identification; }
        net.Send(10);
        net.Send(10);
        Assert.Equal((ushort)(Id(0) + 1), Id(1));
        Assert.Equal((ushort)(net.Socket.InetId), Id(1));

        var unconnected = net.A.Udp.Create();
        var dest = (VethTbf.AddrB, (ushort)9);
        net.A.Udp.SendMsg(unconnected, new byte[10], dest, MsgFlags.DontWait);
        net.A.Udp.SendMsg(unconnected, new byte[10], dest, MsgFlags.DontWait);
        net.Sim.RunFor(Duration.FromMilliseconds(10));
        Assert.Equal((ushort)(Id(2) + 1), Id(3)); // the shared counter for this (daddr, saddr, proto), same jiffy
        unconnected.PmtuDisc = PmtuDisc.Do;
        net.A.Udp.SendMsg(unconnected, new byte[10], dest, MsgFlags.DontWait);
        net.Sim.RunFor(Duration.FromMilliseconds(20));
        Assert.Equal(0, Id(4));
        net.A.Udp.Close(unconnected);
    }

    [Theory]
    [InlineData(4096, 8192)]
    [InlineData(16384, 32768)]
    [InlineData(65536, 131072)]
    [InlineData(2048, 4608)]
    [InlineData(1_000_000, 425984)]
    public void So_sndbuf_is_doubled_with_a_minimum_and_capped_by_wmem_max(int set, int got) =>
        Assert.Equal(got, Sock.SndBufFromUser(set));
}
