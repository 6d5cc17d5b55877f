using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Packetdrill;

public sealed partial class ScriptRunner
{
    /// <summary>
    /// The connection under test as packetdrill tracks it: the live and scripted local ISN (the local side's
    /// sequence numbers are relative in scripts), the remote's port, and the TS val map (script → live) used to
    /// rewrite the echo in injected timestamps.
    /// </summary>
    private sealed class TcpConnection
    {
        public ushort LocalPort, RemotePort;
        public uint ScriptLocalIsn;
        public uint? LiveLocalIsn;
        public readonly Dictionary<uint, uint> TsValMap = [];
        public bool FoundFirstTs;
        public uint FirstScriptTsVal, FirstLiveTsVal;

        /// <summary>The remote's ISN (its SYN's or SYN-ACK's sequence number, injected as scripted).</summary>
        public uint RemoteIsn;

        /// <summary>
        /// Script → live offset of the local side's sequence space, as packetdrill's socket.h has it (like tcpdump):
        /// in a packet with SYN the script's numbers are absolute (live ISN − script ISN), in any other they are
        /// relative to the live ISN.
        /// </summary>
        public uint LocalOffset(bool syn) => LiveLocalIsn is { } live ? (syn ? live - ScriptLocalIsn : live) : 0;

        /// <summary>Script → live offset of the remote's sequence space: none with SYN, else relative to its ISN.</summary>
        public uint RemoteOffset(bool syn) => syn ? 0 : RemoteIsn;
    }

    private TcpConnection? _conn;
    /// <summary>A socket() call made a new socket under test: until its connection starts, the old one's segments are not its.</summary>
    private bool _newSocketUnderTest;
    /// <summary>
    /// The connection under test is an active open still in SYN-SENT (its SYN went out, no SYN-ACK came in): an
    /// inbound SYN is then for it (crossed SYNs), not a new connection to a listener — packetdrill's
    /// handle_listen_for_script_packet() makes a child only while the socket under test listens.
    /// </summary>
    private bool _activeOpenPending;
    private ushort _nextRemotePort = 40000;
    private bool _strictSegments;

    private static TcpSpec ReadTcp(PacketAction p, int line)
    {
        var (spec, error) = PacketSpecParser.Parse(p);
        if (spec is not TcpSpec tcp) throw new UnsupportedException($"line {line}: cannot read the tcp packet '{p}': {error}");
        if (tcp.Ip is { FlowLabel: not null }) throw new UnsupportedException($"line {line}: flow labels are not modelled");
        if (tcp.Ip is { Ecn: { } ecn } && EcnBits(ecn) is null) throw new UnsupportedException($"line {line}: unknown ECN marking [{ecn}]");
        if (tcp.Flags.Contains('U', StringComparison.Ordinal)) throw new UnsupportedException($"line {line}: urgent data is not modelled");
        return tcp;
    }

    /// <summary>
    /// The IP ECN field a packet line's [ect0] / [ect1] / [ce] / [noecn] stands for; -1 for [ect01] (outbound only:
    /// either ECT code point passes); null if unknown.
    /// </summary>
    private static int? EcnBits(string ecn) => ecn switch
    {
        "no_ecn" or "noecn" => 0, "ect1" => 1, "ect0" => 2, "ce" => 3, "ect01" => -1, _ => null,
    };

    /// <summary>
    /// An outbound line's IP checks, as packetdrill's verify_outbound_live_tos(): an ECN marking checks the ECN bits
    /// only, a (tos N) the whole byte; a line with neither checks nothing.
    /// </summary>
    private static string? CheckTos(IpInfo? ip, byte actual)
    {
        if (ip is null) return null;
        int ecn = actual & 3;
        if (ip.Ecn is { } e)
        {
            int want = EcnBits(e)!.Value;
            if (want < 0 ? ecn is not (1 or 2) : ecn != want) return $"different IP ECN field (expected [{e}], got {EcnName(ecn)})";
        }
        else if (ip.Tos is { } tos && actual != tos) return $"different IP TOS (expected 0x{tos:x}, got 0x{actual:x})";
        return null;
    }

    private static string EcnName(int bits) => bits switch { 0 => "[noecn]", 1 => "[ect1]", 2 => "[ect0]", _ => "[ce]" };

