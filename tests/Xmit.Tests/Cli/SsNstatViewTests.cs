using System.Text.RegularExpressions;
using Xmit.Cli;
using Xmit.Cli.Commands;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;

namespace Xmit.Tests.Cli;

/// <summary>`ss -tmin` and `nstat -a` as xmit prints them: iproute2's formats, filled from the socket and the counters.</summary>
public class SsNstatViewTests
{
    [Theory]
    [InlineData(0.893, "0.893")]
    [InlineData(204, "204")]
    [InlineData(1000, "1000")]
    [InlineData(0.0125, "0.0125")]
    [InlineData(4294967.295, "4.29497e+06")] // tcp_min_rtt() ~0 before a sample, as ss shows it
    public void Numbers_print_as_printf_g_does(double value, string expected) => Assert.Equal(expected, SsView.G(value));

    [Theory]
    [InlineData(77.8e6, "77.8M")]
    [InlineData(1.5e9, "1.5G")]
    [InlineData(116_000, "116k")]
    [InlineData(999.5e6, "1e+03M")] // %.3g rounds up past three digits, as sprint_bw() prints it
    [InlineData(512, "512")]
    public void Rates_print_as_sprint_bw_does(double bitsPerSecond, string expected) => Assert.Equal(expected, SsView.Bw(bitsPerSecond));

    [Fact]
    public void Ss_shows_the_socket_queues_memory_and_tcp_info()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 100_000_000 });
        net.WarmUp();
        var c = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        Assert.True(c.A.Write(c.Client, new byte[200_000]) > 0);
        net.RunFor(Duration.FromMilliseconds(2)); // part of it still in flight or unsent
        var sk = c.ClientSock;
        var lines = SsView.Lines(net.A, sk);

        Assert.Equal(2, lines.Count);
        var state = Regex.Split(lines[0].Trim(), " +");
        Assert.Equal(["ESTAB", "0", ((int)(sk.WriteSeq - sk.SndUna)).ToString(), $"198.18.0.1:{sk.LocalPort}", "198.18.0.2:5000"], state);
        Assert.True(sk.WriteSeq != sk.SndUna, "the Send-Q of this moment is not empty");
        Assert.StartsWith($"\t skmem:(r{sk.RmemAlloc},rb{sk.RcvBuf},t{sk.WmemAlloc},tb{sk.SndBuf},f0,w{sk.WmemQueued},o0,bl0) ts sack cubic wscale:", lines[1]);
        // The fields in tcp_stats_print()'s order, those that are zero left out.
        Assert.Matches(@" rto:\d+ rtt:[\d.]+/[\d.]+ mss:1448 pmtu:1500 rcvmss:\d+ advmss:1448 cwnd:\d+( ssthresh:\d+)? bytes_sent:\d+ bytes_acked:\d+ segs_out:\d+ segs_in:\d+ data_segs_out:\d+ send [\d.]+[kMG]bps ", lines[1]);
        Assert.Contains($" cwnd:{sk.SndCwnd} ", lines[1]);
        Assert.Contains($" bytes_acked:{sk.BytesAcked} ", lines[1]);
        Assert.DoesNotContain("bytes_retrans", lines[1]); // nothing was lost
        if (sk.SndSsthresh >= 0xFFFF) Assert.DoesNotContain("ssthresh", lines[1]); // "infinite": ss leaves it out
        else Assert.Contains($" ssthresh:{sk.SndSsthresh} ", lines[1]);
        Assert.Matches(@" snd_wnd:\d+ rcv_wnd:\d+$", lines[1]);

        var server = SsView.Lines(net.B, c.ServerSock);
        Assert.Matches(@"^ESTAB +\d+ +0 +198\.18\.0\.2:5000 +198\.18\.0\.1:\d+$", server[0]);
        Assert.Contains(" bytes_received:", server[1]);
        c.Close();
    }

    [Fact]
    public void Nstat_lists_the_non_zero_counters_under_kernel_with_linux_names()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 100_000_000 });
        net.WarmUp();
        var c = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB);
        Assert.True(TcpConnection.Transfer(net, c.A, c.Client, c.B, c.Server, 100_000, seed: 1));
        var lines = NstatView.Lines(net.A);

        Assert.Equal("#kernel", lines[0]);
        var counters = lines.Skip(1).Select(l =>
        {
            var m = Regex.Match(l, @"^(\S+) +(\d+) +0\.0$");
            Assert.True(m.Success, l);
            Assert.Equal(32, l.IndexOf(m.Groups[2].Value, StringComparison.Ordinal)); // %-32s
            return (Name: m.Groups[1].Value, Value: long.Parse(m.Groups[2].Value));
        }).ToList();
        Assert.All(counters, kv => Assert.NotEqual(0, kv.Value));
        Assert.Contains(("TcpActiveOpens", 1L), counters);
        Assert.Contains(("TcpOutSegs", net.A.Tcp.Mib.OutSegs), counters);
        Assert.Contains(("IpOutRequests", net.A.Mib.Ip.OutRequests), counters);
        Assert.Contains(counters, kv => kv.Name == "IpExtOutOctets"); // /proc/net/netstat's IpExt, not Ip
        Assert.DoesNotContain(counters, kv => kv.Name == "IpOutOctets");
        // /proc/net/snmp's groups (Ip, Icmp, Tcp, Udp) come before /proc/net/netstat's (TcpExt, IpExt).
        var names = counters.Select(kv => kv.Name).ToList();
        Assert.True(names.FindLastIndex(x => x.StartsWith("Tcp", StringComparison.Ordinal) && !x.StartsWith("TcpExt", StringComparison.Ordinal))
            < names.FindIndex(x => x.StartsWith("IpExt", StringComparison.Ordinal)));
        c.Close();
    }

    [Fact]
    public void Sim_tcp_text_report_shows_ss_and_nstat_of_each_host()
    {
        var text = new StringWriter();
        Assert.Equal(0, SimTcpCommand.Run(new TcpBulkConfig { Duration = Duration.FromMilliseconds(200), LossRate = 0.01 }, null, false, text, TextWriter.Null));
        var report = text.ToString();
        foreach (var host in new[] { "A", "B" })
        {
            Assert.Contains($"ss -tmin on {host} at 200 ms:", report);
            Assert.Contains($"nstat -a on {host} at 200 ms", report);
        }
        Assert.Matches(@"\n  ESTAB +\d+ +\d+ +198\.18\.0\.1:\d+ +198\.18\.0\.2:5001\n  \t skmem:\(r\d+,rb\d+,t\d+,tb\d+,f0,w\d+,o0,bl0\) ts sack cubic ", report);
        Assert.Matches(@"retrans:\d+/\d+", report); // a lossy link: A resent something
        Assert.Matches(@"\n  TcpRetransSegs {18}\d+ +0\.0\n", report);
    }
}
