#!/usr/bin/env bash
# Repeats one rate's cases of linux-tcp-tbf-gso.sh (bulk TCP cubic A->B through `tbf rate ${RATE_MBIT}mbit burst 15140 limit
# 4000000` on A's veth, RATE_MBIT 10 unless set, GSO/TSO on and off, 5 s, samples every 50 ms; the run is scripts/lib/tbf_bulk.py) RUNS times each
# (default 10, GSO on and off alternating so a change of machine load hits both), and records for every run how the
# receiver autotuned its buffer, from the kernel's tracepoint tcp:tcp_rcvbuf_grow on B's socket: the inputs of the first
# growth (bytes copied in the receiver's first RTT measure, rcvq_space before) and the rcvbuf it produced, and every later
# step. Why: the first growth differs from run to run (it depends on how many bytes the reader took in the receiver's
# first RTT measure), so one run is one outcome of several; the data shows whether the steady state depends on it and
# lets a test compare against the runs whose receiver took the same first step as Xmit's. The load average is recorded around
# each run (the machine is shared). Namespaces ltrA/ltrB on 198.18.13.0/24; needs root and tracefs; deletes its
# namespaces and turns the tracepoint off on exit; bounded by timeout. Prints one JSON document:
#   sudo scripts/linux-tcp-tbf-runs.sh > tests/Xmit.Tests/Data/linux-truth/tcp-tbf-10mbit-runs.json
#   sudo RATE_MBIT=100 RUNS=5 scripts/linux-tcp-tbf-runs.sh > tests/Xmit.Tests/Data/linux-truth/tcp-tbf-100mbit-runs.json
set -euo pipefail
A=ltrA B=ltrB
tmp=$(mktemp -d /tmp/linux-tcp-tbf-runs.XXXXXX)
NET=198.18.13
RUNS=${RUNS:-10}
RATE_MBIT=${RATE_MBIT:-10}
T=/sys/kernel/tracing
[ -d $T/events/tcp ] || mount -t tracefs nodev $T
source "$(dirname "$0")/lib/veth-pair.sh"
tracing_off() { echo 0 > $T/events/tcp/tcp_rcvbuf_grow/enable || true; echo 0 > $T/events/tcp/tcp_rcvbuf_grow/filter || true; cleanup; }
trap tracing_off EXIT
allow_cc cubic
ip -n $A link set va mtu 1500
ip -n $B link set vb mtu 1500
sleep 0.5
echo "sport >= 7200 && sport < 7400" > $T/events/tcp/tcp_rcvbuf_grow/filter
echo > $T/trace
echo 1 > $T/events/tcp/tcp_rcvbuf_grow/enable
cat > "$tmp/prog.py" <<'PY'
import json, os, re, sys
from tbf_bulk import run
NSA, NSB, TMP, RUNS, TRACE, RATE = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
FIELDS = ("time", "rtt_us", "copied", "inq", "space", "ooo", "scaling_ratio", "rcvbuf", "rcv_ssthresh", "window_clamp", "rcv_wnd")

def loadavg():
    return [float(x) for x in open("/proc/loadavg").read().split()[:3]]

def trace_events(port):
    """The tcp_rcvbuf_grow events of B's socket (local port `port`) since the trace was last cleared; then clears it."""
    events = []
    with open(TRACE + "/trace") as f:
        for line in f:
            m = re.search(r"(\d+\.\d+): tcp_rcvbuf_grow: (.*)", line)
            if not m: continue
            kv = dict(x.split("=", 1) for x in m.group(2).split() if "=" in x)
            if int(kv["sport"]) != port: continue
            events.append({"ts": float(m.group(1)), **{k: int(kv[k]) for k in FIELDS}})
    open(TRACE + "/trace", "w").close()
    return events

def growth(events, final_rcvbuf):
    """Each event carries rcvbuf before tcp_rcv_space_adjust; the next one's is the result. The steps where it grew."""
    steps = []
    for i, e in enumerate(events):
        after = events[i + 1]["rcvbuf"] if i + 1 < len(events) else final_rcvbuf
        if after != e["rcvbuf"]:
            steps.append({"ts": round(e["ts"] - events[0]["ts"], 6), "time_us": e["time"], "copied": e["copied"], "space": e["space"],
                          "rcvbuf_before": e["rcvbuf"], "rcvbuf_after": after})
    return steps

def compact(samples):
    """The 50 ms samples column-wise, only what the comparison and its diagnosis read."""
    cols = {"t": lambda s: s["t"], "qdisc_backlog": lambda s: s["qdisc"]["backlog"], "A_snd_cwnd": lambda s: s["A"]["snd_cwnd"],
            "A_rtt_us": lambda s: s["A"]["rtt_us"], "A_sndbuf": lambda s: s["A"]["sndbuf"], "A_wmem_alloc": lambda s: s["A"]["wmem_alloc"],
            "A_wmem_queued": lambda s: s["A"]["wmem_queued"], "B_rcvbuf": lambda s: s["B"]["rcvbuf"], "B_rcv_wnd": lambda s: s["B"]["rcv_wnd"],
            "B_bytes_received": lambda s: s["B"]["bytes_received"]}
    return {k: [f(s) for s in samples] for k, f in cols.items()}

