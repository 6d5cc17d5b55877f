using Xmit.Neighbour;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Neighbour;

public class ArpTests
{
    [Fact]
    public void First_packet_waits_in_incomplete_then_goes_when_the_reply_arrives()
    {
        using var net = new TwoHosts();
        var recA = FrameRecorder.On(net.DevA);
        net.A.Icmp.SendEchoRequest(TwoHosts.AddrB, 1, 1, 8);
        var n = net.A.Neighbours.Lookup(net.DevA, TwoHosts.AddrB)!;
        Assert.Equal(NudState.Incomplete, n.State);
        Assert.Equal(1, n.QueuedPackets);
        net.RunForMs(1);
        Assert.Equal(NudState.Reachable, n.State);
        Assert.Equal(net.DevB.Mac, n.LinkAddress);
        Assert.Equal(0, n.QueuedPackets);
        // B learned A from A's request as STALE (neigh_event_ns) and answered without asking.
        var m = net.B.Neighbours.Lookup(net.DevB, TwoHosts.AddrA)!;
        Assert.Equal(net.DevA.Mac, m.LinkAddress);
        Assert.Equal(1, net.B.Arp.Stats.RepliesSent);
        Assert.Equal(0, net.B.Arp.Stats.RequestsSent);
        var sent = recA.Sent.ToList();
        Assert.Equal(EtherType.Arp, (ushort)(sent[0][12] << 8 | sent[0][13]));
        Assert.Equal(42, sent[0].Length); // Linux does not pad; the NIC does
        Assert.Equal(EtherType.Ipv4, (ushort)(sent[1][12] << 8 | sent[1][13]));
    }

    [Fact]
    public void Unanswered_resolution_sends_three_broadcasts_one_second_apart_then_fails_and_drops()
    {
        using var net = new TwoHosts();
        var rec = FrameRecorder.On(net.DevA);
        var nobody = new Ipv4Address(198, 18, 0, 99);
        net.A.Icmp.SendEchoRequest(nobody, 1, 1, 8);
        net.A.Icmp.SendEchoRequest(nobody, 1, 2, 8);
        net.RunForMs(2999);
        var n = net.A.Neighbours.Lookup(net.DevA, nobody)!;
        Assert.Equal(NudState.Incomplete, n.State);
        Assert.Equal(2, n.QueuedPackets);
        net.RunForMs(1);
        Assert.Equal(NudState.Failed, n.State);
        Assert.Equal(0, n.QueuedPackets);
        var times = rec.Frames.Where(f => f.Outgoing).Select(f => f.Time.Nanoseconds / 1_000_000).ToArray();
        Assert.Equal([0L, 1000, 2000], times);
        Assert.All(rec.Sent, f => Assert.Equal(MacAddress.Broadcast, MacAddress.Read(f)));
        Assert.Equal(1, net.A.Neighbours.Stats.ResFailed);
        Assert.Equal(2, net.Sim.Pool.Drops(Xmit.Buffers.SkbDropReason.NeighFailed));
    }

    [Fact]
    public void Queue_is_bounded_by_truesize_and_drops_the_oldest()
    {
        using var net = new TwoHosts();
        var nobody = new Ipv4Address(198, 18, 0, 99);
        var sk = net.A.Udp.Bind(TwoHosts.AddrA, 7000);
        // 1400-byte datagrams cost 2304 each; unres_qlen_bytes 212992 holds 92 of them.
        for (int i = 0; i < 100; i++) net.A.Udp.SendDatagram(sk, TwoHosts.AddrA, 7000, nobody, 9, new byte[1400]);
        var n = net.A.Neighbours.Lookup(net.DevA, nobody)!;
        Assert.Equal(212992 / 2304, n.QueuedPackets);
        Assert.Equal(100 - 212992 / 2304, net.A.Neighbours.Stats.UnresolvedDiscards);
        Assert.Equal(n.QueuedPackets * 2304L, sk.WmemAlloc); // waiting packets stay charged to the socket
        net.RunForMs(3000);
        Assert.Equal(0, sk.WmemAlloc);
    }

    [Fact]
    public void Reachable_ages_to_stale_then_use_goes_delay_then_unicast_probes()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var n = net.A.Neighbours.Lookup(net.DevA, TwoHosts.AddrB)!;
        Assert.Equal(NudState.Reachable, n.State);
        net.RunFor(n.ReachableTime + Duration.FromSeconds(1));
        Assert.Equal(NudState.Stale, n.State);

