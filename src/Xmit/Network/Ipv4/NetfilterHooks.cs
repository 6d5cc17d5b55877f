using Xmit.Buffers;

namespace Xmit.Network.Ipv4;

/// <summary>The IPv4 netfilter hook points.</summary>
/// <remarks>Linux: include/uapi/linux/netfilter.h enum nf_inet_hooks</remarks>
public enum NfHook
{
    PreRouting,
    LocalIn,
    Forward,
    LocalOut,
    PostRouting,
}

public enum NfVerdict
{
    Accept,
    /// <summary>The hook dropped the packet; the caller frees it and reports EPERM.</summary>
    Drop,
}

/// <summary>A filter at a hook point. It must not keep or free the skb: it only decides.</summary>
public interface INetfilterHook
{
    NfVerdict Hook(NfHook hook, SkBuff skb);
}

/// <summary>Accepts everything (and counts what it saw).</summary>
public sealed class AcceptHook : INetfilterHook
{
    public long Seen { get; private set; }

    public NfVerdict Hook(NfHook hook, SkBuff skb)
    {
        Seen++;
        return NfVerdict.Accept;
    }
}

/// <summary>Drops packets matching a predicate (everything by default), counting them, like an iptables DROP rule with its counter.</summary>
public sealed class DropHook(Func<SkBuff, bool>? match = null) : INetfilterHook
{
    public long Dropped { get; private set; }

    public NfVerdict Hook(NfHook hook, SkBuff skb)
    {
        if (match is not null && !match(skb)) return NfVerdict.Accept;
        Dropped++;
        return NfVerdict.Drop;
    }
}

/// <summary>The filters registered at each hook, run in registration order until one drops.</summary>
/// <remarks>Linux: include/linux/netfilter.h NF_HOOK(), nf_hook_slow()</remarks>
public sealed class NetfilterHooks
{
    private readonly List<INetfilterHook>[] _hooks = [[], [], [], [], []];

    public void Register(NfHook hook, INetfilterHook filter) => _hooks[(int)hook].Add(filter);
    public void Unregister(NfHook hook, INetfilterHook filter) => _hooks[(int)hook].Remove(filter);

    /// <summary>Runs the hook; on Drop the caller must free the skb.</summary>
    public NfVerdict Run(NfHook hook, SkBuff skb)
    {
        var list = _hooks[(int)hook];
        for (int i = 0; i < list.Count; i++)
            if (list[i].Hook(hook, skb) == NfVerdict.Drop) return NfVerdict.Drop;
        return NfVerdict.Accept;
    }
}
