namespace Xmit.Packetdrill;

public enum ScriptStatus
{
    Pass,
    Fail,
    /// <summary>The script needs something the stack or the runner does not have (TCP, IPv6, Python…); never a pass.</summary>
    Unsupported,
}

/// <summary>What running one script gave: the status, and for a failure the line, what was expected and what happened, at what virtual time.</summary>
public sealed record ScriptResult(string Path, ScriptStatus Status, string Reason = "", int Line = 0, string Expected = "", string Actual = "", double AtSeconds = 0)
{
    public override string ToString() => Status switch
    {
        ScriptStatus.Pass => $"PASS {Path}",
        ScriptStatus.Unsupported => $"UNSUPPORTED {Path}: {Reason}",
        // A script that never ran (a syntax error, an unreadable file) has nothing expected or seen to show.
        _ when Expected.Length == 0 && Actual.Length == 0 => $"FAIL {Path}:{Line}: {Reason}",
        _ => $"FAIL {Path}:{Line}: {Reason}\n  expected: {Expected}\n  actual:   {Actual}\n  at {AtSeconds:0.000000} s",
    };
}
