using System.Text;

namespace Xmit.Packetdrill;

/// <summary>
/// Splits a packetdrill script into tokens: numbers (decimal, hex, fractional), words, strings, `commands`,
/// %{ code }%, "...", --options and punctuation; // and /* */ comments are skipped. Written from the
/// grammar in ../shared/packetdrill/syntax.md (no code taken from packetdrill).
/// </summary>
public static class Lexer
{
    /// <summary>The tokens, or an error and the line it starts on.</summary>
    public static List<Token> Tokenize(string text, out string? error, out int errorLine)
    {
        var tokens = new List<Token>();
        error = null;
        errorLine = 0;
        int i = 0, line = 1;
        bool atLineStart = true;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '\n') { line++; i++; atLineStart = true; continue; }
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '/' && At(text, i + 1) == '/') { while (i < text.Length && text[i] != '\n') i++; continue; }
            if (c == '/' && At(text, i + 1) == '*')
            {
                int end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                if (end < 0) { (error, errorLine) = ($"unterminated /* comment", line); return tokens; }
                line += Count(text, i, end, '\n');
                i = end + 2;
                continue;
            }
            int start = i, startLine = line;
            bool lineStart = atLineStart;
            atLineStart = false;
            if (c == '`')
            {
                int end = text.IndexOf('`', i + 1);
                if (end < 0) { (error, errorLine) = ($"unterminated `command`", line); return tokens; }
                tokens.Add(new Token(TokenKind.BackQuoted, text[(i + 1)..end], startLine));
                line += Count(text, i, end, '\n');
                i = end + 1;
                continue;
            }
            if (c == '%' && At(text, i + 1) == '{')
            {
                int end = text.IndexOf("}%", i + 2, StringComparison.Ordinal);
                if (end < 0) { (error, errorLine) = ($"unterminated %{{ code }}%", line); return tokens; }
                tokens.Add(new Token(TokenKind.Code, text[(i + 2)..end], startLine));
                line += Count(text, i, end, '\n');
                i = end + 2;
                continue;
            }
            if (c == '"')
            {
                var sb = new StringBuilder();
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    // C's \xHH (one or two hex digits: a byte, kept as the char of that value), else one-letter escapes.
                    if (text[i] == '\\' && At(text, i + 1) == 'x' && Uri.IsHexDigit(At(text, i + 2)))
                    {
                        int n = Uri.IsHexDigit(At(text, i + 3)) ? 2 : 1;
                        sb.Append((char)Convert.ToByte(text.Substring(i + 2, n), 16));
                        i += 2 + n;
                        continue;
                    }
                    if (text[i] == '\\' && i + 1 < text.Length) { sb.Append(Escape(text[i + 1])); i += 2; continue; }
                    if (text[i] == '\n') line++;
                    sb.Append(text[i++]);
                }
                if (i >= text.Length) { (error, errorLine) = ($"unterminated string", startLine); return tokens; }
                i++;
                tokens.Add(new Token(TokenKind.String, sb.ToString(), startLine));
                continue;
            }
            if (c == '-' && At(text, i + 1) == '-' && lineStart)
            {
                while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
                tokens.Add(new Token(TokenKind.Option, text[start..i], startLine));
                continue;
            }
            if (c == '.' && At(text, i + 1) == '.' && At(text, i + 2) == '.')
            {
                tokens.Add(new Token(TokenKind.Ellipsis, "...", startLine));
                i += 3;
                continue;
            }
            if (char.IsDigit(c) || c == '.' && char.IsDigit(At(text, i + 1)))
            {
                if (c == '0' && (At(text, i + 1) is 'x' or 'X'))
                {
                    i += 2;
                    while (i < text.Length && Uri.IsHexDigit(text[i])) i++;
                    tokens.Add(new Token(TokenKind.Hex, text[start..i], startLine));
                    continue;
                }
                while (i < text.Length && char.IsDigit(text[i])) i++;
                bool isFloat = false;
                // A fraction, but not the start of "..." (as in "+0...0.010") nor a flags dot.
                if (At(text, i) == '.' && !(At(text, i + 1) == '.' && At(text, i + 2) == '.') && char.IsDigit(At(text, i + 1)))
                {
                    isFloat = true;
                    i++;
                    while (i < text.Length && char.IsDigit(text[i])) i++;
                }
                tokens.Add(new Token(isFloat || c == '.' ? TokenKind.Float : TokenKind.Integer, text[start..i], startLine));
                continue;
            }
            if (char.IsLetter(c) || c == '_')
            {
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_')) i++;
                tokens.Add(new Token(TokenKind.Word, text[start..i], startLine));
                continue;
            }
            tokens.Add(new Token(TokenKind.Punct, c.ToString(), startLine));
            i++;
        }
        tokens.Add(new Token(TokenKind.End, "", line));
        return tokens;
    }

    private static char At(string s, int i) => i < s.Length ? s[i] : '\0';

    private static int Count(string s, int from, int to, char c)
    {
        int n = 0;
        for (int k = from; k < to && k < s.Length; k++) if (s[k] == c) n++;
        return n;
    }

    private static char Escape(char c) => c switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', _ => c };
}
