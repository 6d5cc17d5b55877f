using System.Globalization;
using System.Text;

namespace Xmit.Cli;

/// <summary>
/// One event of the Xmit EventSource as a line of ftrace's trace file (what `cat /sys/kernel/tracing/trace`,
/// `trace-cmd report` and `perf script` show): task-pid, CPU, flags, seconds.microseconds, the tracepoint, and its
/// fields as the tracepoint's TP_printk prints them. The task is the host; it has one CPU, 000, and the networking
/// code runs in softirq context as it mostly does in Linux, so every line has the flags `..s1.`.
/// </summary>
/// <remarks>
/// Pointers (%p) are the skb's serial in its pool and the socket's cookie, as 16 hex digits like ftrace's hashed
/// pointers; %pS (kfree_skb's location) is the C# type and member that freed the skb. Fields Xmit has no value for
/// are left out rather than invented: sock_exceed_buf_limit's sysctl_mem and allocated (there is no tcp_mem).
/// Linux: kernel/trace/trace_output.c; include/trace/events/net.h, qdisc.h, skb.h, tcp.h, sock.h (TP_printk)
/// </remarks>
public static class FtraceFormat
{
    public const string Header =
        "# tracer: nop\n" +
        "#\n" +
        "#                                _-----=> irqs-off/BH-disabled\n" +
        "#                               / _----=> need-resched\n" +
        "#                              | / _---=> hardirq/softirq\n" +
        "#                              || / _--=> preempt-depth\n" +
        "#                              ||| / _-=> migrate-disable\n" +
        "#                              |||| /     delay\n" +
        "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n" +
        "#              | |         |   |||||     |         |";

    /// <summary>The line for event <paramref name="name"/> whose payload is <paramref name="fields"/> (host and time_ns first).</summary>
    public static string Line(string name, IReadOnlyDictionary<string, object?> fields)
    {
        var f = new Fields(fields);
        long ns = f.Long("time_ns");
        var b = new StringBuilder(160);
        // TASK (16, right-aligned) - PID (7, left-aligned): the host, and 0 as the pid of softirq work run from idle.
        b.Append(CultureInfo.InvariantCulture, $"{f.Str("host"),16}-{0,-7} [000] ..s1. {ns / 1_000_000_000,5}.{ns % 1_000_000_000 / 1000:D6}: {name}: ");
        b.Append(Body(name, f));
        return b.ToString();
    }

    private static string Body(string name, Fields f) => name switch
    {
        "net_dev_queue" => $"dev={f.Str("name")} skbaddr={f.Ptr("skbaddr")} len={f.Long("len")}",
        "net_dev_xmit" => $"dev={f.Str("name")} skbaddr={f.Ptr("skbaddr")} len={f.Long("len")} rc={f.Long("rc")}",
        "qdisc_dequeue" => $"dequeue ifindex={f.Long("ifindex")} qdisc handle=0x{f.Long("handle"):X} parent=0x{f.Long("parent"):X} " +
                           $"txq_state=0x{f.Long("txq_state"):X} packets={f.Long("packets")} skbaddr={f.Ptr("skbaddr")}",
        "kfree_skb" => $"skbaddr={f.Ptr("skbaddr")} rx_sk={f.Ptr("rx_sk")} protocol={f.Long("protocol")} location={f.Str("location")} reason: {f.Str("reason")}",
        "tcp_probe" => $"family={f.Str("family")} src={f.Str("src")} dest={f.Str("dest")} mark={Hash(f.Long("mark"))} data_len={f.Long("data_len")} " +
                       $"snd_nxt={Hash(f.Long("snd_nxt"))} snd_una={Hash(f.Long("snd_una"))} snd_cwnd={f.Long("snd_cwnd")} ssthresh={f.Long("ssthresh")} " +
                       $"snd_wnd={f.Long("snd_wnd")} srtt={f.Long("srtt")} rcv_wnd={f.Long("rcv_wnd")} sock_cookie={f.Long("sock_cookie"):x} " +
                       $"skbaddr={f.Ptr("skbaddr")} skaddr={f.Ptr("skaddr")}",
        "tcp_retransmit_skb" => $"skbaddr={f.Ptr("skbaddr")} skaddr={f.Ptr("skaddr")} family={f.Str("family")} sport={f.Long("sport")} dport={f.Long("dport")} " +
                                $"saddr={f.Str("saddr")} daddr={f.Str("daddr")} saddrv6=::ffff:{f.Str("saddr")} daddrv6=::ffff:{f.Str("daddr")} state={f.Str("state")}",
        "sock_exceed_buf_limit" => $"proto:{f.Str("proto")} sysctl_rmem={f.Long("sysctl_rmem")} rmem_alloc={f.Long("rmem_alloc")} sysctl_wmem={f.Long("sysctl_wmem")} " +
                                   $"wmem_alloc={f.Long("wmem_alloc")} wmem_queued={f.Long("wmem_queued")} kind={f.Str("kind")}",
        "inet_sock_set_state" => $"family={f.Str("family")} protocol={f.Str("protocol")} sport={f.Long("sport")} dport={f.Long("dport")} saddr={f.Str("saddr")} " +
                                 $"daddr={f.Str("daddr")} saddrv6=::ffff:{f.Str("saddr")} daddrv6=::ffff:{f.Str("daddr")} oldstate={f.Str("oldstate")} newstate={f.Str("newstate")}",
        _ => f.Generic(),
    };

    /// <summary>printf's %#x: 0 stays 0, anything else gets 0x.</summary>
    private static string Hash(long v) => v == 0 ? "0" : "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    private readonly struct Fields(IReadOnlyDictionary<string, object?> values)
    {
        public string Str(string name) => values.TryGetValue(name, out var v) ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? "" : "";

        public long Long(string name) => values.TryGetValue(name, out var v) && v is not null ? Convert.ToInt64(v, CultureInfo.InvariantCulture) : 0;

        /// <summary>%p: 16 hex digits.</summary>
        public string Ptr(string name) => Long(name).ToString("x16", CultureInfo.InvariantCulture);

        /// <summary>An event this table does not know: its fields as name=value.</summary>
        public string Generic() =>
            string.Join(' ', values.Where(kv => kv.Key is not ("host" or "time_ns")).Select(kv => $"{kv.Key}={Convert.ToString(kv.Value, CultureInfo.InvariantCulture)}"));
    }
}
