using Xmit.Buffers;
using Xmit.Link;
using Xmit.Link.Drivers;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Link;

/// <summary>
/// TCP's checksum is computed once, by whoever Linux leaves it to: the stack marks every segment CHECKSUM_PARTIAL
/// (tcp_v4_send_check), a device with offload finishes it, one without gets skb_checksum_help or GSO's per-segment
/// checksums; a receiving NIC with rx-checksum passes good segments up CHECKSUM_UNNECESSARY, and a damaged frame
/// is still caught by the stack.
/// </summary>
public class ChecksumOffloadTests
{
    /// <summary>Records each TCP frame a device sees: direction, checksum state, and whether its bytes carry a correct checksum.</summary>
    private sealed class TcpFrames : IPacketTap
    {
        public readonly List<(bool Outgoing, ChecksumState State, bool Valid)> Seen = [];

        public void OnPacket(NetDevice device, SkBuff skb, bool outgoing)
        {
            var bytes = new byte[skb.Len];
            skb.CopyBits(0, bytes);
            if (!EthernetFrame.TryCreate(bytes, out var eth) || !Ipv4Packet.TryCreate(eth.Payload, out var ip) || ip.Protocol != IpProtocol.Tcp) return;
            if (!TcpSegment.TryCreate(ip.Payload, out var tcp)) return;
            Seen.Add((outgoing, skb.IpSummed, tcp.VerifyChecksum(ip.Source, ip.Destination)));
        }
    }

    private static void TransferByteExact(TwoHosts net, int bytes)
    {
        net.WarmUp();
        var c = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        Assert.True(TcpConnection.Transfer(net, c.A, c.Client, c.B, c.Server, bytes, seed: 5), "the bytes B read differ from what A wrote");
        c.Close();
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Ring_nic_checksums_are_finished_once_and_verified_by_hardware_or_stack(bool txOffload, bool rxChecksum)
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 1_000_000_000 }, new RingDriverConfig { ChecksumOffload = txOffload, RxChecksum = rxChecksum });
        var a = new TcpFrames();
        var b = new TcpFrames();
        net.DevA.AddTap(a);
        net.DevB.AddTap(b);
        TransferByteExact(net, 300_000);
        var sent = a.Seen.Where(f => f.Outgoing).ToList();
        Assert.NotEmpty(sent);
        // Taps see what the driver gets: a partial checksum left to the hardware (as tcpdump shows "incorrect"),
        // or the one skb_checksum_help / software GSO finished.
        Assert.All(sent, f => Assert.Equal(txOffload ? ChecksumState.Partial : ChecksumState.None, f.State));
        Assert.All(sent, f => Assert.Equal(!txOffload, f.Valid));
        // The wire carried correct checksums either way, and the receiving NIC vouched for them when it could.
        var arrived = b.Seen.Where(f => !f.Outgoing).ToList();
        Assert.All(arrived, f => Assert.True(f.Valid));
        Assert.All(arrived, f => Assert.Equal(rxChecksum ? ChecksumState.Unnecessary : ChecksumState.None, f.State));
        Assert.Equal(0, net.B.Tcp.Mib.InErrs);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Veth_never_computes_tcp_checksums_yet_a_corrupted_skb_is_dropped(ulong seed)
    {
        using var net = new TwoHosts(veth: true, seed: seed, vethFaults: new LinkFaults { CorruptRate = 0.05 });
        var b = new TcpFrames();
        net.DevB.AddTap(b);
        TransferByteExact(net, 2_000_000);
        var arrived = b.Seen.Where(f => !f.Outgoing).ToList();
        // Undamaged skbs arrive as the sender left them (CHECKSUM_PARTIAL → UNNECESSARY, the field never summed);
        // a damaged one had its checksum finished on the wire and goes up unverified, so B's checksum drops it.
        Assert.Contains(arrived, f => f.State == ChecksumState.Unnecessary && !f.Valid);
        Assert.Contains(arrived, f => f.State == ChecksumState.None);
        long corrupted = net.Connection.Link.A.Faults.Corrupted + net.Connection.Link.B.Faults.Corrupted;
        Assert.True(corrupted > 0);
        Assert.True(net.B.Tcp.Mib.InErrs + net.A.Tcp.Mib.InErrs > 0, "no corrupted segment was caught by TCP's checksum");
    }
}

/// <summary>The ring NIC's receive checksum engine on hand-made frames: only a right TCP/UDP checksum is vouched for.</summary>
public class RxChecksumEngineTests
{
    private static SkBuff UdpFrame(TwoHosts net, bool more = false, bool corrupt = false, bool noChecksum = false)
    {
        var skb = net.Sim.Pool.AllocNetdev(64);
        var f = skb.Put(14 + 20 + 8 + 4);
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(net.DevB.Mac, net.DevA.Mac, EtherType.Ipv4).Emit(eth);
        new UdpRepr(7000, 9, 4).Emit(f[34..], TwoHosts.AddrA, TwoHosts.AddrB);
        if (noChecksum) f[40] = f[41] = 0;
        if (corrupt) f[45] ^= 1;
        new Ipv4Repr(TwoHosts.AddrA, TwoHosts.AddrB, IpProtocol.Udp, 12, MoreFragments: more).Emit(f[14..]);
        return skb;
    }

    [Theory]
    [InlineData(false, false, false, ChecksumState.Unnecessary)]
    [InlineData(false, true, false, ChecksumState.None)] // a bad checksum is left for the stack to find
    [InlineData(true, false, false, ChecksumState.None)] // a fragment: hardware does not reassemble
    [InlineData(false, false, true, ChecksumState.None)] // UDP without a checksum: nothing to verify
    public void Only_a_right_tcp_or_udp_checksum_is_vouched_for(bool fragment, bool corrupt, bool noChecksum, ChecksumState expected)
    {
        using var net = new TwoHosts();
        var skb = UdpFrame(net, fragment, corrupt, noChecksum);
        SkbChecksum.VerifyInHardware(skb);
        Assert.Equal(expected, skb.IpSummed);
        skb.Free();
    }
}
