#!/usr/bin/env bash
# Measures Linux bulk TCP (cubic) A->B through tbf at 10 and 100 Mbit/s (tbf rate R burst 15140 limit 4000000 as A's root
# qdisc) with the sender veth's GSO/TSO on (default) and off (ethtool -K va gso off tso off): every 50 ms both sockets
# (SO_MEMINFO, TCP_INFO) and the tbf's backlog (tc -s -j qdisc show dev va); steady state = medians of samples at t >= 2 s.
# Two network namespaces (ltgA sender 198.18.13.1, ltgB receiver 198.18.13.2) joined by veth, MTU 1500, default sysctls.
# The run itself is scripts/lib/tbf_bulk.py (shared with linux-tcp-tbf-runs.sh).
# Needs root; deletes its namespaces on exit (also on Ctrl-C); bounded by timeout. Prints one JSON document.
# Usage: sudo scripts/linux-tcp-tbf-gso.sh > tests/Xmit.Tests/Data/linux-truth/tcp-tbf-gso.json
set -euo pipefail
A=ltgA B=ltgB
tmp=$(mktemp -d /tmp/linux-tcp-tbf-gso.XXXXXX)
NET=198.18.13
source "$(dirname "$0")/lib/veth-pair.sh"
allow_cc cubic
ip -n $A link set va mtu 1500
ip -n $B link set vb mtu 1500
sleep 0.5
cat > "$tmp/prog.py" <<'PY'
import json, os, sys
from tbf_bulk import run
NSA, NSB, TMP = sys.argv[1:4]
res = [run(NSA, NSB, 7101, 10, True), run(NSA, NSB, 7102, 10, False), run(NSA, NSB, 7103, 100, True), run(NSA, NSB, 7104, 100, False)]
json.dump(res, open(os.path.join(TMP, "out.json"), "w"))
PY
PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" timeout 120 python3 "$tmp/prog.py" $A $B "$tmp" >&2
sysctls=$(ip netns exec $A sysctl net.ipv4.tcp_rmem net.core.rmem_max net.ipv4.tcp_wmem net.core.wmem_max net.ipv4.tcp_adv_win_scale \
  net.ipv4.tcp_timestamps net.ipv4.tcp_moderate_rcvbuf net.ipv4.tcp_congestion_control net.ipv4.tcp_notsent_lowat \
  net.ipv4.tcp_limit_output_bytes net.ipv4.tcp_slow_start_after_idle)
python3 - "$tmp/out.json" "$(uname -r)" "$sysctls" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
sysctl = {l.split(" = ")[0]: l.split(" = ")[1].replace("\t", " ") for l in sys.argv[3].splitlines()}
doc = {
 "what": "Linux bulk TCP (cubic) through tbf at 10 and 100 Mbit/s with the sender veth's GSO/TSO on and off: qdisc backlog, "
         "sk_wmem_alloc, sndbuf, cwnd and RTT sampled every 50 ms",
 "kernel": sys.argv[2],
 "script": "scripts/linux-tcp-tbf-gso.sh",
 "setup": "two network namespaces (ltgA sender 198.18.13.1, ltgB receiver 198.18.13.2) joined by veth, MTU 1500, A's root qdisc "
          "'tbf rate R burst 15140 limit 4000000' (re-created per run), B default qdisc; per run 'ethtool -K va gso on|off tso on|off' "
          "on A's veth (resulting offloads in summary.offloads); namespace sysctls default (listed in sysctl)",
 "sysctl": sysctl,
 "method": "One Python process (setns into each namespace) connects A to B with TCP_CONGESTION=cubic on A's socket; a sender thread does "
           "blocking sendall() of 64 KiB chunks for 5 s, a receiver thread blocking recv(65536). The main thread samples every 50 ms "
           "(deadline-scheduled from the first write): A SO_MEMINFO wmem_queued/sndbuf/wmem_alloc, tcp_info snd_cwnd, rtt, pacing_rate, "
           "notsent_bytes; B SO_MEMINFO rcvbuf, tcp_info bytes_received; the tbf's backlog/qlen/drops from 'tc -s -j qdisc show dev va'. "
           "Steady state = median of samples with t >= 2 s. Default SO_SNDBUF/SO_RCVBUF (autotuned).",
 "runs": runs,
}
print(json.dumps(doc, indent=1))
PY
