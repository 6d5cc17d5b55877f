using System.Text.RegularExpressions;
using Xmit.Cli;
using Xmit.Tests.Support;

namespace Xmit.Tests.Cli;

/// <summary>
/// `--trace FILE` on xmit sim, sim tcp and sim ping: the tracepoints of the run, one ftrace line each. RunsAlone:
/// the writer enables the EventSource for the whole process while the run lasts.
/// </summary>
[Collection(nameof(RunsAlone))]
public partial class SimTraceCommandTests
{
    /// <summary>`           A-0       [000] ..s1.     1.234567: kfree_skb: skbaddr=…`: task-pid, CPU, flags, seconds, tracepoint, fields.</summary>
    [GeneratedRegex(@"^ {0,15}[AB]-0 {7}\[000\] \.\.s1\. +\d+\.\d{6}: (?<event>[a-z_]+): (?<fields>.+)$")]
    private static partial Regex LineRegex();

    private static (int Code, string Out, string[] Lines) Run(string args, string file)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = XmitCli.Run([.. args.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--trace", file], o, e);
        Assert.True(e.ToString().Length == 0, e.ToString());
        var lines = File.ReadAllLines(file);
        File.Delete(file);
        return (code, o.ToString(), lines);
    }

    private static string TempFile() => Path.Combine(Path.GetTempPath(), $"xmit-trace-{Environment.ProcessId}-{Guid.NewGuid():N}.trace");

    /// <summary>The event lines (after ftrace's # header) by tracepoint; fails on a line of any other shape.</summary>
    private static ILookup<string, string> Events(string[] lines)
    {
        Assert.Equal("# tracer: nop", lines[0]);
        var events = lines.Where(l => !l.StartsWith('#')).Select(l =>
        {
            var m = LineRegex().Match(l);
            Assert.True(m.Success, $"not an ftrace line: {l}");
            return (Event: m.Groups["event"].Value, Fields: m.Groups["fields"].Value);
        }).ToList();
        return events.ToLookup(e => e.Event, e => e.Fields);
    }

    [Fact]
    public void Sim_tcp_traces_every_tracepoint_kind_and_names_the_file()
    {
        var file = TempFile();
        var (code, output, lines) = Run("sim tcp --duration 300ms --loss 0.02", file);
        Assert.Equal(0, code);
        var events = Events(lines);
        foreach (var kind in new[] { "net_dev_queue", "net_dev_xmit", "qdisc_dequeue", "kfree_skb", "tcp_probe", "tcp_retransmit_skb", "sock_exceed_buf_limit", "inet_sock_set_state" })
            Assert.True(events[kind].Any(), $"no {kind} line");
        Assert.Contains($"trace: {file} ({lines.Count(l => !l.StartsWith('#'))} events)", output);

        // Each as its TP_printk prints it.
        Assert.All(events["net_dev_queue"], f => Assert.Matches(@"^dev=(eth0|lo) skbaddr=[0-9a-f]{16} len=\d+$", f));
        Assert.All(events["net_dev_xmit"], f => Assert.Matches(@"^dev=(eth0|lo) skbaddr=[0-9a-f]{16} len=\d+ rc=0$", f));
        Assert.All(events["qdisc_dequeue"], f => Assert.Matches(@"^dequeue ifindex=\d+ qdisc handle=0x[0-9A-F]+ parent=0xFFFFFFFF txq_state=0x[0-3] packets=\d+ skbaddr=[0-9a-f]{16}$", f));
        Assert.All(events["kfree_skb"], f => Assert.Matches(@"^skbaddr=[0-9a-f]{16} rx_sk=0{16} protocol=\d+ location=[\w.]+ reason: [A-Z_]+$", f));
        Assert.All(events["tcp_probe"], f => Assert.Matches(@"^family=AF_INET src=198\.18\.0\.[12]:\d+ dest=198\.18\.0\.[12]:\d+ mark=0 data_len=\d+ snd_nxt=0x[0-9a-f]+ " +
            @"snd_una=0x[0-9a-f]+ snd_cwnd=\d+ ssthresh=\d+ snd_wnd=\d+ srtt=\d+ rcv_wnd=\d+ sock_cookie=[0-9a-f]+ skbaddr=[0-9a-f]{16} skaddr=[0-9a-f]{16}$", f));
        Assert.Contains(events["tcp_retransmit_skb"], f => f.Contains("saddr=198.18.0.1 daddr=198.18.0.2 saddrv6=::ffff:198.18.0.1 daddrv6=::ffff:198.18.0.2 state=TCP_ESTABLISHED", StringComparison.Ordinal));
        Assert.All(events["sock_exceed_buf_limit"], f => Assert.Matches(@"^proto:TCP sysctl_rmem=4096 rmem_alloc=\d+ sysctl_wmem=4096 wmem_alloc=\d+ wmem_queued=\d+ kind=SK_MEM_SEND$", f));
        Assert.Contains(events["inet_sock_set_state"], f => f.EndsWith("oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED", StringComparison.Ordinal));
    }

    [Fact]
    public void The_same_seed_writes_the_same_trace()
    {
        var first = Run("sim tcp --duration 100ms --loss 0.01 --seed 3", TempFile()).Lines;
        var second = Run("sim tcp --duration 100ms --loss 0.01 --seed 3", TempFile()).Lines;
        Assert.True(first.Length > 100);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Sim_traces_the_qdisc_drops_of_host_a_as_kfree_skb_qdisc_drop()
    {
        var file = TempFile();
        var (code, output, lines) = Run("sim --duration 20ms --qdisc pfifo --limit 3", file);
        Assert.Equal(0, code);
        var drops = lines.Where(l => l.Contains("reason: QDISC_DROP", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(drops);
        Assert.All(drops, l => Assert.Matches(@"^ {15}A-0 .* kfree_skb: skbaddr=[0-9a-f]{16} rx_sk=0{16} protocol=2048 location=Qdisc\.Drop reason: QDISC_DROP$", l));
        // The report's ledger counts the same drops at A's qdisc.
        Assert.Matches($@"qdisc pfifo \(A\).*QDISC_DROP {drops.Count}\b", output);
    }

    [Fact]
    public void Sim_ping_traces_the_echo_frames_through_eth0()
    {
        var file = TempFile();
        var (code, output, lines) = Run("sim ping --count 2 --interval 10ms", file);
        Assert.Equal(0, code);
        var events = Events(lines);
        // Two requests and A's ARP request leave A; two replies and B's ARP reply leave B: three frames each way.
        Assert.Equal(3, lines.Count(l => l.Contains(" A-0 ", StringComparison.Ordinal) && l.Contains("net_dev_queue: dev=eth0", StringComparison.Ordinal)));
        Assert.Equal(3, lines.Count(l => l.Contains(" B-0 ", StringComparison.Ordinal) && l.Contains("net_dev_xmit: dev=eth0", StringComparison.Ordinal)));
        Assert.Empty(events["tcp_probe"]);
        Assert.Contains("trace: " + file, output);
    }
}
