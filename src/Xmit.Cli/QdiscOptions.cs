using System.CommandLine;
using Xmit.Link.Qdiscs;
using Xmit.Simulation;

namespace Xmit.Cli;

/// <summary>
/// The root qdisc of a simulated sender as options (`--qdisc`, `--limit`, `--tbf-rate`, `--burst`, and with
/// <c>peakRate</c> also `--peakrate`, `--tbf-mtu`), shared by `xmit sim` and `xmit sim tcp`.
/// </summary>
public sealed class QdiscOptions
{
    private readonly Option<string> _qdisc = new("--qdisc") { Description = "Root qdisc on A's device (default pfifo_fast; mq with pfifo_fast under each queue when --tx-queues is above 1)", DefaultValueFactory = _ => "pfifo_fast" };
    private readonly Option<int> _txQueues = CliOptions.Int("--tx-queues", null, "TX queues of each device, each with its own ring and BQL; flows spread over them by their hash", 1, 1, QdiscSpec.MaxTxQueues);
    private readonly Option<long?> _limit = CliOptions.OptionalLong("--limit", "Qdisc limit: packets for pfifo, packets per band for fq (default 10000), bytes for bfifo and tbf (tbf default 10000000)", 0, int.MaxValue);
    private readonly Option<string?> _tbfRate = CliOptions.RateText("--tbf-rate", "tbf rate, tc syntax (default: the link rate)");
    private readonly Option<string> _burst = CliOptions.SizeText("--burst", "tbf burst in bytes, tc syntax", "1540");
    private readonly Option<string?>? _peakRate;
    private readonly Option<long?>? _tbfMtu;

    public QdiscOptions(bool peakRate)
    {
        CliOptions.OneOf(_qdisc, QdiscSpec.Kinds);
        if (!peakRate) return;
        _peakRate = CliOptions.RateText("--peakrate", "tbf peakrate, tc syntax (needs --tbf-mtu)");
        _tbfMtu = CliOptions.OptionalLong("--tbf-mtu", "tbf mtu (minburst) in bytes, with --peakrate", 1, 1 << 20);
    }

    public IEnumerable<Option> All => _peakRate is null ? [_qdisc, _limit, _tbfRate, _burst] : [_qdisc, _limit, _tbfRate, _burst, _peakRate, _tbfMtu!];

    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
        command.Options.Add(_txQueues);
    }

    /// <summary>--tx-queues.</summary>
    public int TxQueues(ParseResult r) => r.GetValue(_txQueues);

    /// <summary>The qdisc the options describe; tbf's rate defaults to <paramref name="linkRate"/>. Null with a message for a value tc would refuse.</summary>
    public QdiscSpec? Read(ParseResult r, long linkRate, out string? error)
    {
        error = null;
        string kind = r.GetValue(_qdisc)!;
        // attach_default_qdiscs(): a multi-queue device gets mq unless a root qdisc is asked for.
        if (r.GetResult(_qdisc) is null or { Implicit: true } && TxQueues(r) > 1) kind = "mq";
        if (kind != "tbf")
        {
            // tc refuses these rather than ignoring them, and so do we: a value that would not take effect is a mistake.
            foreach (var tbfOnly in All.Where(o => o != _qdisc && o != _limit))
                if (r.GetResult(tbfOnly) is { Implicit: false })
                {
                    error = $"{tbfOnly.Name} applies to tbf only (add --qdisc tbf)";
                    return null;
                }
            if (kind is "pfifo_fast" or "noqueue" or "mq" && r.GetValue(_limit) is not null)
            {
                error = kind == "noqueue" ? "--limit does not apply to noqueue (it holds nothing)"
                    : kind == "mq" ? "--limit does not apply to mq (its pfifo_fast children hold txqueuelen packets each)"
                    : "--limit does not apply to pfifo_fast (tc takes no options for it: its bands hold txqueuelen packets); use --qdisc pfifo or bfifo";
                return null;
            }
            return new QdiscSpec(kind, r.GetValue(_limit));
        }
        long rate = linkRate;
        if (r.GetValue(_tbfRate) is { } tr && !TcUnits.TryParseRate(tr, out rate, out var e1)) error = "--tbf-rate: " + e1;
        else if (!TcUnits.TryParseSize(r.GetValue(_burst)!, out long burst, out var e2)) error = "--burst: " + e2;
        else
        {
            long peak = 0;
            if (_peakRate is not null && r.GetValue(_peakRate) is { } pr && !TcUnits.TryParseRate(pr, out peak, out var e3)) error = "--peakrate: " + e3;
            else
            {
                long mtu = _tbfMtu is null ? 0 : r.GetValue(_tbfMtu) ?? 0;
                return new QdiscSpec("tbf", Tbf: new TbfConfig(rate, burst, r.GetValue(_limit) ?? 10_000_000, peak, mtu));
            }
        }
        return null;
    }
}
