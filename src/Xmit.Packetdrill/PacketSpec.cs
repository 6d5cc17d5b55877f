using System.Globalization;

namespace Xmit.Packetdrill;

/// <summary>IP fields a packet line may give: ECN/TOS, flow label, TTL ("[ect0]", "(tos 0x10)", "[ttl 64]").</summary>
public sealed record IpInfo(string? Ecn = null, int? Tos = null, int? Ttl = null, int? FlowLabel = null);

/// <summary>
/// A TCP option of a packet line, e.g. mss 1460, wscale 7, sackOK, sack 1:2 3:4, TS val 100 ecr 0, nop, eol; a
/// Fast Open option (FO, FOEXP) has its cookie as written — hex digits, a name such as TFO_COOKIE, or null (a request).
/// </summary>
public sealed record TcpOption(string Kind, IReadOnlyList<long> Values, string? Cookie = null);

/// <summary>A parsed TCP packet line: flags, sequence range and length, ack, window, urgent pointer, options (null for "&lt;...&gt;": any).</summary>
public sealed record TcpSpec(string Flags, long Start, long End, int Length, long? Ack, int? Window, int? Urgent,
    IReadOnlyList<TcpOption>? Options, bool AnyOptions, IpInfo? Ip, (int Src, int Dst)? Ports);

public sealed record UdpSpec(int Length, IpInfo? Ip, (int Src, int Dst)? Ports);

public sealed record IcmpSpec(string Type, string? Code, int? Mtu, int? EchoId, string? Echoed, IpInfo? Ip);

/// <summary>
/// Turns a packet line's tokens into a <see cref="TcpSpec"/>, <see cref="UdpSpec"/> or <see cref="IcmpSpec"/>
/// (the tcp_packet_spec, udp_packet_spec and icmp_packet_spec rules of syntax.md).
/// </summary>
public sealed class PacketSpecParser
{
    private readonly IReadOnlyList<Token> _t;
    private int _i;

    private PacketSpecParser(IReadOnlyList<Token> tokens) => _t = tokens;

