using System.Globalization;

namespace Xmit.Packetdrill;

/// <summary>
/// The subset of Python that packetdrill scripts put in %{ }% blocks to check struct tcp_info: statements
/// "assert EXPR[, message]", "NAME = EXPR" (and NAME += / -= / *= EXPR) and "print(EXPR, …)" (its values are kept in <see cref="Printed"/>), with integers, names, + - * // % &amp; |, comparisons (chained),
/// and / or / not and parentheses. Anything else is reported as unsupported rather than guessed.
/// </summary>
public sealed class PythonAssert
{
    private readonly Func<string, long?> _lookup;
    private readonly Dictionary<string, long> _vars;
    private List<string> _t = [];
    private int _i;

    /// <param name="lookup">tcp_info fields and constants by name (null: not known).</param>
    /// <param name="vars">variables assigned by earlier blocks of the script.</param>
    public PythonAssert(Func<string, long?> lookup, Dictionary<string, long> vars)
    {
        _lookup = lookup;
        _vars = vars;
    }

    /// <summary>What print() statements printed, one line each (space-separated values, as Python prints them).</summary>
    public List<string> Printed { get; } = [];

    /// <summary>Runs the block; returns null when every assert held, else the failed assert's text.</summary>
    /// <exception cref="NotSupportedException">Python this evaluator does not understand.</exception>
    public string? Run(string code)
    {
        // A backslash at the end of a line joins it to the next (Python's explicit line joining).
        code = code.Replace("\\\r\n", " ", StringComparison.Ordinal).Replace("\\\n", " ", StringComparison.Ordinal);
        foreach (var raw in code.Split(['\n', ';']))
        {
            var line = raw.Trim();
            int hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0) line = line[..hash].Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith("assert ", StringComparison.Ordinal))
            {
                var body = line[7..];
                int comma = TopLevelComma(body);
                var cond = comma >= 0 ? body[..comma] : body;
                if (Evaluate(cond) == 0) return line;
                continue;
            }
            if (line.StartsWith("print(", StringComparison.Ordinal) && line.EndsWith(')'))
            {
                var args = line[6..^1];
                var values = new List<string>();
                while (args.Trim().Length > 0)
                {
                    int comma = TopLevelComma(args);
                    values.Add(Evaluate(comma >= 0 ? args[..comma] : args).ToString(CultureInfo.InvariantCulture));
                    args = comma >= 0 ? args[(comma + 1)..] : "";
                }
                Printed.Add(string.Join(' ', values));
                continue;
            }
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && line[eq - 1] is not ('<' or '>' or '!' or '=') && eq + 1 < line.Length && line[eq + 1] != '=')
            {
                var name = line[..eq].Trim();
                var value = line[(eq + 1)..];
                // Augmented assignment ("cwnd += 1"): the name's current value, the operator, then the expression.
                if (name.Length > 1 && name[^1] is '+' or '-' or '*' && IsName(name[..^1].Trim()))
                {
                    char op = name[^1];
                    name = name[..^1].Trim();
                    value = $"{name} {op} ({value})";
                }
                if (!IsName(name)) throw new NotSupportedException($"python: cannot assign to '{name}'");
                _vars[name] = Evaluate(value);
                continue;
            }
            throw new NotSupportedException($"python statement not supported: {line}");
        }
        return null;
    }

    private static int TopLevelComma(string s)
    {
        int depth = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '(') depth++;
            else if (s[i] == ')') depth--;
            else if (s[i] == ',' && depth == 0) return i;
        }
        return -1;
    }

    private static bool IsName(string s) => s.Length > 0 && (char.IsLetter(s[0]) || s[0] == '_') && s.All(c => char.IsLetterOrDigit(c) || c == '_');

    private long Evaluate(string expr)
    {
        _t = Tokenize(expr);
        _i = 0;
        long v = Or();
        if (_i != _t.Count) throw new NotSupportedException($"python: unexpected '{_t[_i]}' in {expr.Trim()}");
        return v;
    }

    private static List<string> Tokenize(string s)
    {
        var t = new List<string>();
        for (int i = 0; i < s.Length;)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (char.IsLetterOrDigit(c) || c == '_')
            {
                int j = i;
                while (j < s.Length && (char.IsLetterOrDigit(s[j]) || s[j] == '_')) j++;
                t.Add(s[i..j]);
                i = j;
                continue;
            }
            string two = i + 1 < s.Length ? s.Substring(i, 2) : "";
            if (two is "<=" or ">=" or "==" or "!=" or "//" or "<<" or ">>")
            {
                t.Add(two);
                i += 2;
                continue;
            }
            if ("+-*%&|()<>~".IndexOf(c, StringComparison.Ordinal) >= 0)
            {
                t.Add(c.ToString());
                i++;
                continue;
            }
            throw new NotSupportedException($"python: cannot read '{c}' in {s.Trim()}");
        }
        return t;
    }

    private string Peek => _i < _t.Count ? _t[_i] : "";

    private long Or()
    {
        long v = And();
        while (Peek == "or") { _i++; long r = And(); v = v != 0 ? v : r; }
        return v;
    }

    private long And()
    {
        long v = Not();
        while (Peek == "and") { _i++; long r = Not(); v = v == 0 ? v : r; }
        return v;
    }

    private long Not()
    {
        if (Peek == "not") { _i++; return Not() == 0 ? 1 : 0; }
        return Comparison();
    }

    private long Comparison()
    {
        long left = BitOr();
        bool result = true, any = false;
        while (Peek is "<" or "<=" or ">" or ">=" or "==" or "!=")
        {
            string op = _t[_i++];
            long right = BitOr();
            result &= op switch
            {
                "<" => left < right, "<=" => left <= right, ">" => left > right, ">=" => left >= right, "==" => left == right, _ => left != right,
            };
            left = right;
            any = true;
        }
        return any ? (result ? 1 : 0) : left;
    }

    private long BitOr()
    {
        long v = BitAnd();
        while (Peek == "|") { _i++; v |= BitAnd(); }
        return v;
    }

    private long BitAnd()
    {
        long v = Shift();
        while (Peek == "&") { _i++; v &= Shift(); }
        return v;
    }

    private long Shift()
    {
        long v = Sum();
        while (Peek is "<<" or ">>") { string op = _t[_i++]; int r = (int)Sum(); v = op == "<<" ? v << r : v >> r; }
        return v;
    }

    private long Sum()
    {
        long v = Product();
        while (Peek is "+" or "-") { string op = _t[_i++]; long r = Product(); v = op == "+" ? v + r : v - r; }
        return v;
    }

    private long Product()
    {
        long v = Unary();
        while (Peek is "*" or "//" or "%")
        {
            string op = _t[_i++];
            long r = Unary();
            if (op != "*" && r == 0) throw new NotSupportedException("python: division by zero");
            v = op switch { "*" => v * r, "//" => (long)Math.Floor((double)v / r), _ => ((v % r) + r) % r };
        }
        return v;
    }

    private long Unary()
    {
        if (Peek == "-") { _i++; return -Unary(); }
        if (Peek == "~") { _i++; return ~Unary(); }
        return Atom();
    }

    private long Atom()
    {
        if (_i >= _t.Count) throw new NotSupportedException("python: expression ends too early");
        string tok = _t[_i++];
        if (tok == "(")
        {
            long v = Or();
            if (Peek != ")") throw new NotSupportedException("python: missing ')'");
            _i++;
            return v;
        }
        if (tok.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && long.TryParse(tok[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long hex)) return hex;
        if (long.TryParse(tok, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n)) return n;
        if (tok is "True") return 1;
        if (tok is "False") return 0;
        if (_vars.TryGetValue(tok, out long var)) return var;
        if (_lookup(tok) is { } known) return known;
        throw new NotSupportedException($"python: {tok} is not known (tcp_info field or constant not modelled)");
    }
}
