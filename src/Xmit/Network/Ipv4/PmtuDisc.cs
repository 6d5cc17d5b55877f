namespace Xmit.Network.Ipv4;

/// <summary>IP_MTU_DISCOVER modes.</summary>
/// <remarks>Linux: include/uapi/linux/in.h IP_PMTUDISC_*</remarks>
public enum PmtuDisc
{
    /// <summary>Never set DF.</summary>
    Dont = 0,
    /// <summary>Set DF when the packet fits the path MTU; larger ones are fragmented locally (the default).</summary>
    Want = 1,
    /// <summary>Always set DF; larger sends fail with EMSGSIZE.</summary>
    Do = 2,
    Probe = 3,
    Interface = 4,
    Omit = 5,
}

public static class PmtuDiscRules
{
    /// <summary>ip_sk_ignore_df(): the stack may fragment this socket's packets even with DF set.</summary>
    /// <remarks>Linux: include/net/ip.h ip_sk_ignore_df()</remarks>
    public static bool IgnoreDf(PmtuDisc mode) => mode < PmtuDisc.Do || mode == PmtuDisc.Omit;

    /// <summary>Whether a packet of <paramref name="length"/> bytes gets DF (ip_dont_fragment, and __ip_make_skb's rule).</summary>
    /// <remarks>Linux: net/ipv4/ip_output.c __ip_make_skb(); include/net/ip.h ip_dont_fragment()</remarks>
    public static bool SetsDf(PmtuDisc mode, int length, int mtu) =>
        mode is PmtuDisc.Do or PmtuDisc.Probe || mode == PmtuDisc.Want && length <= mtu;
}