    public static (object? Spec, string? Error) Parse(PacketAction p)
    {
        var parser = new PacketSpecParser(p.Tokens);
        try
        {
            object spec = p.Protocol switch
            {
                "udp" => parser.Udp(),
                "icmp" => parser.Icmp(),
                _ => parser.Tcp(),
            };
            if (parser._i < p.Tokens.Count) return (null, $"unexpected {p.Tokens[parser._i]} after the packet");
            return (spec, null);
        }
        catch (FormatException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>
    /// Why a value of the line does not fit its header field (win 99999999999 in a 16-bit window), or null. Checked
    /// when the script is parsed, so such a line is a parse error naming it rather than a packet that wraps around.
    /// </summary>
    public static string? OutOfRange(PacketAction p)
    {
        var parser = new PacketSpecParser(p.Tokens);
        try
        {
            _ = p.Protocol switch { "udp" => parser.Udp(), "icmp" => parser.Icmp(), _ => (object)parser.Tcp() };
            return null;
        }
        catch (RangeException e)
        {
            return e.Message;
        }
        catch (FormatException)
        {
            return null; // anything else the line cannot say is for the runner to report
        }
    }

    /// <summary>A number too large for the field it goes in.</summary>
    private sealed class RangeException(string message) : FormatException(message);

    private Token Peek(int k = 0) => _i + k < _t.Count ? _t[_i + k] : new Token(TokenKind.End, "", _t.Count > 0 ? _t[^1].Line : 0);
    private Token Next() => _i < _t.Count ? _t[_i++] : throw new FormatException("the packet line ends too early");

    private void Expect(string text)
    {
        var t = Next();
        if (t.Text != text) throw new FormatException($"expected '{text}' but found {t}");
    }

    private long Number()
    {
        var t = Next();
        bool ok = t.Kind switch
        {
            TokenKind.Integer => long.TryParse(t.Text, NumberStyles.None, CultureInfo.InvariantCulture, out _),
            TokenKind.Hex => long.TryParse(t.Text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out _),
            _ => throw new FormatException($"expected a number but found {t}"),
        };
        if (!ok) throw new RangeException($"{t} is not a number that fits 64 bits");
        return t.Kind == TokenKind.Integer
            ? long.Parse(t.Text, CultureInfo.InvariantCulture)
            : long.Parse(t.Text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    /// <summary>A number for a header field of <paramref name="bits"/> bits (0 to 2^bits − 1).</summary>
    private long Field(string name, int bits)
    {
        var t = Peek();
        long v = Number();
        long max = (1L << bits) - 1;
        if (v < 0 || v > max) throw new RangeException($"{name} {t.Text} is out of range for its {bits}-bit field (0 to {max})");
        return v;
    }

    /// <summary>Skips encapsulation prefixes and reads an optional (…) or […] ip_info.</summary>
    private IpInfo? Prefix()
    {
        IpInfo? ip = null;
        while (true)
        {
            var t = Peek();
            if (t.Text is "(" or "[" && Peek(1).Kind == TokenKind.Word && Peek(1).Text is "ect0" or "ect1" or "ect01" or "ce" or "no_ecn" or "noecn" or "tos" or "ttl" or "flowlabel")
            {
                ip = IpInfoBlock();
                continue;
            }
            return ip;
        }
    }

    private IpInfo IpInfoBlock()
    {
        string close = Next().Text == "(" ? ")" : "]";
        string? ecn = null;
        int? tos = null, ttl = null, flow = null;
        while (Peek().Text != close)
        {
            var w = Next();
            switch (w.Text)
            {
                case "tos": tos = (int)Field("tos", 8); break;
                case "ttl": ttl = (int)Field("ttl", 8); break;
                case "flowlabel": flow = (int)Field("flowlabel", 20); break;
                case ",": break;
                default: ecn = w.Text; break;
            }
        }
        Expect(close);
        return new IpInfo(ecn, tos, ttl, flow);
    }

    private (int, int)? Ports()
    {
        if (Peek().Kind == TokenKind.Integer && Peek(1).Text == ">" && Peek(2).Kind == TokenKind.Integer)
        {
            int src = (int)Field("port", 16);
            Next();
            return (src, (int)Field("port", 16));
        }
        return null;
    }

    private UdpSpec Udp()
    {
        var ip = Prefix();
        Expect("udp");
        var ports = Ports();
        Expect("(");
        int len = (int)Field("udp length", 16);
        Expect(")");
        return new UdpSpec(len, ip, ports);
    }

    private IcmpSpec Icmp()
    {
        var ip = Prefix();
        Expect("icmp");
        string type = Next().Text;
        string? code = Peek().Kind == TokenKind.Word && Peek().Text is not ("mtu" or "id") ? Next().Text : null;
        int? mtu = null, id = null;
        if (Peek().Text == "mtu") { Next(); mtu = (int)Field("mtu", 16); }
        if (Peek().Text == "id") { Next(); id = (int)Field("id", 16); }
        string? echoed = null;
        if (Peek().Text == "[")
        {
            Next();
            var parts = new List<string>();
            while (Peek().Text != "]") parts.Add(Next().Text);
            Next();
            echoed = string.Join(' ', parts);
        }
        return new IcmpSpec(type, code, mtu, id, echoed, ip);
    }

    private TcpSpec Tcp()
    {
        var ip = Prefix();
        var ports = Ports();
        // flags: a word of S F R P E W U letters, optionally followed by '.', or '.' alone, or '-'
        string flags = "";
        if (Peek().Kind == TokenKind.Word) flags = Next().Text;
        if (Peek().Text is "." or "-") flags += Next().Text;
        if (flags.Length == 0 || flags.Any(c => "SFRPEWU.-".IndexOf(c, StringComparison.Ordinal) < 0))
            throw new FormatException($"'{flags}' are not TCP flags (S F R P E W U . -)");
        long start = Field("sequence number", 32);
        Expect(":");
        long end = Field("sequence number", 32);
        Expect("(");
        int len = (int)Field("length", 16);
        Expect(")");
        long? ack = null;
        int? win = null, urg = null;
        while (Peek().Kind == TokenKind.Word && Peek().Text is "ack" or "win" or "urg")
        {
            var w = Next().Text;
            long v = Field(w, w == "ack" ? 32 : 16);
            if (w == "ack") ack = v; else if (w == "win") win = (int)v; else urg = (int)v;
        }
        List<TcpOption>? options = null;
        bool any = false;
        if (Peek().Text == "<")
        {
            Next();
            if (Peek().Kind == TokenKind.Ellipsis)
            {
                Next();
                any = true;
            }
            else
            {
                options = [];
                while (Peek().Text != ">")
                {
                    options.Add(Option());
                    if (Peek().Text == ",") Next();
                }
            }
            Expect(">");
        }
        return new TcpSpec(flags, start, end, len, ack, win, urg, options, any, ip, ports);
    }

    private TcpOption Option()
    {
        var kind = Next();
        var values = new List<long>();
        switch (kind.Text)
        {
            case "nop" or "eol" or "sackOK":
                break;
            case "mss" or "wscale":
                values.Add(Field(kind.Text, kind.Text == "mss" ? 16 : 8));
                break;
            case "sack":
                while (Peek().Kind == TokenKind.Integer && Peek(1).Text == ":")
                {
                    values.Add(Field("sack block edge", 32));
                    Next();
                    values.Add(Field("sack block edge", 32));
                }
                break;
            case "TS":
                Expect("val");
                values.Add(Field("TS val", 32));
                Expect("ecr");
                values.Add(Field("TS ecr", 32));
                break;
            case "FO" or "FOEXP":
            {
                // The cookie lexes as pieces (3021b9d8… is a number then a word): joined back up to the next ',' or '>'.
                var cookie = new System.Text.StringBuilder();
                while (Peek().Kind is TokenKind.Word or TokenKind.Integer or TokenKind.Hex) cookie.Append(Next().Text);
                return new TcpOption(kind.Text, values, cookie.Length > 0 ? cookie.ToString() : null);
            }
            case "md5":
            {
                // The 16-byte signature as hex digits (lexed in pieces, joined back as a Fast Open cookie is).
                var digest = new System.Text.StringBuilder();
                while (Peek().Kind is TokenKind.Word or TokenKind.Integer or TokenKind.Hex) digest.Append(Next().Text);
                return new TcpOption(kind.Text, values, digest.ToString());
            }
            default:
                throw new FormatException($"unknown TCP option {kind}");
        }
        return new TcpOption(kind.Text, values);
    }
}