        var rec = FrameRecorder.On(net.DevA);
        net.A.Icmp.SendEchoRequest(TwoHosts.AddrB, 1, 2, 8);
        Assert.Equal(NudState.Delay, n.State); // sent at once with the old address
        Assert.Single(rec.Sent);
        net.RunFor(Duration.FromSeconds(5));
        // Nothing confirmed B within delay_first_probe_time: PROBE with a unicast request to B's known address.
        var probe = rec.Sent.Last();
        Assert.Equal(EtherType.Arp, (ushort)(probe[12] << 8 | probe[13]));
        Assert.Equal(net.DevB.Mac, MacAddress.Read(probe));
        net.RunForMs(10);
        Assert.Equal(NudState.Reachable, n.State); // B's reply confirms
    }

    [Fact]
    public void Gratuitous_arp_updates_an_existing_entry_but_creates_none()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var n = net.A.Neighbours.Lookup(net.DevA, TwoHosts.AddrB)!;
        var stranger = new Ipv4Address(198, 18, 0, 77);
        net.B.Addresses.Add(new Xmit.Network.Ipv4.InterfaceAddress(net.DevB, stranger, 24));
        net.B.Arp.Announce(net.DevB, stranger);
        net.B.Arp.Announce(net.DevB, TwoHosts.AddrB);
        net.RunForMs(5);
        Assert.Null(net.A.Neighbours.Lookup(net.DevA, stranger)); // arp_accept = 0
        Assert.Equal(NudState.Reachable, n.State); // same address: state kept
        Assert.Equal(2, net.A.Arp.Stats.RequestsReceived);
    }

    [Fact]
    public void Broadcast_next_hop_needs_no_resolution()
    {
        using var net = new TwoHosts();
        var sk = net.B.Udp.Bind(Ipv4Address.Any, 9);
        net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, new Ipv4Address(198, 18, 0, 255), 9, new byte[10]);
        var n = net.A.Neighbours.Lookup(net.DevA, new Ipv4Address(198, 18, 0, 255))!;
        Assert.Equal(NudState.NoArp, n.State);
        Assert.Equal(0, net.A.Arp.Stats.RequestsSent);
        net.RunForMs(1);
        Assert.Equal(1, sk.ReceiveQueue.Count);
    }
}

/// <summary>
/// An ARP flood — requests for our address from ever new senders, each of which arp_process() learns — leaves
/// a bounded table: a new entry forces a collection at gc_thresh2/3, and the periodic collection removes what
/// went unused for gc_stale_time; a real neighbour keeps working throughout.
/// </summary>
public class ArpFloodTests
{
    [Fact]
    public void Twenty_thousand_senders_leave_at_most_gc_thresh3_entries_and_the_stale_ones_go()
    {
        using var net = new TwoHosts(trackAllocations: false);
        net.WarmUp();
        var table = net.B.Neighbours;
        int peak = 0;
        for (int i = 0; i < 20_000; i++)
        {
            var skb = net.Sim.Pool.AllocNetdev(42);
            var f = skb.Put(42);
            var sender = new MacAddress(0x02_00_00_00_00_00UL + (ulong)i + 1);
            EthernetFrame.TryCreate(f, out var eth);
            new EthernetRepr(MacAddress.Broadcast, sender, EtherType.Arp).Emit(eth);
            new ArpRepr(ArpOperation.Request, sender, new Ipv4Address(0xC6130000u + (uint)i + 1), default, TwoHosts.AddrB).Emit(f[14..]); // senders in 198.19.0.0/16
            net.DevB.Receive(skb);
            peak = Math.Max(peak, table.Count);
            if (i % 100 == 0) net.RunForMs(10); // 2,000 ARP requests a second
        }
        Assert.True(peak <= table.Params.GcThresh3, $"{peak} entries");
        Assert.True(table.Stats.ForcedGcRuns > 0);
        net.A.Icmp.SendEchoRequest(TwoHosts.AddrB, 1, 2, 8);
        net.RunForMs(10);
        Assert.Equal(2, net.A.Mib.Icmp.InEchoReps); // the real neighbour still answers
        net.RunFor(Duration.FromSeconds(120));       // gc_stale_time (60 s) and the periodic collection
        Assert.True(table.Count < table.Params.GcThresh1, $"{table.Count} entries left after 120 s");
    }
}

