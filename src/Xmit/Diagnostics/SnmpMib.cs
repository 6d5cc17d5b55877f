namespace Xmit.Diagnostics;

/// <summary>
/// The host's SNMP counters with Linux's names, as /proc/net/snmp prints them. Plain fields: the
/// stack is single-threaded per host, and incrementing a field costs nothing on the hot path.
/// </summary>
/// <remarks>Linux: include/uapi/linux/snmp.h; net/ipv4/proc.c snmp4_ipstats_list, snmp4_icmp_list, snmp4_udp_list</remarks>
public sealed class SnmpMib
{
    public IpMib Ip { get; } = new();
    public IcmpMib Icmp { get; } = new();
    public UdpMib Udp { get; } = new();

    /// <summary>All counters as "Group: Name value" pairs, in /proc/net/snmp order.</summary>
    public IEnumerable<(string Group, string Name, long Value)> All()
    {
        foreach (var (n, v) in Ip.All()) yield return ("Ip", n, v);
        foreach (var (n, v) in Icmp.All()) yield return ("Icmp", n, v);
        foreach (var (n, v) in Udp.All()) yield return ("Udp", n, v);
    }

    /// <summary>A counter by "Group:Name", e.g. "Ip:OutRequests".</summary>
    public long this[string qualifiedName]
    {
        get
        {
            foreach (var (g, n, v) in All())
                if (qualifiedName == g + ":" + n) return v;
            throw new KeyNotFoundException(qualifiedName);
        }
    }
}

public sealed class IpMib
{
    public long InReceives, InHdrErrors, InAddrErrors, ForwDatagrams, InUnknownProtos, InDiscards, InDelivers;
    public long OutRequests, OutDiscards, OutNoRoutes;
    public long ReasmTimeout, ReasmReqds, ReasmOKs, ReasmFails;
    public long FragOKs, FragFails, FragCreates;
    // IpExt (netstat) counters the transmit path also explains.
    public long OutOctets, InOctets, OutTransmits, InTruncatedPkts, InCsumErrors;

    public IEnumerable<(string, long)> All()
    {
        yield return ("InReceives", InReceives); yield return ("InHdrErrors", InHdrErrors); yield return ("InAddrErrors", InAddrErrors);
        yield return ("ForwDatagrams", ForwDatagrams); yield return ("InUnknownProtos", InUnknownProtos); yield return ("InDiscards", InDiscards);
        yield return ("InDelivers", InDelivers); yield return ("OutRequests", OutRequests); yield return ("OutDiscards", OutDiscards);
        yield return ("OutNoRoutes", OutNoRoutes); yield return ("ReasmTimeout", ReasmTimeout); yield return ("ReasmReqds", ReasmReqds);
        yield return ("ReasmOKs", ReasmOKs); yield return ("ReasmFails", ReasmFails); yield return ("FragOKs", FragOKs);
        yield return ("FragFails", FragFails); yield return ("FragCreates", FragCreates); yield return ("OutTransmits", OutTransmits);
        yield return ("InOctets", InOctets); yield return ("OutOctets", OutOctets); yield return ("InTruncatedPkts", InTruncatedPkts);
        yield return ("InCsumErrors", InCsumErrors);
    }
}

public sealed class IcmpMib
{
    public long InMsgs, InErrors, InCsumErrors, InDestUnreachs, InTimeExcds, InEchos, InEchoReps;
    public long OutMsgs, OutErrors, OutRateLimitGlobal, OutRateLimitHost, OutDestUnreachs, OutTimeExcds, OutEchos, OutEchoReps;

    public IEnumerable<(string, long)> All()
    {
        yield return ("InMsgs", InMsgs); yield return ("InErrors", InErrors); yield return ("InCsumErrors", InCsumErrors);
        yield return ("InDestUnreachs", InDestUnreachs); yield return ("InTimeExcds", InTimeExcds); yield return ("InEchos", InEchos);
        yield return ("InEchoReps", InEchoReps); yield return ("OutMsgs", OutMsgs); yield return ("OutErrors", OutErrors);
        yield return ("OutRateLimitGlobal", OutRateLimitGlobal); yield return ("OutRateLimitHost", OutRateLimitHost);
        yield return ("OutDestUnreachs", OutDestUnreachs);
        yield return ("OutTimeExcds", OutTimeExcds); yield return ("OutEchos", OutEchos); yield return ("OutEchoReps", OutEchoReps);
    }
}

public sealed class UdpMib
{
    public long InDatagrams, NoPorts, InErrors, OutDatagrams, RcvbufErrors, SndbufErrors, InCsumErrors, IgnoredMulti, MemErrors;

    public IEnumerable<(string, long)> All()
    {
        yield return ("InDatagrams", InDatagrams); yield return ("NoPorts", NoPorts); yield return ("InErrors", InErrors);
        yield return ("OutDatagrams", OutDatagrams); yield return ("RcvbufErrors", RcvbufErrors); yield return ("SndbufErrors", SndbufErrors);
        yield return ("InCsumErrors", InCsumErrors); yield return ("IgnoredMulti", IgnoredMulti); yield return ("MemErrors", MemErrors);
    }
}
