using Xmit.Tests.Support;
using Xmit.Wire;

namespace Xmit.Tests.Wire;

public class WireFormatTests
{
    // A textbook IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199, checksum 0xb861).
    private static readonly byte[] Ipv4Header = Hex.Parse("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7");

    [Fact]
    public void Ipv4_parses_literal_header()
    {
        var buf = new byte[0x73];
        Ipv4Header.CopyTo(buf, 0);
        Assert.True(Ipv4Packet.TryCreateChecked(buf, out var p));
        Assert.True(Ipv4Repr.TryParse(p, out var r));
        Assert.Equal(new Ipv4Address(192, 168, 0, 1), r.Source);
        Assert.Equal(new Ipv4Address(192, 168, 0, 199), r.Destination);
        Assert.Equal(IpProtocol.Udp, r.Protocol);
        Assert.Equal(0x73 - 20, r.PayloadLength);
        Assert.True(r.DontFragment);
        Assert.False(r.MoreFragments);
        Assert.Equal(64, r.Ttl);
        Assert.Equal(0xb861, p.HeaderChecksum);
    }

    [Fact]
    public void Ipv4_emit_reproduces_literal_header_and_checksum()
    {
        var repr = new Ipv4Repr(new(192, 168, 0, 1), new(192, 168, 0, 199), IpProtocol.Udp, 0x73 - 20, 64, 0, 0, DontFragment: true);
        var buf = new byte[20];
        repr.Emit(buf);
        Assert.Equal(Ipv4Header, buf);
    }

    [Fact]
    public void Ipv4_rejects_bad_checksum_version_and_lengths()
    {
        var buf = (byte[])Ipv4Header.Clone();
        buf[10] ^= 1;
        Assert.True(Ipv4Packet.TryCreate(buf, out var p));
        Assert.False(Ipv4Repr.TryParse(p, out _));
        Assert.False(Ipv4Packet.TryCreate(Hex.Parse("6500 0073"), out _)); // version 6 / too short
        var shortTotal = (byte[])Ipv4Header.Clone();
        Assert.False(Ipv4Packet.TryCreateChecked(shortTotal, out _)); // total length 0x73 > 20 bytes present
        var badIhl = (byte[])Ipv4Header.Clone();
        badIhl[0] = 0x44;
        Assert.False(Ipv4Packet.TryCreate(badIhl, out _));
    }

    [Fact]
    public void Ipv4_options_length_and_fragment_fields()
    {
        var repr = new Ipv4Repr(new(10, 0, 0, 1), new(10, 0, 0, 2), IpProtocol.Icmp, 100, Identification: 0xBEEF,
            MoreFragments: true, FragmentOffset: 1480, OptionsLength: 8);
        var buf = new byte[128];
        repr.Emit(buf);
        Assert.Equal(0x47, buf[0]); // IHL 7 words
        Assert.Equal(Hex.Parse("20b9"), buf[6..8]); // MF + 1480/8 = 185
        Assert.True(Ipv4Packet.TryCreate(buf, out var p));
        Assert.True(Ipv4Repr.TryParse(p, out var back));
        Assert.Equal(repr, back);
        Assert.Equal(8, p.Options.Length);
    }

    [Fact]
    public void Checksum_matches_an_independent_word_sum()
    {
        var rnd = new Random(7);
        for (int len = 0; len < 300; len += 7)
        {
            var data = new byte[len];
            rnd.NextBytes(data);
            uint sum = 0;
            for (int i = 0; i < len; i += 2) sum += (uint)(data[i] << 8 | (i + 1 < len ? data[i + 1] : 0));
            while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
            Assert.Equal((ushort)~sum, Checksum.Compute(data));
        }
    }

    [Fact]
    public void Ethernet_round_trip_and_short_frame_rejected()
    {
        var frame = Hex.Parse("ffffffffffff 020000000101 0806") ;
        Assert.True(EthernetFrame.TryCreate(frame, out var f));
        var r = EthernetRepr.Parse(f);
        Assert.Equal(MacAddress.Broadcast, r.Destination);
        Assert.Equal(MacAddress.Parse("02:00:00:00:01:01"), r.Source);
        Assert.Equal(EtherType.Arp, r.EtherType);
        var out_ = new byte[14];
        EthernetFrame.TryCreate(out_, out var g);
        r.Emit(g);
        Assert.Equal(frame, out_);
        Assert.False(EthernetFrame.TryCreate(new byte[13], out _));
    }

