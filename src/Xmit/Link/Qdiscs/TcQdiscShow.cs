using System.Globalization;

namespace Xmit.Link.Qdiscs;

/// <summary>
/// `tc [-s] qdisc show dev D` for a device: the root first ("root", with refcnt when more than the device holds it —
/// a shared root is held by every TX queue too), then mq's children, last queue first as tc lists them ("parent :N",
/// or "parent 1:N" under a handle), each with tc's "Sent … (dropped …)" and "backlog …" lines when stats are asked for.
/// </summary>
/// <remarks>Linux: net/sched/sch_api.c tc_fill_qdisc(), tc_dump_qdisc(); iproute2 tc/tc_qdisc.c print_qdisc(), tc/tc_util.c print_tcstats_attr()</remarks>
public static class TcQdiscShow
{
    public static List<string> Lines(NetDevice dev, bool stats = true)
    {
        var lines = new List<string>();
        var root = dev.RootQdisc;
        root.UpdateDumpStats();
        // The device holds the root once; a non-mq root is also each TX queue's qdisc.
        int refcnt = root is MqQdisc ? 1 : 1 + dev.TxQueues.Length;
        Add(lines, root, "root", refcnt, stats);
        if (root is MqQdisc mq)
        {
            string major = root.Handle == 0 ? "" : root.Handle.ToString("x", CultureInfo.InvariantCulture);
            for (int i = mq.Children.Count - 1; i >= 0; i--)
                Add(lines, mq.Children[i], $"parent {major}:{(i + 1).ToString("x", CultureInfo.InvariantCulture)}", 1, stats);
        }
        return lines;
    }

    private static void Add(List<string> lines, Qdisc q, string where, int refcnt, bool stats)
    {
        var inv = CultureInfo.InvariantCulture;
        string head = string.Create(inv, $"qdisc {q.Kind} {q.Handle:x}: {where} ") + (refcnt != 1 ? string.Create(inv, $"refcnt {refcnt} ") : "") + q.TcOptions;
        lines.Add(head.TrimEnd());
        if (!stats) return;
        var s = q.Stats;
        lines.Add(string.Create(inv, $" Sent {s.Bytes} bytes {s.Packets} pkt (dropped {s.Drops}, overlimits {s.Overlimits} requeues {s.Requeues})"));
        lines.Add(string.Create(inv, $" backlog {TcUnits.FormatSize(q.Backlog)} {q.QLen}p requeues {s.Requeues}"));
    }
}
