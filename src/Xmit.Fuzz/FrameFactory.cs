using System.Buffers.Binary;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Fuzz;

/// <summary>
/// Valid frames of every protocol T parses, aimed at T's live state: ARP, ICMP echo and errors quoting what T
/// sent, UDP to the bound port and to closed ones, fragments of datagrams that are left in reassembly, SYNs
/// with options to the listener, and segments inside the victim connection's windows with timestamps and SACK
/// blocks. IPv4 options are added to some of them.
/// </summary>
public sealed class FrameFactory(RxTarget target, DeterministicRandom random)
{
    private readonly byte[] _options = new byte[40];

    /// <summary>Frames built so far, by kind.</summary>
    public Dictionary<string, long> Built { get; } = new();

    public void Build(Frame f)
    {
        switch (random.NextUInt32(20))
        {
            case 0 or 1: Arp(f); break;
            case 2 or 3: Echo(f); break;
            case 4 or 5: IcmpError(f); break;
            case 6 or 7: Udp(f); break;
            case 8 or 9 or 10: Fragment(f); break;
            case 11 or 12: Syn(f); break;
            case 13: ClosedPort(f); break;
            default: Victim(f); break;
        }
        Built[f.Kind] = Built.GetValueOrDefault(f.Kind) + 1;
    }

    private MacAddress TMac => target.DevT.Mac;
    private MacAddress PMac => target.DevP.Mac;

    /// <summary>P most of the time; otherwise a host on the subnet that does not exist, or one off it.</summary>
    private Ipv4Address Source() => random.NextUInt32(4) switch
    {
        0 => new Ipv4Address(198, 18, 0, (byte)(3 + random.NextUInt32(8))),
        1 when random.NextUInt32(4) == 0 => new Ipv4Address(random.NextUInt32()),
        _ => RxTarget.AddrP,
    };

    private void Arp(Frame f)
    {
        f.Reset("arp");
        var spa = random.NextUInt32(3) == 0 ? RxTarget.AddrP : new Ipv4Address(198, 18, 0, (byte)(2 + random.NextUInt32(30)));
        var sha = spa == RxTarget.AddrP ? PMac : MacAddress.LocalAdministered(0x7700 + random.NextUInt32(256));
        bool request = random.NextUInt32(2) == 0;
        bool gratuitous = random.NextUInt32(5) == 0;
        FrameWriter.Ethernet(f, request ? MacAddress.Broadcast : TMac, sha, EtherType.Arp);
        FrameWriter.Arp(f, request ? (ushort)1 : (ushort)2, sha, spa, request ? MacAddress.Zero : TMac, gratuitous ? spa : RxTarget.AddrT);
        f.Kind = gratuitous ? "arp-gratuitous" : request ? "arp-request" : "arp-reply";
    }

    /// <summary>IPv4 options often left alone by hosts and sometimes not: NOPs, EOL, record route, timestamp, source routes, router alert.</summary>
    private ReadOnlySpan<byte> IpOptions()
    {
        if (random.NextUInt32(5) != 0) return default;
        var o = _options.AsSpan();
        o.Clear();
        int n = 0;
        while (n < 36 && random.NextUInt32(3) != 0)
        {
            int room = 40 - n;
            switch (random.NextUInt32(7))
            {
                case 0: o[n++] = 1; break;                                                 // NOP
                case 1: o[n++] = 0; break;                                                 // EOL
                case 2 when room >= 11: o[n] = 7; o[n + 1] = 11; o[n + 2] = 4; n += 11; break;   // record route, two slots
                case 3 when room >= 12: o[n] = 68; o[n + 1] = 12; o[n + 2] = 5; o[n + 3] = 0; n += 12; break; // timestamps only
                case 4 when room >= 11:                                                    // loose or strict source route
                    o[n] = random.NextUInt32(2) == 0 ? (byte)131 : (byte)137; o[n + 1] = 11; o[n + 2] = 4;
                    RxTarget.AddrP.Write(o[(n + 3)..]); RxTarget.AddrT.Write(o[(n + 7)..]); n += 11; break;
                case 5 when room >= 4: o[n] = 148; o[n + 1] = 4; n += 4; break;            // router alert
                default: o[n++] = 1; break;
            }
        }
        return o[..n];
    }