out = []
for i in range(RUNS):
    for gso in (True, False):
        port = 7200 + 2 * i + (0 if gso else 1)
        trace_events(port)  # clear
        before = loadavg()
        r = run(NSA, NSB, port, RATE, gso)
        ev = trace_events(port)
        final = r["samples"][-1]["B"]["rcvbuf"]
        steps = growth(ev, final)
        first = ev[0] if ev else None
        out.append({"port": port, "gso": gso, "loadavg_before": before, "loadavg_after": loadavg(),
                    "first_growth": None if not first else {"time_us": first["time"], "copied": first["copied"], "space": first["space"],
                        "rcvbuf_before": first["rcvbuf"], "rcvbuf_after": ev[1]["rcvbuf"] if len(ev) > 1 else final},
                    "first_events": [{**e, "ts": round(e["ts"] - ev[0]["ts"], 6)} for e in ev[:3]],
                    "rcvbuf_grow_events": len(ev), "rcvbuf_growth_steps": steps,
                    "summary": r["summary"], "samples": compact(r["samples"])})
        print("run %d gso %s load %s first %s steady %s" % (i, gso, before, out[-1]["first_growth"], r["summary"]["steady_state_medians_t_ge_2s"]), file=sys.stderr)
json.dump(out, open(os.path.join(TMP, "out.json"), "w"))
PY
PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" timeout $((RUNS * 20 + 30)) python3 "$tmp/prog.py" $A $B "$tmp" "$RUNS" $T "$RATE_MBIT" >&2
echo 0 > $T/events/tcp/tcp_rcvbuf_grow/enable
sysctls=$(ip netns exec $A sysctl net.ipv4.tcp_rmem net.core.rmem_max net.ipv4.tcp_wmem net.core.wmem_max net.ipv4.tcp_adv_win_scale \
  net.ipv4.tcp_timestamps net.ipv4.tcp_moderate_rcvbuf net.ipv4.tcp_congestion_control net.ipv4.tcp_notsent_lowat \
  net.ipv4.tcp_limit_output_bytes net.ipv4.tcp_slow_start_after_idle)
python3 - "$tmp/out.json" "$(uname -r)" "$sysctls" "$(nproc)" "$(date -u +%FT%TZ)" "$RATE_MBIT" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
sysctl = {l.split(" = ")[0]: l.split(" = ")[1].replace("\t", " ") for l in sys.argv[3].splitlines()}
doc = {
 "what": "Linux bulk TCP (cubic) through tbf at rate_bits_per_second, GSO/TSO on and off, repeated: per run the receiver's receive-buffer autotuning "
         "(tracepoint tcp:tcp_rcvbuf_grow on B's socket) and the sender's steady state (medians of 50 ms samples at t >= 2 s: qdisc "
         "backlog, sk_wmem_alloc, sndbuf, cwnd, RTT), to compare against the runs whose receiver took the same first autotuning step",
 "kernel": sys.argv[2], "cpus": int(sys.argv[4]), "date": sys.argv[5], "rate_bits_per_second": int(sys.argv[6]) * 1000000,
 "script": "scripts/linux-tcp-tbf-runs.sh",
 "setup": "as scripts/linux-tcp-tbf-gso.sh (the run is scripts/lib/tbf_bulk.py): namespaces ltrA (sender 198.18.13.1) and ltrB "
          "(receiver 198.18.13.2) joined by veth, MTU 1500, A's root qdisc 'tbf rate R burst 15140 limit 4000000' re-created "
          "per run, 'ethtool -K va gso on|off tso on|off' on A's veth; default sysctls (listed in sysctl)",
 "fields": "first_growth: the first tcp_rcvbuf_grow event of the run (time_us since rcvq_space.time, copied = bytes the reader took "
           "since rcvq_space.seq, space = rcvq_space.space before, rcvbuf_before) and rcvbuf_after = the next event's rcvbuf "
           "(the first growth's result); first_events: the first three tcp_rcvbuf_grow events as printed (rtt_us = rcv_rtt_est.rtt_us, "
           "x8; ooo = out-of-order span; ts in s from the first); rcvbuf_growth_steps: every event after which rcvbuf changed; loadavg_before/after: "
           "/proc/loadavg around the run (the machine is shared with other jobs); summary: as tcp-tbf-gso.json's; samples: "
           "the 50 ms samples column-wise",
 "sysctl": sysctl,
 "runs": runs,
}
print(json.dumps(doc, indent=1))
PY
