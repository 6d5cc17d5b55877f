using System.Globalization;

namespace Xmit.Packetdrill;

/// <summary>A parse failure with the line it happened on.</summary>
public sealed record ParseError(string Path, int Line, string Message)
{
    public override string ToString() => $"{Path}:{Line}: {Message}";
}

/// <summary>
/// Parses packetdrill scripts into <see cref="Script"/>s: option lines, an optional init command, timed
/// events (packets, system calls, `commands`, %{ code }%) and an optional cleanup command. Packet lines are
/// kept as tokens for the runner; system call arguments become expressions. Written from syntax.md.
/// </summary>
public sealed class ScriptParser
{
    private readonly string _path;
    private readonly List<Token> _t;
    private int _i;

    private ScriptParser(string path, List<Token> tokens)
    {
        _path = path;
        _t = tokens;
    }

    public static (Script? Script, ParseError? Error) Parse(string path, string text)
    {
        var tokens = Lexer.Tokenize(text, out var lexError, out int lexLine);
        if (lexError is not null) return (null, new ParseError(path, lexLine, lexError));
        var p = new ScriptParser(path, tokens);
        try
        {
            return (p.ParseScript(), null);
        }
        catch (ScriptSyntaxException e)
        {
            return (null, new ParseError(path, e.Line, e.Message));
        }
    }

    public static (Script? Script, ParseError? Error) ParseFile(string path) => Parse(path, File.ReadAllText(path));

    private Token Peek(int k = 0) => _t[Math.Min(_i + k, _t.Count - 1)];
    private Token Next() => _t[Math.Min(_i++, _t.Count - 1)];

    private Token Expect(string punct)
    {
        var t = Next();
        if (!t.Is(punct)) throw new ScriptSyntaxException(t.Line, $"expected '{punct}' but found {t}");
        return t;
    }

    private Script ParseScript()
    {
        var options = new List<ScriptOption>();
        while (Peek().Kind == TokenKind.Option)
        {
            var t = Next();
            var text = t.Text[2..];
            int eq = text.IndexOf('=', StringComparison.Ordinal);
            options.Add(eq < 0 ? new ScriptOption(text, null, t.Line) : new ScriptOption(text[..eq], text[(eq + 1)..], t.Line));
        }
        var events = new List<Event>();
        while (Peek().Kind != TokenKind.End)
        {
            var t = Peek();
            if (t.Kind == TokenKind.BackQuoted)
            {
                // The init command (before any event) runs at time 0; the cleanup command after the last event.
                Next();
                var time = events.Count == 0 ? new EventTime(TimeKind.Absolute, 0) : new EventTime(TimeKind.Relative, 0);
                events.Add(new Event(t.Line, time, new CommandAction(t.Text)));
                continue;
            }
            var eventTime = ParseTime();
            events.Add(new Event(t.Line, eventTime, ParseAction()));
        }
        return new Script(_path, options, events);
    }

    private EventTime ParseTime()
    {
        var t = Peek();
        if (t.Is("*"))
        {
            Next();
            return new EventTime(TimeKind.Any, 0);
        }
        var (relative, seconds) = ParseSeconds();
        double? rangeEnd = null, blockEnd = null;
        bool rangeRel = false, blockRel = false;
        if (Peek().Is("~"))
        {
            Next();
            (rangeRel, var end) = ParseSeconds();
            rangeEnd = end;
        }
        if (Peek().Kind == TokenKind.Ellipsis)
        {
            Next();
            (blockRel, var end) = ParseSeconds();
            blockEnd = end;
        }
        return new EventTime(relative ? TimeKind.Relative : TimeKind.Absolute, seconds, rangeEnd, rangeRel, blockEnd, blockRel);
    }

