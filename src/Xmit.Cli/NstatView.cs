using System.Globalization;
using Xmit.Hosting;
using Xmit.Transport.Tcp;

namespace Xmit.Cli;

/// <summary>
/// A host's counters as `nstat -a` prints them: `#kernel`, then each non-zero counter as group and name run together
/// (IpInReceives, TcpRetransSegs, TcpExtTCPAutoCorking), its value, and the rate column, 0.0 here since there is no
/// history to average over. /proc/net/snmp's groups first (Ip, Icmp, Tcp, Udp), then /proc/net/netstat's (TcpExt,
/// IpExt), as nstat reads them.
/// </summary>
/// <remarks>Linux: iproute2 misc/nstat.c dump_kern_db() ("%-32s%-16llu%6.1f"); net/ipv4/proc.c snmp_seq_show(), netstat_seq_show()</remarks>
public static class NstatView
{
    /// <summary>The Ip counters Xmit keeps in its IpMib that Linux reports in /proc/net/netstat's IpExt line.</summary>
    private static readonly HashSet<string> IpExt = ["InOctets", "OutOctets", "InTruncatedPkts", "InCsumErrors", "InNoRoutes", "InMcastPkts", "OutMcastPkts", "InBcastPkts", "OutBcastPkts"];

    public static IReadOnlyList<string> Lines(Host host)
    {
        var snmp = new List<(string, long)>();
        var netstat = new List<(string, long)>();
        foreach (var (group, name, value) in host.Mib.All())
        {
            if (group == "Ip" && IpExt.Contains(name)) netstat.Add(("IpExt" + name, value));
            else if (group == "Udp") continue; // after Tcp, as /proc/net/snmp orders them
            else snmp.Add((group + name, value));
        }
        var tcpExt = new List<(string, long)>();
        foreach (var (name, value) in host.Tcp.Mib.All())
        {
            if (TcpMib.GroupOf(name) == "Tcp") snmp.Add(("Tcp" + name, value));
            else tcpExt.Add(("TcpExt" + name, value));
        }
        foreach (var (group, name, value) in host.Mib.All())
            if (group == "Udp") snmp.Add(("Udp" + name, value));
        var lines = new List<string> { "#kernel" };
        foreach (var (id, value) in snmp.Concat(tcpExt).Concat(netstat))
            if (value != 0) lines.Add(string.Create(CultureInfo.InvariantCulture, $"{id,-32}{value,-16}{0.0,6:0.0}"));
        return lines;
    }
}