    private static byte FlagBits(string flags)
    {
        byte b = 0;
        foreach (char c in flags)
            b |= c switch
            {
                'S' => TcpFlags.Syn, 'F' => TcpFlags.Fin, 'R' => TcpFlags.Rst, 'P' => TcpFlags.Psh, '.' => TcpFlags.Ack,
                'E' => TcpFlags.Ece, 'W' => TcpFlags.Cwr, 'U' => TcpFlags.Urg, _ => (byte)0,
            };
        return b;
    }

    /// <summary>
    /// &lt; TCP: a SYN to a listener opens a new connection under test (remote ISN as scripted, a fresh remote
    /// port); ACK numbers and SACK blocks move from script to live local sequence space, a TS echo is mapped to
    /// the live TS val the script's value stands for.
    /// </summary>
    private void InjectTcp(PacketAction p, int line)
    {
        var spec = ReadTcp(p, line);
        if (spec.Window is null) throw new UnsupportedException($"line {line}: window must be specified for inbound packets");
        byte flags = FlagBits(spec.Flags);
        bool syn = (flags & TcpFlags.Syn) != 0;
        if (syn && (flags & TcpFlags.Ack) != 0) _activeOpenPending = false;
        if (syn && (flags & TcpFlags.Ack) == 0 && !(_activeOpenPending && _conn is not null))
        {
            _conn = new TcpConnection { LocalPort = _lastLocalPort, RemotePort = _nextRemotePort++ };
            _newSocketUnderTest = false;
        }
        var conn = _conn ?? throw new UnsupportedException($"line {line}: an inbound TCP packet needs a connection (a listener or a connect) first");
        if (syn) conn.RemoteIsn = (uint)spec.Start;
        ushort sport = spec.Ports is { } ports ? (ushort)ports.Src : conn.RemotePort;
        ushort dport = spec.Ports is { } ports2 ? (ushort)ports2.Dst : conn.LocalPort;
        uint ack = spec.Ack is { } a ? (uint)a + conn.LocalOffset(syn) : 0;

        Span<byte> opts = stackalloc byte[64];
        int ol = 0;
        foreach (var o in spec.Options ?? [])
        {
            switch (o.Kind)
            {
                case "nop": opts[ol++] = 1; break;
                case "eol": opts[ol++] = 0; break;
                case "mss":
                    opts[ol] = 2; opts[ol + 1] = 4;
                    BinaryPrimitives.WriteUInt16BigEndian(opts[(ol + 2)..], (ushort)o.Values[0]);
                    ol += 4;
                    break;
                case "wscale": opts[ol] = 3; opts[ol + 1] = 3; opts[ol + 2] = (byte)o.Values[0]; ol += 3; break;
                case "sackOK": opts[ol] = 4; opts[ol + 1] = 2; ol += 2; break;
                case "sack":
                    opts[ol] = 5; opts[ol + 1] = (byte)(2 + 4 * o.Values.Count);
                    ol += 2;
                    foreach (var v in o.Values)
                    {
                        BinaryPrimitives.WriteUInt32BigEndian(opts[ol..], (uint)v + conn.LocalOffset(syn));
                        ol += 4;
                    }
                    break;
                case "md5":
                {
                    // TCPOPT_MD5SIG (kind 19, 18 bytes) with the script's digest, as packetdrill writes it.
                    var digest = o.Cookie is { Length: 32 } hex && hex.All(Uri.IsHexDigit) ? Convert.FromHexString(hex)
                        : throw new UnsupportedException($"line {line}: md5 option '{o.Cookie}' is not 16 hex bytes");
                    opts[ol] = 19; opts[ol + 1] = 18;
                    digest.CopyTo(opts[(ol + 2)..]);
                    ol += 18;
                    break;
                }
                case "FO" or "FOEXP":
                {
                    // Kind 34, or 254 with the magic; the script lists any NOP padding itself.
                    var cookie = CookieBytes(o, line);
                    bool exp = o.Kind == "FOEXP";
                    int head = exp ? 4 : 2;
                    opts[ol] = exp ? TcpOptions.ExperimentalKind : TcpOptions.FastOpenKind;
                    opts[ol + 1] = (byte)(head + cookie.Length);
                    if (exp) BinaryPrimitives.WriteUInt16BigEndian(opts[(ol + 2)..], TcpOptions.FastOpenMagic);
                    cookie.CopyTo(opts[(ol + head)..]);
                    ol += head + cookie.Length;
                    break;
                }
                case "TS":
                    opts[ol] = 8; opts[ol + 1] = 10;
                    BinaryPrimitives.WriteUInt32BigEndian(opts[(ol + 2)..], (uint)o.Values[0]);
                    BinaryPrimitives.WriteUInt32BigEndian(opts[(ol + 6)..], (flags & TcpFlags.Ack) != 0 ? LiveEcr(conn, (uint)o.Values[1], line) : (uint)o.Values[1]);
                    ol += 10;
                    break;
            }
        }
        if (ol % 4 != 0) throw new UnsupportedException($"line {line}: TCP options of {ol} bytes do not fill 32-bit words");
        int tcpLen = TcpSegment.MinHeaderLength + ol + spec.Length;
        int total = 14 + 20 + tcpLen;
        var skb = TunSkb(total);
        var f = skb.Put(total);
        EthernetFrame.TryCreate(f, out var eth);
        new EthernetRepr(_tun.Mac, _remoteMac, EtherType.Ipv4).Emit(eth);
        var seg = f[34..];
        opts[..ol].CopyTo(seg[TcpSegment.MinHeaderLength..]);
        seg[(TcpSegment.MinHeaderLength + ol)..].Clear();
        new TcpHeaderRepr { SourcePort = sport, DestinationPort = dport, Seq = new TcpSeq((uint)spec.Start + conn.RemoteOffset(syn)), Ack = new TcpSeq(ack), Flags = flags, Window = (ushort)spec.Window.Value }
            .Emit(seg[..tcpLen], ol, _remote, _local);
        // The TOS byte as scripted, its ECN field from an [ect0]-style marking if there is one.
        int tosByte = spec.Ip?.Tos ?? 0;
        if (spec.Ip?.Ecn is { } ecn)
        {
            int bits = EcnBits(ecn)!.Value;
            if (bits < 0) throw new UnsupportedException($"line {line}: [ect01] is for outbound packets only");
            tosByte = (tosByte & ~3) | bits;
        }
        new Ipv4Repr(_remote, _local, IpProtocol.Tcp, tcpLen, Tos: (byte)tosByte).Emit(f[14..]);
        _tun.Receive(skb);
    }

