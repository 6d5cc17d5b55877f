namespace Xmit.Packetdrill;

/// <summary>A parsed script: option lines, then events in order.</summary>
public sealed record Script(string Path, IReadOnlyList<ScriptOption> Options, IReadOnlyList<Event> Events);

public sealed record ScriptOption(string Name, string? Value, int Line);

public enum TimeKind
{
    /// <summary>"0.100": since the start of the script.</summary>
    Absolute,
    /// <summary>"+0.100": since the previous event.</summary>
    Relative,
    /// <summary>"*": any time.</summary>
    Any,
}

/// <summary>When an event happens: a time, or a range "a~b" (each end absolute or relative), and for a blocking call the end time ("start...end").</summary>
public sealed record EventTime(TimeKind Kind, double Seconds, double? RangeEndSeconds = null, bool RangeEndRelative = false, double? BlockingEndSeconds = null, bool BlockingEndRelative = false);

public abstract record ScriptAction;

/// <summary>A packet the stack must send ('&gt;') or the script injects ('&lt;'), kept as its tokens until the runner interprets it.</summary>
public sealed record PacketAction(char Direction, string Protocol, IReadOnlyList<Token> Tokens) : ScriptAction
{
    public override string ToString() => $"{Direction} {string.Join(' ', Tokens.Select(t => t.Text))}";
}

public sealed record SyscallAction(string Name, IReadOnlyList<Expr> Arguments, Expr Result, string? Errno, string? Note) : ScriptAction;

public sealed record CommandAction(string Command) : ScriptAction;

public sealed record CodeAction(string Code) : ScriptAction;

public sealed record Event(int Line, EventTime Time, ScriptAction Action);

/// <summary>Syscall argument and result expressions.</summary>
public abstract record Expr;
public sealed record EllipsisExpr : Expr;
public sealed record IntExpr(long Value) : Expr;
public sealed record WordExpr(string Name) : Expr;
public sealed record StringExpr(string Value, bool Ellipsis) : Expr;
/// <summary>a | b | c (flag sets).</summary>
public sealed record OrExpr(IReadOnlyList<Expr> Terms) : Expr;
/// <summary>name=value inside a struct, or f(x)=value (msg_iov(1)=[...]).</summary>
public sealed record AssignExpr(Expr Target, Expr Value) : Expr;
public sealed record ArrayExpr(IReadOnlyList<Expr> Items) : Expr;
public sealed record StructExpr(IReadOnlyList<Expr> Fields) : Expr;
/// <summary>htons(8080), inet_addr("1.2.3.4"), msg_name(...).</summary>
public sealed record CallExpr(string Name, IReadOnlyList<Expr> Arguments) : Expr;