/// <summary>
/// The other half of a neighbour flood: echo requests from 20,000 sources on the subnet that do not exist. Each
/// reply needs ARP, so each source gets an INCOMPLETE entry holding a queued reply, which garbage collection
/// cannot take; at gc_thresh3 new entries are refused (table_fulls) and their replies dropped, and once the
/// probes fail the entries and the queued skbs go. Memory stays bounded throughout.
/// </summary>
public class NeighbourResolutionFloodTests
{
    [Fact]
    public void Replies_to_twenty_thousand_unresolvable_sources_hold_at_most_gc_thresh3_entries_and_are_freed()
    {
        using var net = new TwoHosts(trackAllocations: false);
        net.WarmUp();
        var table = net.B.Neighbours;
        var local = new Ipv4Address(198, 19, 0, 1);
        net.B.AddAddress(net.DevB, local, 16);          // a /16 on B's link: room for 20,000 neighbours
        var f = new Xmit.Fuzz.Frame();
        int peak = 0, peakSkbs = 0;
        for (int i = 0; i < 20_000; i++)
        {
            f.Reset("echo");
            Xmit.Fuzz.FrameWriter.Ethernet(f, net.DevB.Mac, net.DevA.Mac, EtherType.Ipv4);
            int at = Xmit.Fuzz.FrameWriter.Ipv4(f, new Ipv4Address(0xC6130000u + 2 + (uint)i), local, IpProtocol.Icmp, 16, (ushort)i);
            Xmit.Fuzz.FrameWriter.Icmp(f, at, 8, 0, (uint)i);
            Xmit.Fuzz.FrameWriter.FixChecksums(f);
            var skb = net.Sim.Pool.AllocNetdev(f.Length);
            f.Span.CopyTo(skb.Put(f.Length));
            net.DevB.Receive(skb);
            peak = Math.Max(peak, table.Count);
            peakSkbs = Math.Max(peakSkbs, net.Sim.Pool.Outstanding);
            if (i % 100 == 0) net.RunForMs(10);
        }
        Assert.True(peak <= table.Params.GcThresh3, $"{peak} entries");
        Assert.True(table.Stats.TableFulls > 0, "the table never filled");
        // A queued reply per entry, and the ARP probes on their way out.
        Assert.True(peakSkbs <= 2 * table.Params.GcThresh3 + 64, $"{peakSkbs} skbs held at the peak");
        net.A.Icmp.SendEchoRequest(TwoHosts.AddrB, 1, 2, 8);
        net.RunForMs(10);
        Assert.Equal(2, net.A.Mib.Icmp.InEchoReps);  // the real neighbour still answers
        net.RunFor(Duration.FromSeconds(120));
        Assert.True(table.Count < table.Params.GcThresh1, $"{table.Count} entries left after 120 s");
        Assert.True(net.Sim.Pool.Outstanding <= 4, $"{net.Sim.Pool.Outstanding} skbs still held");
    }
}

/// <summary>
/// A permanent entry (`ip neigh add … nud permanent`) is the administrator's: no ARP packet changes it, neither a
/// reply, a gratuitous announcement nor a request naming another MAC (__neigh_update refuses non-admin updates
/// of NUD_PERMANENT and NUD_NOARP). Found by the RX fuzzer: a mutated ARP reply rewrote the permanent entry.
/// </summary>
public class NeighbourPermanentTests
{
    [Fact]
    public void Arp_packets_do_not_change_a_permanent_entry()
    {
        using var net = new TwoHosts();
        var n = net.A.Neighbours.AddPermanent(net.DevA, TwoHosts.AddrB, net.DevB.Mac);
        var spoofed = MacAddress.LocalAdministered(0x7777);
        var f = new Xmit.Fuzz.Frame();
        foreach (var (op, dst, target) in new (ushort, MacAddress, Ipv4Address)[]
                 { (2, net.DevA.Mac, TwoHosts.AddrA), (1, MacAddress.Broadcast, TwoHosts.AddrB), (1, MacAddress.Broadcast, TwoHosts.AddrA) })
        {
            f.Reset("arp");
            Xmit.Fuzz.FrameWriter.Ethernet(f, dst, spoofed, EtherType.Arp);
            Xmit.Fuzz.FrameWriter.Arp(f, op, spoofed, TwoHosts.AddrB, op == 2 ? net.DevA.Mac : MacAddress.Zero, target);
            var skb = net.Sim.Pool.AllocNetdev(f.Length);
            f.Span.CopyTo(skb.Put(f.Length));
            net.DevA.Receive(skb);
            net.RunForMs(1);
            Assert.Equal(NudState.Permanent, n.State);
            Assert.Equal(net.DevB.Mac, n.LinkAddress);
        }
        Assert.Equal(1, net.A.Arp.Stats.RepliesSent); // the request for A's address is still answered
    }
}
