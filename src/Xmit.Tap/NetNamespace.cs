using System.Diagnostics;

namespace Xmit.Tap;

/// <summary>A network namespace managed with iproute2, and commands run inside it.</summary>
public sealed class NetNamespace : IDisposable
{
    private NetNamespace(string name, bool owned)
    {
        Name = name;
        Owned = owned;
    }

    public string Name { get; }

    /// <summary>Created by us: deleted on Dispose.</summary>
    public bool Owned { get; }

    public static bool Exists(string name) => File.Exists($"/var/run/netns/{name}");

    /// <summary>`ip netns add NAME`; an existing namespace is an error (never someone else's to reuse).</summary>
    public static (NetNamespace? Ns, string? Error) Create(string name)
    {
        if (Exists(name)) return (null, $"network namespace '{name}' already exists; choose another name or delete it (ip netns del {name})");
        var (code, _, err) = Run("ip", "netns", "add", name);
        if (code != 0) return (null, $"ip netns add {name} failed: {err.Trim()}");
        var ns = new NetNamespace(name, owned: true);
        ns.Exec("ip", "link", "set", "lo", "up");
        return (ns, null);
    }

    public static NetNamespace Attach(string name) => new(name, owned: false);

    /// <summary>Runs a command inside the namespace (ip netns exec).</summary>
    public (int Code, string Out, string Err) Exec(params string[] command) => Run("ip", ["netns", "exec", Name, .. command]);

    /// <summary>Starts a command inside the namespace without waiting for it.</summary>
    public Process Start(params string[] command)
    {
        var psi = Psi("ip", ["netns", "exec", Name, .. command]);
        return Process.Start(psi)!;
    }

    public static (int Code, string Out, string Err) Run(string file, params string[] args)
    {
        using var p = Process.Start(Psi(file, args))!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill(entireProcessTree: true);
            return (-1, o.Result, "timed out after 30 s");
        }
        return (p.ExitCode, o.Result, e.Result);
    }

    private static ProcessStartInfo Psi(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    public void Dispose()
    {
        if (Owned && Exists(Name)) Run("ip", "netns", "del", Name);
    }
}