    /// <summary>The live TS echo for a scripted one: the live val recorded for it, else interpolated from the first pair.</summary>
    private static uint LiveEcr(TcpConnection conn, uint scriptEcr, int line)
    {
        if (conn.TsValMap.TryGetValue(scriptEcr, out var live)) return live;
        if (conn.FoundFirstTs) return scriptEcr - conn.FirstScriptTsVal + conn.FirstLiveTsVal;
        if (scriptEcr == 0) return 0;
        throw new UnsupportedException($"line {line}: unable to infer live TS ecr for script TS ecr {scriptEcr}; no outbound TS val yet");
    }

    /// <summary>
    /// &gt; TCP: take the next packet the stack sent — and, unless --strict_segments, the ones after it while
    /// they continue it and the script expects more payload (TSO/GSO aggregation) — map it to script space and
    /// compare flags, sequence, ACK, window (if given), options in order (TS val is not checked, as with
    /// packetdrill's default tcp_ts_tick_usecs=0) and time.
    /// </summary>
    private (ScriptResult? Failure, Instant SentAt) ExpectTcp(PacketAction p, Event e, Instant expected, Instant lo, Instant hi, Instant start)
    {
        var spec = ReadTcp(p, e.Line);
        if (spec.Options?.Any(o => o.Kind is "md5") == true)
            throw new UnsupportedException($"line {e.Line}: signing segments with TCP MD5 keys is not modelled");
        byte want = FlagBits(spec.Flags);
        string wantText = $"{SpecText(spec)} at {(expected - start).TotalSeconds:0.000000} s";
        var deadline = hi == Instant.Never ? _sim.Now + Duration.FromSeconds(2) : hi + Duration.FromSeconds(2);
        Instant time;
        byte[] frame;
        TcpView first;
        while (true)
        {
            WaitForSent(deadline);
            if (_sent.Count == 0) return (Fail(e, "the stack sent no packet", wantText, "nothing within 2 s", start), default);
            (time, frame) = _sent.Dequeue();
            if (!TcpFrame(frame, out first))
                return (Fail(e, "the stack sent a different packet", wantText, Summarize(frame), start), time);
            // As packetdrill's sniff_outbound_live_packet(): a segment of an earlier connection (neither the one
            // under test nor a new connect's SYN) is passed over.
            bool newConnect = (first.Flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn;
            if (newConnect) _newSocketUnderTest = false;
            if (_conn is null || newConnect
                || (!_newSocketUnderTest && first.SourcePort == _conn.LocalPort && first.DestinationPort == _conn.RemotePort)) break;
        }

        bool isSyn = (first.Flags & TcpFlags.Syn) != 0;
        if (isSyn)
        {
            // The SYN (active open) or SYN-ACK (passive) fixes the local ISN in both spaces.
            if ((first.Flags & TcpFlags.Ack) == 0)
            {
                _conn = new TcpConnection { LocalPort = first.SourcePort, RemotePort = first.DestinationPort };
                _activeOpenPending = true;
            }
            if (_conn is null) return (Fail(e, "SYN-ACK without a connection", wantText, Summarize(frame), start), time);
            _conn.ScriptLocalIsn = (uint)spec.Start;
            _conn.LiveLocalIsn = first.Seq;
        }
        var conn = _conn ?? throw new UnsupportedException($"line {e.Line}: an outbound TCP packet needs a connection first");

        // Aggregate what TSO/GSO or the stack split, up to the scripted payload: like packetdrill, the headers of
        // the last piece with the sequence number (and CWR) of the first; the pieces must continue each other.
        int payload = first.PayloadLength;
        var last = first;
        while (!_strictSegments && payload < spec.Length)
        {
            WaitForSent(_sim.Now + Duration.FromSeconds(2));
            if (_sent.Count == 0 || !TcpFrame(_sent.Peek().Frame, out var next)) break;
            const byte loose = TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr;
            if (next.Seq != last.Seq + (uint)last.PayloadLength || next.Ack != last.Ack || next.Window != last.Window
                || (next.Flags & ~loose) != (last.Flags & ~loose)) break;
            bool lastPiece = next.PayloadLength >= spec.Length - payload;
            if (!lastPiece && next.PayloadLength != last.PayloadLength) break;
            _sent.Dequeue();
            payload += next.PayloadLength;
            last = next;
        }

        uint seq = first.Seq - conn.LocalOffset(isSyn);
        byte flags = (byte)((last.Flags & ~TcpFlags.Cwr) | (first.Flags & TcpFlags.Cwr));
        var actual = last with { Seq = seq, Ack = last.Ack - conn.RemoteOffset(isSyn), Flags = flags, PayloadLength = payload };
        string got = Describe(actual);
        if (first.DestinationPort != conn.RemotePort || first.SourcePort != conn.LocalPort)
            return (Fail(e, "packet of another connection", wantText, got, start), time);
        if (flags != want) return (Fail(e, "different TCP flags", wantText, got, start), time);
        if (CheckTos(spec.Ip, first.Tos) is { } tosFail) return (Fail(e, tosFail, wantText, got, start), time);
        if (seq != (uint)spec.Start || payload != spec.Length) return (Fail(e, "different sequence range", wantText, got, start), time);
        if ((want & TcpFlags.Ack) != 0 && spec.Ack is { } ack && actual.Ack != (uint)ack) return (Fail(e, "different ACK number", wantText, got, start), time);
        if (spec.Window is { } win && actual.Window != win) return (Fail(e, "different window", wantText, got, start), time);
        if (!spec.AnyOptions)
        {
            var optFail = CompareOptions(spec.Options ?? [], actual.Options, o => CookieBytes(o, e.Line), conn.RemoteOffset(isSyn));
            if (optFail is not null) return (Fail(e, $"different TCP options ({optFail})", wantText, got, start), time);
        }
        RecordTsVal(spec.Options, actual.Options, conn);
        if (time < lo || time > hi)
            return (Fail(e, "packet sent at the wrong time", $"between {(lo - start).TotalSeconds:0.000000} and {(hi - start).TotalSeconds:0.000000} s",
                $"sent at {(time - start).TotalSeconds:0.000000} s: {got}", start), time);
        return (null, time);
    }

    /// <summary>A sent frame for the trace: TCP in packetdrill's notation (script sequence space), others summarised.</summary>
    private string SentText(byte[] frame) => TcpFrame(frame, out var v)
        ? Describe(v with
        {
            Seq = v.Seq - (_conn?.LocalOffset((v.Flags & TcpFlags.Syn) != 0) ?? 0),
            Ack = v.Ack - (_conn?.RemoteOffset((v.Flags & TcpFlags.Syn) != 0) ?? 0),
        })
        : Summarize(frame);

    private void WaitForSent(Instant deadline) => _sim.Scheduler.WaitUntil(() => _sent.Count > 0, deadline);

    private readonly record struct TcpView(ushort SourcePort, ushort DestinationPort, uint Seq, uint Ack, byte Flags, ushort Window, int PayloadLength, byte[] Options, byte Tos = 0);

    private bool TcpFrame(byte[] frame, out TcpView view)
    {
        view = default;
        if (!Ipv4Packet.TryCreate(frame.AsSpan(14), out var ip) || ip.Protocol != IpProtocol.Tcp || !TcpSegment.TryCreate(ip.Payload, out var seg)) return false;
        if (ip.Source != _local || ip.Destination != _remote) return false;
        view = new TcpView(seg.SourcePort, seg.DestinationPort, seg.Seq.Value, seg.Ack.Value, seg.Flags, seg.Window, seg.Payload.Length, seg.Options.ToArray(), ip.Tos);
        return true;
    }

    /// <summary>Options in order: NOP/EOL and TS by kind (TS val unchecked), others by length and bytes (SACK blocks in script space).</summary>
    private static string? CompareOptions(IReadOnlyList<TcpOption> want, byte[] actual, Func<TcpOption, byte[]> cookie, uint remoteOffset)
    {
        int i = 0, k = 0;
        while (i < actual.Length || k < want.Count)
        {
            if (i >= actual.Length) return $"missing {want[k].Kind}";
            byte kind = actual[i];
            int len = kind is 0 or 1 ? 1 : i + 1 < actual.Length ? actual[i + 1] : 1;
            if (kind == 0 && k >= want.Count && actual.AsSpan(i).IndexOfAnyExcept((byte)0) < 0) break; // padding
            if (k >= want.Count) return $"unexpected option kind {kind}";
            var w = want[k];
            var v = actual.AsSpan(i, Math.Max(len, 1));
            bool ok = (w.Kind, kind) switch
            {
                ("nop", 1) or ("eol", 0) or ("sackOK", 4) => true,
                ("TS", 8) => len == 10,
                ("mss", 2) => len == 4 && BinaryPrimitives.ReadUInt16BigEndian(v[2..]) == w.Values[0],
                ("wscale", 3) => len == 3 && v[2] == w.Values[0],
                ("sack", 5) => len == 2 + 4 * w.Values.Count && SackMatches(v, w.Values, remoteOffset),
                ("FO", TcpOptions.FastOpenKind) => v.Length >= 2 && v[2..].SequenceEqual(cookie(w)),
                ("FOEXP", TcpOptions.ExperimentalKind) => v.Length >= 4 && BinaryPrimitives.ReadUInt16BigEndian(v[2..]) == TcpOptions.FastOpenMagic
                    && v[4..].SequenceEqual(cookie(w)),
                _ => false,
            };
            if (!ok) return $"expected {w.Kind} at option {k + 1}";
            i += Math.Max(len, 1);
            k++;
        }
        return null;
    }

    private static bool SackMatches(ReadOnlySpan<byte> v, IReadOnlyList<long> edges, uint remoteOffset)
    {
        // SACK blocks of outbound packets acknowledge the remote's sequence space, relative to its ISN.
        for (int j = 0; j < edges.Count; j++)
            if (BinaryPrimitives.ReadUInt32BigEndian(v[(2 + 4 * j)..]) - remoteOffset != (uint)edges[j]) return false;
        return true;
    }

    private static void RecordTsVal(IReadOnlyList<TcpOption>? want, byte[] actual, TcpConnection conn)
    {
        var ts = want?.FirstOrDefault(o => o.Kind == "TS");
        if (ts is null) return;
        var opt = TcpOptions.Parse(actual, syn: true);
        if (!opt.HasTimestamp) return;
        uint scriptVal = (uint)ts.Values[0];
        conn.TsValMap[scriptVal] = opt.TsVal;
        if (!conn.FoundFirstTs)
        {
            conn.FoundFirstTs = true;
            conn.FirstScriptTsVal = scriptVal;
            conn.FirstLiveTsVal = opt.TsVal;
        }
    }

    private static string SpecText(TcpSpec s)
    {
        var sb = new StringBuilder();
        if (s.Ip?.Ecn is { } ecn) sb.Append('[').Append(ecn).Append("] ");
        sb.Append(CultureInfo.InvariantCulture, $"{s.Flags} {s.Start}:{s.End}({s.Length})");
        if (s.Ack is { } a) sb.Append(CultureInfo.InvariantCulture, $" ack {a}");
        if (s.Window is { } w) sb.Append(CultureInfo.InvariantCulture, $" win {w}");
        if (s.AnyOptions) sb.Append(" <...>");
        else if (s.Options is { Count: > 0 } o)
            sb.Append(" <").Append(string.Join(',', o.Select(x => x.Kind switch
            {
                "TS" => $"TS val {x.Values[0]} ecr {x.Values[1]}",
                "sack" => "sack " + string.Join(' ', Enumerable.Range(0, x.Values.Count / 2).Select(i => $"{x.Values[2 * i]}:{x.Values[2 * i + 1]}")),
                "FO" or "FOEXP" => $"{x.Kind} {x.Cookie}".TrimEnd(),
                _ => x.Values.Count > 0 ? $"{x.Kind} {x.Values[0]}" : x.Kind,
            }))).Append('>');
        return sb.ToString();
    }

    /// <summary>A sent segment in packetdrill's notation, sequence numbers in script space.</summary>
    private static string Describe(TcpView v)
    {
        var sb = new StringBuilder();
        if ((v.Tos & 3) != 0) sb.Append(EcnName(v.Tos & 3)).Append(' ');
        int flagsAt = sb.Length;
        if ((v.Flags & TcpFlags.Syn) != 0) sb.Append('S');
        if ((v.Flags & TcpFlags.Fin) != 0) sb.Append('F');
        if ((v.Flags & TcpFlags.Rst) != 0) sb.Append('R');
        if ((v.Flags & TcpFlags.Psh) != 0) sb.Append('P');
        if ((v.Flags & TcpFlags.Urg) != 0) sb.Append('U');
        if ((v.Flags & TcpFlags.Ece) != 0) sb.Append('E');
        if ((v.Flags & TcpFlags.Cwr) != 0) sb.Append('W');
        if ((v.Flags & TcpFlags.Ack) != 0) sb.Append('.');
        if (sb.Length == flagsAt) sb.Append('-');
        sb.Append(CultureInfo.InvariantCulture, $" {v.Seq}:{v.Seq + (uint)v.PayloadLength}({v.PayloadLength})");
        if ((v.Flags & TcpFlags.Ack) != 0) sb.Append(CultureInfo.InvariantCulture, $" ack {v.Ack}");
        sb.Append(CultureInfo.InvariantCulture, $" win {v.Window}");
        if (v.Options.Length > 0) sb.Append(" <").Append(OptionsText(v.Options)).Append('>');
        return sb.ToString();
    }

    private static string SackText(byte[] v) => "sack " + string.Join(' ', Enumerable.Range(0, (v.Length - 2) / 8).Select(b =>
        $"{BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(2 + 8 * b))}:{BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(6 + 8 * b))}"));

    private static string OptionsText(byte[] o)
    {
        var parts = new List<string>();
        for (int i = 0; i < o.Length;)
        {
            byte kind = o[i];
            if (kind == 1) { parts.Add("nop"); i++; continue; }
            if (kind == 0) { parts.Add("eol"); i++; continue; }
            int len = i + 1 < o.Length ? Math.Max((int)o[i + 1], 2) : 2;
            var v = o.AsSpan(i, Math.Min(len, o.Length - i));
            parts.Add(kind switch
            {
                2 when v.Length >= 4 => $"mss {BinaryPrimitives.ReadUInt16BigEndian(v[2..])}",
                3 when v.Length >= 3 => $"wscale {v[2]}",
                4 => "sackOK",
                8 when v.Length >= 10 => $"TS val {BinaryPrimitives.ReadUInt32BigEndian(v[2..])} ecr {BinaryPrimitives.ReadUInt32BigEndian(v[6..])}",
                5 => SackText(o.AsSpan(i, Math.Min(len, o.Length - i)).ToArray()),
                TcpOptions.FastOpenKind => ("FO " + Convert.ToHexStringLower(v[2..])).TrimEnd(),
                TcpOptions.ExperimentalKind when v.Length >= 4 => ("FOEXP " + Convert.ToHexStringLower(v[4..])).TrimEnd(),
                _ => $"option {kind}",
            });
            i += len;
        }
        return string.Join(',', parts);
    }

    private readonly Dictionary<string, long> _pythonVars = [];

    /// <summary>
    /// %{ }%: the asserts on struct tcp_info of the connection under test, evaluated at the block's time (packetdrill
    /// takes the tcp_info snapshot then and runs Python at the end; the outcome is the same).
    /// </summary>
    private ScriptResult? RunPython(CodeAction code, Event e, Instant start)
    {
        var sk = SocketUnderTest();
        var py = new PythonAssert(name => TcpInfoField(sk, name), _pythonVars);
        string? failed;
        try
        {
            failed = py.Run(code.Code);
        }
        catch (NotSupportedException ex)
        {
            throw new UnsupportedException($"line {e.Line}: {ex.Message}");
        }
        // packetdrill shows what the script's print() calls print; the trace does, to compare against Linux's run.
        foreach (var line in py.Printed) _trace?.WriteLine($"line {e.Line}: print: {line}");
        if (failed is null) return null;
        string state = sk is null ? "no TCP socket" :
            $"cwnd {sk.SndCwnd} ssthresh {sk.SndSsthresh} unacked {sk.PacketsOut} retrans {sk.RetransOut} lost {sk.LostOut} sacked {sk.SackedOut} ca_state {(int)sk.CaState} rtt {sk.SmoothedRttUs} us delivered {sk.Delivered}";
        return Fail(e, "python assert failed", failed, state, start);
    }

    private Transport.Tcp.TcpSock? SocketUnderTest()
    {
        Transport.Tcp.TcpSock? best = null;
        foreach (var s in _host.Tcp.Sockets)
        {
            if (_conn is { } c && s.LocalPort == c.LocalPort && s.RemotePort == c.RemotePort) return s;
            if (s.State != Transport.Tcp.TcpState.Listen) best = s;
        }
        return best;
    }

    /// <summary>The struct tcp_info fields that are modelled, and the TCPI_OPT_* constants.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_get_info()</remarks>
    private long? TcpInfoField(Transport.Tcp.TcpSock? sk, string name)
    {
        switch (name)
        {
            case "TCPI_OPT_TIMESTAMPS": return 1;
            case "TCPI_OPT_SACK": return 2;
            case "TCPI_OPT_WSCALE": return 4;
            case "TCPI_OPT_ECN": return 8;
            case "TCPI_OPT_ECN_SEEN": return 16;
            case "TCPI_OPT_SYN_DATA": return 32;
            case "TCP_INFINITE_SSTHRESH": return Transport.Tcp.TcpProtocol.InfiniteSsthresh;
            case "TCP_CA_Open": return 0;
            case "TCP_CA_Disorder": return 1;
            case "TCP_CA_CWR": return 2;
            case "TCP_CA_Recovery": return 3;
            case "TCP_CA_Loss": return 4;
            case "TCP_ESTABLISHED": return 1;
            case "TCP_SYN_SENT": return 2;
            case "TCP_SYN_RECV": return 3;
            case "TCP_FIN_WAIT1": return 4;
            case "TCP_FIN_WAIT2": return 5;
            case "TCP_TIME_WAIT": return 6;
            case "TCP_CLOSE": return 7;
            case "TCP_CLOSE_WAIT": return 8;
            case "TCP_LAST_ACK": return 9;
            case "TCP_LISTEN": return 10;
            case "TCP_CLOSING": return 11;
        }
        if (sk is null) return null;
        // What getsockopt(TCP_INFO) would return for the socket under test (tcp_get_info), field by field.
        Span<byte> info = stackalloc byte[Transport.Tcp.TcpProtocol.TcpInfoLength];
        _host.Tcp.GetInfo(sk, info);
        return TcpInfoFields.Read(info, name);
    }
}
