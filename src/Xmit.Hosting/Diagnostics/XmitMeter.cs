using System.Diagnostics.Metrics;
using Xmit.Hosting;
using Xmit.Transport.Tcp;

namespace Xmit.Diagnostics;

/// <summary>
/// The hosts' counters as a System.Diagnostics.Metrics meter named <c>Xmit</c>, so dotnet-counters
/// (<c>dotnet-counters monitor -n APP --counters Xmit</c>), OpenTelemetry or a MeterListener see them live. Each
/// instrument is named after the Linux counter it mirrors, group and name as /proc/net/snmp and netstat print them
/// (<c>Ip.OutRequests</c>, <c>Udp.SndbufErrors</c>, <c>Tcp.RetransSegs</c>, <c>TcpExt.TCPAutoCorking</c>), and
/// device statistics as rtnl_link_stats64 names them (<c>dev.tx_packets</c>, <c>dev.rx_missed_errors</c>); every
/// measurement carries the host's name (and the device's) as tags.
/// </summary>
/// <remarks>
/// The counters are read when a listener collects, from whichever thread it collects on, while the host's own loop
/// may be updating them: a value is at most one event old, as /proc/net/snmp's are.
/// Linux: net/ipv4/proc.c snmp_seq_show(), netstat_seq_show(); include/uapi/linux/if_link.h rtnl_link_stats64
/// </remarks>
public sealed class XmitMeter : IDisposable
{
    public const string MeterName = "Xmit";

    private readonly IReadOnlyList<Host> _hosts;

    public XmitMeter(IEnumerable<Host> hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        _hosts = hosts.ToList();
        Meter = new Meter(MeterName, typeof(XmitMeter).Assembly.GetName().Version?.ToString());
        var names = new HashSet<string>();
        foreach (var host in _hosts)
        {
            foreach (var (group, name, _) in host.Mib.All()) names.Add($"{group}.{name}");
            foreach (var (name, _) in host.Tcp.Mib.All()) names.Add($"{TcpMib.GroupOf(name)}.{name}");
        }
        foreach (var qualified in names)
            Meter.CreateObservableCounter(qualified, () => ProtocolCounter(qualified), description: $"Linux's {qualified.Replace('.', ':')} for each host");
        foreach (var (stat, read) in DeviceCounters)
            Meter.CreateObservableCounter("dev." + stat, () => Device(read), description: $"rtnl_link_stats64 {stat} for each device");
    }

    public Meter Meter { get; }

    private IEnumerable<Measurement<long>> ProtocolCounter(string qualified)
    {
        int dot = qualified.IndexOf('.');
        string group = qualified[..dot], name = qualified[(dot + 1)..];
        foreach (var host in _hosts)
        {
            var tag = new KeyValuePair<string, object?>("host", host.Name);
            if (group is "Tcp" or "TcpExt")
            {
                foreach (var (n, v) in host.Tcp.Mib.All())
                    if (n == name && TcpMib.GroupOf(n) == group) yield return new Measurement<long>(v, tag);
            }
            else
            {
                foreach (var (g, n, v) in host.Mib.All())
                    if (g == group && n == name) yield return new Measurement<long>(v, tag);
            }
        }
    }

    private static readonly (string, Func<Link.DeviceStats, long>)[] DeviceCounters =
    [
        ("tx_packets", s => s.TxPackets), ("tx_bytes", s => s.TxBytes), ("tx_dropped", s => s.TxDropped), ("tx_errors", s => s.TxErrors),
        ("rx_packets", s => s.RxPackets), ("rx_bytes", s => s.RxBytes), ("rx_dropped", s => s.RxDropped), ("rx_errors", s => s.RxErrors),
        ("rx_missed_errors", s => s.RxMissedErrors),
    ];

    private IEnumerable<Measurement<long>> Device(Func<Link.DeviceStats, long> read)
    {
        foreach (var host in _hosts)
            foreach (var dev in host.Devices)
                yield return new Measurement<long>(read(dev.Stats),
                    new KeyValuePair<string, object?>("host", host.Name), new KeyValuePair<string, object?>("device", dev.Name));
    }

    public void Dispose() => Meter.Dispose();
}
