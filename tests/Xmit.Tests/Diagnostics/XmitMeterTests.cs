using System.Diagnostics.Metrics;
using Xmit.Diagnostics;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Diagnostics;

/// <summary>A MeterListener (what dotnet-counters and OpenTelemetry use) sees the hosts' Linux-named counters with their values.</summary>
public class XmitMeterTests
{
    private static Dictionary<(string Instrument, string Host, string? Device), long> Collect()
    {
        var seen = new Dictionary<(string, string, string?), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == XmitMeter.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string host = "", device = null!;
            foreach (var t in tags)
            {
                if (t.Key == "host") host = (string)t.Value!;
                if (t.Key == "device") device = (string)t.Value!;
            }
            seen[(instrument.Name, host, device)] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public void The_meter_shows_snmp_tcp_and_device_counters_of_each_host_as_linux_names_them()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 1_000_000_000 });
        using var meter = new XmitMeter(net.Sim.Hosts);
        net.WarmUp();
        var c = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        var data = new byte[100_000];
        var buffer = new byte[65536];
        int sent = 0;
        while (sent < data.Length)
        {
            int n = c.A.Write(c.Client, data.AsSpan(sent));
            if (n > 0) sent += n;
            net.RunFor(Duration.FromMilliseconds(1));
            while (c.B.Read(c.Server, buffer) > 0) { }
        }
        var sock = net.A.Udp.Bind(TwoHosts.AddrA, 7000);
        net.A.Udp.SendDatagram(sock, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, new byte[10]);
        net.RunFor(Duration.FromMilliseconds(5));

        var seen = Collect();
        Assert.Equal(net.A.Tcp.Mib.OutSegs, seen[("Tcp.OutSegs", "A", null)]);
        Assert.Equal(net.B.Tcp.Mib.InSegs, seen[("Tcp.InSegs", "B", null)]);
        Assert.True(seen[("Tcp.OutSegs", "A", null)] > 60);
        Assert.Equal(1, seen[("Tcp.ActiveOpens", "A", null)]);
        Assert.Equal(1, seen[("Tcp.PassiveOpens", "B", null)]);
        Assert.True(seen.ContainsKey(("TcpExt.TCPAutoCorking", "A", null)));
        Assert.Equal(net.A.Mib.Ip.OutRequests, seen[("Ip.OutRequests", "A", null)]);
        Assert.Equal(1, seen[("Udp.OutDatagrams", "A", null)]);
        Assert.Equal(1, seen[("Udp.NoPorts", "B", null)]); // nobody listens on B's port 9
        Assert.Equal(net.DevA.Stats.TxPackets, seen[("dev.tx_packets", "A", net.DevA.Name)]);
        Assert.True(seen[("dev.rx_bytes", "B", net.DevB.Name)] > 100_000);
        c.Close();
    }
}
