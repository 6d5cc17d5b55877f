using Xmit.Time;

namespace Xmit.Link;

/// <summary>
/// The NET_RX softirq of one CPU (net_rx_action) and its softnet_data: NAPI contexts scheduled by an RX interrupt or by
/// netif_rx wait on the poll list; a round polls each of them once, up to its weight, and ends early — counting a
/// time_squeeze — when the round's netdev_budget packets are spent or netdev_budget_usecs have passed; whatever still
/// has work is polled again in the next round (the softirq re-raised).
/// <para>
/// CPU time: every packet a poll hands up costs <see cref="PacketCost"/> of virtual time (the driver's and the stack's
/// work for it, on this CPU), spent before the packet reaches the stack; meanwhile the device's interrupt stays masked
/// and frames that arrive wait on its ring — or, the ring full, are missed. The default cost is 0: the softirq takes no
/// time, as everything else on a host here (applications, the TX path) takes none; a receiver can then never be
/// slower than its link. Only the RX softirq is charged: nothing else competes for the CPU.
/// </para>
/// <para>
/// Raised from an interrupt, the softirq runs at once, at the interrupt's exit (do_softirq on irq_exit), unless it is
/// already running; raised from elsewhere (netif_rx from a sender, a re-raise at the end of a round) it runs soon after,
/// at the same instant after what was already due there (like ksoftirqd, or the next local_bh_enable).
/// </para>
/// </summary>
/// <remarks>Linux: net/core/dev.c net_rx_action(), napi_poll(), ____napi_schedule(); net/core/net-procfs.c softnet_seq_show() (/proc/net/softnet_stat)</remarks>
public sealed class NetRxSoftirq
{
    private readonly IScheduler _scheduler;
    private readonly List<Napi> _pollList = [];   // sd->poll_list
    private readonly List<Napi> _list = [];       // the round's own list
    private readonly List<Napi> _repoll = [];
    private readonly Timer _raise;
    private readonly Timer _cpu;
    private bool _inAction;                       // sd->in_net_rx_action: a round is running (or re-raised)
    private int _budget;
    private Instant _timeLimit;
    private Napi? _current;
    private int _work;
    private bool _holding;

    public NetRxSoftirq(IScheduler scheduler, Configuration.Sysctls? sysctls = null)
    {
        _scheduler = scheduler;
        Sysctls = sysctls ?? new Configuration.Sysctls();
        _raise = new Timer(scheduler, Run, "NET_RX");
        _cpu = new Timer(scheduler, Continue, "NET_RX-cpu");
    }

    /// <summary>Where net.core.netdev_budget, netdev_budget_usecs, netdev_max_backlog and dev_weight are read.</summary>
    public Configuration.Sysctls Sysctls { get; }

    /// <summary>CPU time one received packet costs the softirq (driver and stack); 0 by default.</summary>
    public Duration PacketCost { get; set; }

    /// <summary>net.core.netdev_budget: packets a round may process (300).</summary>
    public int Budget => Sysctls.NetdevBudget;

    /// <summary>net.core.netdev_budget_usecs: how long a round may run (2000 µs).</summary>
    public Duration BudgetTime => Duration.FromMicroseconds(Sysctls.NetdevBudgetUsecs);

    /// <summary>softnet_stat's time_squeeze: rounds that ended with the budget or the time spent.</summary>
    public long TimeSqueeze { get; private set; }

    /// <summary>softnet_stat's processed: packets handed up by polls on this CPU.</summary>
    public long Processed { get; private set; }

    /// <summary>net_rx_action runs (rounds started).</summary>
    public long Rounds { get; private set; }

    /// <summary>Whether a round is in progress (its packet's cost being spent, or re-raised).</summary>
    public bool Running => _inAction;

    /// <summary>
    /// napi_schedule(): puts <paramref name="napi"/> on the poll list unless it is already scheduled, and raises the
    /// softirq; <paramref name="fromIrq"/> runs it at once when it is not already running (the interrupt's exit).
    /// </summary>
    public void Schedule(Napi napi, bool fromIrq)
    {
        if (napi.Scheduled) return;
        napi.Scheduled = true;
        _pollList.Add(napi);
        if (_inAction) return; // the running round finds it (goto start, or the next round)
        if (fromIrq) Run();    // irq_exit runs the pending softirqs, this one and one netif_rx raised earlier alike
        else if (!_raise.IsArmed) _raise.Arm(_scheduler.Now);
    }

    /// <summary>net_rx_action(): a new round with a fresh budget and time limit.</summary>
    private void Run()
    {
        _raise.Disarm();
        _inAction = true;
        Rounds++;
        _budget = Budget;
        _timeLimit = _scheduler.Now + BudgetTime;
        TakePollList();
        Continue();
    }

    /// <summary>Moves the poll list to the round's list (a loop: List.AddRange of a list casts it to ICollection each time).</summary>
    private void TakePollList()
    {
        for (int i = 0; i < _pollList.Count; i++) _list.Add(_pollList[i]);
        _pollList.Clear();
    }

    /// <summary>The round's loop, resumed after each packet's cost.</summary>
    private void Continue()
    {
        while (true)
        {
            if (_current is null)
            {
                if (_list.Count == 0)
                {
                    if (_repoll.Count == 0)
                    {
                        if (_pollList.Count > 0)
                        {
                            // Scheduled while the round ran: polled in this round, on its budget (goto start).
                            TakePollList();
                            continue;
                        }
                        _inAction = false;
                        return;
                    }
                    break;
                }
                _current = _list[0];
                _list.RemoveAt(0);
                _work = 0;
            }
            if (!PollStep()) return; // the CPU is busy with a packet; resumed by _cpu
            _budget -= _work;
            if (_budget <= 0 || _scheduler.Now >= _timeLimit)
            {
                TimeSqueeze++;
                break;
            }
        }
        // What is left, then what was scheduled meanwhile, then what used its whole weight: the next round's list.
        _pollList.InsertRange(0, _list);
        _list.Clear();
        _pollList.AddRange(_repoll);
        _repoll.Clear();
        if (_pollList.Count > 0) _raise.Arm(_scheduler.Now); // __raise_softirq_irqoff: in_net_rx_action stays set
        else _inAction = false;
    }

    /// <summary>napi_poll() of <see cref="_current"/>, one packet at a time; true when the poll has ended.</summary>
    private bool PollStep()
    {
        var n = _current!;
        while (true)
        {
            if (_holding)
            {
                _holding = false;
                Processed++;
                n.HandUp();
            }
            if (_work >= n.Weight || !n.Take()) break;
            _work++;
            _holding = true;
            if (PacketCost > Duration.Zero)
            {
                _cpu.Arm(_scheduler.Now + PacketCost);
                return false;
            }
        }
        _current = null;
        n.Polls++;
        bool complete = _work < n.Weight;
        if (complete) n.Scheduled = false;
        else
        {
            n.FullPolls++;
            _repoll.Add(n);
        }
        n.PollDone(_work, complete);
        return true;
    }

    /// <summary>Stops the softirq and frees the packet in hand (the host shuts down).</summary>
    public void Purge()
    {
        _raise.Disarm();
        _cpu.Disarm();
        if (_holding) _current!.DropTaken();
        _holding = false;
        _current = null;
        foreach (var n in _list) n.Scheduled = false;
        foreach (var n in _repoll) n.Scheduled = false;
        foreach (var n in _pollList) n.Scheduled = false;
        _list.Clear();
        _repoll.Clear();
        _pollList.Clear();
        _inAction = false;
    }
}
