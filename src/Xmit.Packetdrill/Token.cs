namespace Xmit.Packetdrill;

public enum TokenKind
{
    End,
    /// <summary>--name or --name=value on the script's first lines.</summary>
    Option,
    Integer,
    Hex,
    Float,
    Word,
    String,
    /// <summary>`shell command` (may span lines).</summary>
    BackQuoted,
    /// <summary>%{ python }% (may span lines).</summary>
    Code,
    Ellipsis,
    Punct,
}

/// <summary>One token with the line it starts on (1-based) and its text.</summary>
public readonly record struct Token(TokenKind Kind, string Text, int Line)
{
    public bool Is(string punct) => Kind == TokenKind.Punct && Text == punct;
    public override string ToString() => Kind == TokenKind.End ? "end of script" : $"'{Text}' (line {Line})";
}