    private (bool Relative, double Seconds) ParseSeconds()
    {
        bool relative = false;
        if (Peek().Is("+"))
        {
            Next();
            relative = true;
        }
        var n = Next();
        if (n.Kind is not (TokenKind.Integer or TokenKind.Float))
            throw new ScriptSyntaxException(n.Line, $"expected a time (like 0, +0.1, *) but found {n}");
        return (relative, double.Parse(n.Text, NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    private ScriptAction ParseAction()
    {
        var t = Peek();
        if (t.Is("<") || t.Is(">")) return ParsePacket();
        if (t.Kind == TokenKind.BackQuoted) { Next(); return new CommandAction(t.Text); }
        if (t.Kind == TokenKind.Code) { Next(); return new CodeAction(t.Text); }
        if (t.Kind == TokenKind.Word && Peek(1).Is("(")) return ParseSyscall();
        throw new ScriptSyntaxException(t.Line, $"expected a packet, a system call or a `command` but found {t}");
    }

    private PacketAction ParsePacket()
    {
        var dir = Next();
        var tokens = new List<Token>();
        int depth = 0;
        while (Peek().Kind != TokenKind.End && (Peek().Line == dir.Line || depth > 0))
        {
            var t = Next();
            if (t.Is("(") || t.Is("[")) depth++;
            else if (t.Is(")") || t.Is("]")) depth--;
            tokens.Add(t);
        }
        var packet = new PacketAction(dir.Text[0], Protocol(tokens), tokens);
        if (PacketSpecParser.OutOfRange(packet) is { } range) throw new ScriptSyntaxException(dir.Line, range);
        return packet;
    }

    /// <summary>udp, icmp, or tcp — the first protocol word after any [ip info] and encapsulation prefixes.</summary>
    private static string Protocol(List<Token> tokens)
    {
        int depth = 0;
        foreach (var t in tokens)
        {
            if (t.Is("(") || t.Is("[")) { depth++; continue; }
            if (t.Is(")") || t.Is("]")) { depth--; continue; }
            if (depth > 0 || t.Kind != TokenKind.Word) continue;
            switch (t.Text)
            {
                case "udp": return "udp";
                case "icmp": return "icmp";
                case "ipv4" or "ipv6" or "gre" or "mpls": continue;
                default: return "tcp";
            }
        }
        return "tcp"; // flags like '.' or '-' are punctuation
    }

    private SyscallAction ParseSyscall()
    {
        var name = Next();
        Expect("(");
        var args = new List<Expr>();
        if (!Peek().Is(")"))
        {
            args.Add(ParseExpr(allowAssign: true));
            while (Peek().Is(","))
            {
                Next();
                args.Add(ParseExpr(allowAssign: true));
            }
        }
        Expect(")");
        Expect("=");
        var result = ParseExpr(allowAssign: false);
        int resultLine = _t[_i - 1].Line;
        string? errno = null, note = null;
        if (Peek().Kind == TokenKind.Word && Peek().Line == resultLine) errno = Next().Text;
        if (Peek().Is("(") && Peek().Line == resultLine)
        {
            Next();
            var words = new List<string>();
            int depth = 1;
            while (Peek().Kind != TokenKind.End)
            {
                var t = Next();
                if (t.Is("(")) depth++;
                if (t.Is(")") && --depth == 0) break;
                words.Add(t.Text);
            }
            note = string.Join(' ', words);
        }
        return new SyscallAction(name.Text, args, result, errno, note);
    }

    private Expr ParseExpr(bool allowAssign)
    {
        var first = ParsePrimary();
        Expr e = first;
        if (Peek().Is("|"))
        {
            var terms = new List<Expr> { first };
            while (Peek().Is("|"))
            {
                Next();
                terms.Add(ParsePrimary());
            }
            e = new OrExpr(terms);
        }
        if (allowAssign && Peek().Is("="))
        {
            Next();
            return new AssignExpr(e, ParseExpr(allowAssign: true));
        }
        return e;
    }

    private Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Ellipsis:
                return new EllipsisExpr();
            case TokenKind.Integer when long.TryParse(t.Text, NumberStyles.None, CultureInfo.InvariantCulture, out long v):
                return new IntExpr(v);
            case TokenKind.Hex when long.TryParse(t.Text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long h):
                return new IntExpr(h);
            case TokenKind.Integer or TokenKind.Hex:
                throw new ScriptSyntaxException(t.Line, $"{t} is not a number that fits 64 bits");
            case TokenKind.Float:
                return new WordExpr(t.Text);
            case TokenKind.String:
                bool ellipsis = Peek().Kind == TokenKind.Ellipsis;
                if (ellipsis) Next();
                return new StringExpr(t.Text, ellipsis);
            case TokenKind.Word:
                if (Peek().Is("("))
                {
                    Next();
                    var args = new List<Expr>();
                    if (!Peek().Is(")"))
                    {
                        args.Add(ParseExpr(allowAssign: true));
                        while (Peek().Is(",")) { Next(); args.Add(ParseExpr(allowAssign: true)); }
                    }
                    Expect(")");
                    return new CallExpr(t.Text, args);
                }
                return new WordExpr(t.Text);
        }
        if (t.Is("-") && Peek().Kind is TokenKind.Integer or TokenKind.Hex)
        {
            var v = (IntExpr)ParsePrimary();
            return new IntExpr(-v.Value);
        }
        if (t.Is("[") || t.Is("{"))
        {
            string close = t.Is("[") ? "]" : "}";
            var items = new List<Expr>();
            if (!Peek().Is(close))
            {
                items.Add(ParseExpr(allowAssign: true));
                while (Peek().Is(","))
                {
                    Next();
                    items.Add(ParseExpr(allowAssign: true));
                }
            }
            Expect(close);
            return t.Is("[") ? new ArrayExpr(items) : new StructExpr(items);
        }
        throw new ScriptSyntaxException(t.Line, $"unexpected {t} in a system call");
    }

    private sealed class ScriptSyntaxException(int line, string message) : Exception(message)
    {
        public int Line { get; } = line;
    }
}