    [Fact]
    public void Arp_request_literal_bytes()
    {
        // who-has 192.168.1.1 tell 192.168.1.100 from 00:11:22:33:44:55
        var bytes = Hex.Parse("0001 0800 06 04 0001 001122334455 c0a80164 000000000000 c0a80101");
        Assert.True(ArpPacket.TryCreate(bytes, out var p));
        var r = ArpRepr.Parse(p);
        Assert.Equal(ArpOperation.Request, r.Operation);
        Assert.Equal(MacAddress.Parse("00:11:22:33:44:55"), r.SenderMac);
        Assert.Equal(new Ipv4Address(192, 168, 1, 100), r.SenderIp);
        Assert.Equal(new Ipv4Address(192, 168, 1, 1), r.TargetIp);
        var emitted = new byte[28];
        r.Emit(emitted);
        Assert.Equal(bytes, emitted);
        bytes[5] = 16; // IPv6-sized protocol address: not Ethernet/IPv4 ARP
        Assert.False(ArpPacket.TryCreate(bytes, out _));
    }

    [Fact]
    public void Udp_checksum_with_pseudo_header()
    {
        // 10.0.0.1:1234 -> 10.0.0.2:80, payload "hi"; checksum computed by hand:
        // pseudo 0a00+0001+0a00+0002+0011+000a, udp 04d2+0050+000a+0000+6869 => 0x9a6c... complement below
        var src = new Ipv4Address(10, 0, 0, 1);
        var dst = new Ipv4Address(10, 0, 0, 2);
        var buf = new byte[10];
        buf[8] = (byte)'h'; buf[9] = (byte)'i';
        new UdpRepr(1234, 80, 2).Emit(buf, src, dst);
        uint sum = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0011 + 0x000a + 0x04d2 + 0x0050 + 0x000a + 0x6869;
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        Assert.Equal(Hex.Parse("04d2 0050 000a") , buf[..6]);
        Assert.Equal((ushort)~sum, (ushort)(buf[6] << 8 | buf[7]));
        Assert.True(UdpDatagram.TryCreate(buf, out var d));
        Assert.True(d.VerifyChecksum(src, dst));
        buf[9] ^= 0xFF;
        Assert.False(d.VerifyChecksum(src, dst));
        Assert.False(UdpDatagram.TryCreate(buf[..9], out _)); // length field 10 > 9 bytes
    }

    [Fact]
    public void Icmp_echo_and_frag_needed()
    {
        var echo = new byte[8 + 4];
        echo[8] = 1; echo[9] = 2; echo[10] = 3; echo[11] = 4;
        IcmpRepr.Echo(request: true, 0x1234, 7, 4).Emit(echo);
        Assert.Equal(Hex.Parse("0800"), echo[..2]);
        Assert.True(Checksum.Verify(echo));
        Assert.True(IcmpPacket.TryCreate(echo, out var p));
        Assert.True(IcmpRepr.TryParse(p, out var r));
        Assert.Equal((ushort)0x1234, r.EchoIdentifier);
        Assert.Equal((ushort)7, r.EchoSequence);

        var fn = new byte[8 + 28];
        IcmpRepr.DestinationUnreachable(IcmpCode.FragmentationNeeded, 1400, 28).Emit(fn);
        Assert.Equal(Hex.Parse("0304"), fn[..2]);
        Assert.Equal(Hex.Parse("0000 0578"), fn[4..8]); // unused + next-hop MTU 1400 (RFC 1191)
        IcmpPacket.TryCreate(fn, out var q);
        Assert.Equal(1400, q.NextHopMtu);
    }

    [Fact]
    public void Addresses_parse_and_format()
    {
        Assert.Equal("198.18.0.1", Ipv4Address.Parse("198.18.0.1").ToString());
        Assert.False(Ipv4Address.TryParse("198.18.0", out _));
        Assert.False(Ipv4Address.TryParse("198.18.0.256", out _));
        Assert.True(new Ipv4Address(198, 18, 3, 4).InSubnet(new Ipv4Address(198, 18, 0, 0), 15));
        Assert.False(new Ipv4Address(198, 20, 0, 1).InSubnet(new Ipv4Address(198, 18, 0, 0), 15));
        Assert.Equal("02:00:00:00:01:01", MacAddress.LocalAdministered(0x101).ToString());
    }
}