    private void Echo(Frame f)
    {
        f.Reset("icmp-echo");
        int len = (int)random.NextUInt32(random.NextUInt32(4) == 0 ? 1400u : 64u);
        var dst = random.NextUInt32(8) == 0 ? new Ipv4Address(198, 18, 0, 255) : RxTarget.AddrT;
        FrameWriter.Ethernet(f, dst == RxTarget.AddrT ? TMac : MacAddress.Broadcast, PMac, EtherType.Ipv4);
        int at = FrameWriter.Ipv4(f, Source(), dst, IpProtocol.Icmp, 8 + len, (ushort)random.NextUInt32(), options: IpOptions());
        byte type = random.NextUInt32(8) switch { 0 => 0, 1 => 13, 2 => (byte)random.NextUInt32(), _ => 8 }; // request, reply, timestamp, anything
        FrameWriter.Icmp(f, at, type, 0, random.NextUInt32());
        Fill(f, at + 8, len);
        FrameWriter.FixChecksums(f);
    }

    /// <summary>Unreachable (port, fragmentation needed with an MTU), time exceeded, redirect, parameter problem, quench: quoting a datagram T sent to P:9 or a segment of the victim.</summary>
    private void IcmpError(Frame f)
    {
        f.Reset("icmp-error");
        var (type, code) = random.NextUInt32(8) switch
        {
            0 or 1 => (3, 3), 2 => (3, 4), 3 => (3, (int)random.NextUInt32(16)), 4 => (11, (int)random.NextUInt32(2)),
            5 => (5, 1), 6 => (12, 0), _ => (4, 0),
        };
        bool tcp = random.NextUInt32(2) == 0 && target.Victim is not null;
        int quoted = 20 + 8 + (int)random.NextUInt32(3) * 4;
        FrameWriter.Ethernet(f, TMac, PMac, EtherType.Ipv4);
        int at = FrameWriter.Ipv4(f, RxTarget.AddrP, RxTarget.AddrT, IpProtocol.Icmp, 8 + quoted, (ushort)random.NextUInt32());
        uint rest = type == 3 && code == 4 ? (uint)random.NextUInt32(4) switch { 0 => 0u, 1 => 68u, 2 => 576u, _ => 1280u } : 0u;
        FrameWriter.Icmp(f, at, (byte)type, (byte)code, rest);
        // The quoted IP header and the first 8 bytes of its payload, as T sent them.
        var q = f.Bytes.AsSpan(at + 8);
        q[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(q[2..], (ushort)(tcp ? 52 : 60));
        q[8] = 64;
        q[9] = tcp ? IpProtocol.Tcp : IpProtocol.Udp;
        RxTarget.AddrT.Write(q[12..]);
        RxTarget.AddrP.Write(q[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(q[10..], Checksum.Compute(q[..20]));
        if (tcp)
        {
            var v = target.Victim!;
            BinaryPrimitives.WriteUInt16BigEndian(q[20..], v.LocalPort);
            BinaryPrimitives.WriteUInt16BigEndian(q[22..], v.RemotePort);
            BinaryPrimitives.WriteUInt32BigEndian(q[24..], (v.SndUna + random.NextUInt32(2000)).Value);
        }
        else
        {
            var u = target.ConnectedUdp;
            BinaryPrimitives.WriteUInt16BigEndian(q[20..], u.LocalPort);
            BinaryPrimitives.WriteUInt16BigEndian(q[22..], u.RemotePort);
            BinaryPrimitives.WriteUInt16BigEndian(q[24..], 40);
        }
        f.Kind = tcp ? "icmp-error-tcp" : "icmp-error-udp";
        FrameWriter.FixChecksums(f);
    }

    private void Udp(Frame f)
    {
        f.Reset("udp");
        int len = (int)random.NextUInt32(random.NextUInt32(4) == 0 ? 1400u : 128u);
        ushort port = random.NextUInt32(4) == 0 ? (ushort)random.NextUInt32(65536) : RxTarget.UdpPort;
        var dst = random.NextUInt32(10) == 0 ? Ipv4Address.Broadcast : RxTarget.AddrT;
        FrameWriter.Ethernet(f, dst == RxTarget.AddrT ? TMac : MacAddress.Broadcast, PMac, EtherType.Ipv4);
        int at = FrameWriter.Ipv4(f, Source(), dst, IpProtocol.Udp, 8 + len, (ushort)random.NextUInt32(), options: IpOptions());
        Fill(f, at + 8, len);
        FrameWriter.Udp(f, at, (ushort)(1024 + random.NextUInt32(60000)), port, len);
        FrameWriter.FixChecksums(f);
    }

    /// <summary>
    /// One fragment of a UDP datagram to port 7. A datagram is named by (source, ID) from small pools and its
    /// bytes follow from the ID, so fragments of the same datagram agree, sets fill up over batches, some complete
    /// and the rest wait in reassembly until they time out.
    /// </summary>
    private void Fragment(Frame f)
    {
        f.Reset("udp-fragment");
        ushort id = (ushort)(0xF000 + random.NextUInt32(16));
        var src = random.NextUInt32(2) == 0 ? RxTarget.AddrP : new Ipv4Address(198, 18, 0, (byte)(3 + id % 4));
        int payload = 8 + 200 * (1 + id % 12);             // 208 … 2408 bytes after the IP header
        int fragSize = 8 * (8 + id % 5 * 16);               // 64 … 576 bytes per fragment
        int count = (payload + fragSize - 1) / fragSize;
        int index = (int)random.NextUInt32((uint)count);
        int offset = index * fragSize;
        int len = Math.Min(fragSize, payload - offset);
        bool more = index < count - 1;
        FrameWriter.Ethernet(f, TMac, PMac, EtherType.Ipv4);
        int at = FrameWriter.Ipv4(f, src, RxTarget.AddrT, IpProtocol.Udp, len, id, (ushort)((more ? 0x2000 : 0) | offset / 8));
        // The whole datagram (UDP header and payload) is a function of the ID; copy this fragment's part.
        Span<byte> whole = stackalloc byte[payload];
        for (int i = 8; i < payload; i++) whole[i] = (byte)(id + i);
        BinaryPrimitives.WriteUInt16BigEndian(whole, 4000);
        BinaryPrimitives.WriteUInt16BigEndian(whole[2..], RxTarget.UdpPort);
        BinaryPrimitives.WriteUInt16BigEndian(whole[4..], (ushort)payload);
        ushort c = Checksum.Fold(Checksum.Add(Checksum.PseudoHeader(src, RxTarget.AddrT, IpProtocol.Udp, payload), whole));
        BinaryPrimitives.WriteUInt16BigEndian(whole[6..], c == 0 ? (ushort)0xFFFF : c);
        whole.Slice(offset, len).CopyTo(f.Bytes.AsSpan(at));
        // Only the IP header checksum: the UDP checksum (in the first fragment) covers the datagram.
        var ip = f.Bytes.AsSpan(f.Ip, at - f.Ip);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip));
        f.Kind = index == 0 ? "udp-fragment-first" : more ? "udp-fragment-middle" : "udp-fragment-last";
    }

    /// <summary>TCP options in a random order: MSS, window scale, SACK permitted, timestamps, SACK blocks, NOPs.</summary>
    private ReadOnlySpan<byte> TcpOptions(bool syn, uint tsecr, uint sackBase)
    {
        var o = _options.AsSpan();
        o.Clear();
        int n = 0;
        int want = (int)random.NextUInt32(6);
        for (int k = 0; k < want && n < 36; k++)
        {
            int room = 40 - n;
            switch (random.NextUInt32(syn ? 5u : 4u))
            {
                case 0 when room >= 10:
                    o[n] = 8; o[n + 1] = 10;
                    BinaryPrimitives.WriteUInt32BigEndian(o[(n + 2)..], (uint)target.Sim.Now.Nanoseconds / 1_000_000 + random.NextUInt32(3));
                    BinaryPrimitives.WriteUInt32BigEndian(o[(n + 6)..], tsecr);
                    n += 10; break;
                case 1 when room >= 10:
                {
                    int blocks = Math.Min(1 + (int)random.NextUInt32(4), (room - 2) / 8);
                    o[n] = 5; o[n + 1] = (byte)(2 + 8 * blocks);
                    for (int b = 0; b < blocks; b++)
                    {
                        uint start = sackBase + random.NextUInt32(64_000);
                        BinaryPrimitives.WriteUInt32BigEndian(o[(n + 2 + 8 * b)..], start);
                        BinaryPrimitives.WriteUInt32BigEndian(o[(n + 6 + 8 * b)..], start + 1 + random.NextUInt32(3000));
                    }
                    n += 2 + 8 * blocks; break;
                }
                case 2: o[n++] = 1; break;
                case 3 when room >= 4: o[n] = 2; o[n + 1] = 4; BinaryPrimitives.WriteUInt16BigEndian(o[(n + 2)..], (ushort)(random.NextUInt32(2) == 0 ? 1460 : random.NextUInt32(65536))); n += 4; break;
                case 4 when room >= 3: o[n] = 3; o[n + 1] = 3; o[n + 2] = (byte)random.NextUInt32(16); n += 3; break;
                default: if (room >= 2) { o[n] = 4; o[n + 1] = 2; n += 2; } break;
            }
        }
        return o[..n];
    }

    private void Syn(Frame f)
    {
        f.Reset("tcp-syn");
        FrameWriter.Ethernet(f, TMac, PMac, EtherType.Ipv4);
        var src = random.NextUInt32(4) == 0 ? new Ipv4Address(198, 18, 0, (byte)(3 + random.NextUInt32(8))) : RxTarget.AddrP;
        var options = TcpOptions(syn: true, 0, 0);
        int hlen = 20 + ((options.Length + 3) & ~3);
        int at = FrameWriter.Ipv4(f, src, RxTarget.AddrT, IpProtocol.Tcp, hlen, (ushort)random.NextUInt32(), options: IpOptions());
        ushort port = random.NextUInt32(8) == 0 ? RxTarget.VictimPort : RxTarget.ListenPort;
        byte flags = random.NextUInt32(6) switch { 0 => TcpFlags.Syn | TcpFlags.Ack, 1 => TcpFlags.Ack, 2 => TcpFlags.Syn | TcpFlags.Fin, _ => TcpFlags.Syn };
        FrameWriter.Tcp(f, at, (ushort)(20000 + random.NextUInt32(32)), port, random.NextUInt32(), random.NextUInt32(), flags, 65535, options);
        FrameWriter.FixChecksums(f);
    }

    private void ClosedPort(Frame f)
    {
        f.Reset("tcp-closed-port");
        FrameWriter.Ethernet(f, TMac, PMac, EtherType.Ipv4);
        int at = FrameWriter.Ipv4(f, Source(), RxTarget.AddrT, IpProtocol.Tcp, 20, (ushort)random.NextUInt32());
        FrameWriter.Tcp(f, at, (ushort)random.NextUInt32(), (ushort)(7000 + random.NextUInt32(1000)), random.NextUInt32(), random.NextUInt32(), (byte)random.NextUInt32(), 1000);
        FrameWriter.FixChecksums(f);
    }

    /// <summary>A segment on the victim connection, as if from P: sequence numbers around rcv_nxt, ACKs between snd_una and snd_nxt.</summary>
    private void Victim(Frame f)
    {
        var v = target.Victim;
        if (v is null) { Syn(f); return; }
        f.Reset("tcp-victim");
        uint rcvNxt = v.RcvNxt.Value, sndUna = v.SndUna.Value, flight = (v.SndNxt - v.SndUna);
        uint seq = random.NextUInt32(6) switch
        {
            0 => rcvNxt - random.NextUInt32(3000),                  // old data
            1 => rcvNxt + v.RcvWnd - random.NextUInt32(1500),       // at the right edge
            2 => random.NextUInt32(),                               // anywhere
            _ => rcvNxt + random.NextUInt32(4) * 1000,              // in order or just past a hole
        };
        uint ack = random.NextUInt32(5) switch
        {
            0 => sndUna - random.NextUInt32(100_000),
            1 => random.NextUInt32(),
            _ => sndUna + random.NextUInt32(flight + 1),
        };
        byte flags = random.NextUInt32(20) switch
        {
            0 => TcpFlags.Rst, 1 => TcpFlags.Rst | TcpFlags.Ack, 2 => TcpFlags.Syn, 3 => TcpFlags.Fin | TcpFlags.Ack,
            4 => TcpFlags.Urg | TcpFlags.Ack, 5 => (byte)random.NextUInt32(), 6 or 7 or 8 => TcpFlags.Ack,
            _ => TcpFlags.Psh | TcpFlags.Ack,
        };
        // RSTs only now and then: each one costs a new victim and its handshake.
        if ((flags & TcpFlags.Rst) != 0 && random.NextUInt32(8) != 0) flags = TcpFlags.Ack;
        var options = TcpOptions(syn: false, (uint)random.NextUInt32(), sndUna);
        int hlen = 20 + ((options.Length + 3) & ~3);
        int len = (flags & TcpFlags.Psh) != 0 ? (int)random.NextUInt32(1200) : 0;
        FrameWriter.Ethernet(f, TMac, PMac, EtherType.Ipv4);
        int at = FrameWriter.Ipv4(f, RxTarget.AddrP, RxTarget.AddrT, IpProtocol.Tcp, hlen + len, (ushort)random.NextUInt32(), options: IpOptions());
        FrameWriter.Tcp(f, at, v.RemotePort, v.LocalPort, seq, ack, flags, (ushort)random.NextUInt32(), options);
        Fill(f, at + hlen, len);
        FrameWriter.FixChecksums(f);
    }

    private void Fill(Frame f, int at, int len)
    {
        for (int i = 0; i < len; i++) f.Bytes[at + i] = (byte)(i * 7 + 3);
    }
}
