#!/usr/bin/env bash
# Records every receive-buffer autotuning step Linux takes during a bulk transfer, from the kernel's own
# tracepoints: tcp:tcp_rcvbuf_grow (the inputs of each growth: bytes copied in the last receiver RTT, rcvq_space
# before, the out-of-order span, rcvbuf/rcv_ssthresh/window_clamp/rcv_wnd before, scaling_ratio). The next event's rcvbuf is the result of the previous growth, so the formula can be
# checked step by step. A->B through `tbf rate $RATE burst 15140 limit 4000000` (RATE=100mbit unless set) on A's veth (as
# linux-tcp-bulk-growth.sh), cubic, 3 s of blocking 64 KiB sendall() against a reader doing recv(65536).
# Two namespaces (lmrA, lmrB) on 198.18.13.0/24; needs root and tracefs; deletes its namespaces and turns the
# tracepoints off on exit. Prints one JSON document:
#   sudo scripts/linux-tcp-rcvbuf-grow.sh > tests/Xmit.Tests/Data/linux-truth/tcp-rcvbuf-grow.json
set -euo pipefail
A=lmrA B=lmrB
tmp=$(mktemp -d /tmp/linux-tcp-rcvbuf-grow.XXXXXX)
NET=198.18.13
T=/sys/kernel/tracing
[ -d $T/events/tcp ] || mount -t tracefs nodev $T
source "$(dirname "$0")/lib/veth-pair.sh"
tracing_off() { echo 0 > $T/events/tcp/tcp_rcvbuf_grow/enable || true; echo 0 > $T/events/tcp/tcp_rcvbuf_grow/filter || true; cleanup; }
trap tracing_off EXIT
RATE=${RATE:-100mbit}
ip netns exec $A tc qdisc add dev va root tbf rate "$RATE" burst 15140 limit 4000000
allow_cc cubic
for ns in $A $B; do ip netns exec $ns sysctl -q -w net.ipv4.tcp_congestion_control=cubic; done
sleep 0.5
echo "dport == 5301 || sport == 5301" > $T/events/tcp/tcp_rcvbuf_grow/filter
echo > $T/trace
echo 1 > $T/events/tcp/tcp_rcvbuf_grow/enable
cat > "$tmp/prog.py" <<'PY'
import json, socket, sys, threading, time
from linux_socket import connected_pair, meminfo, tcpinfo
NSA, NSB = sys.argv[1:3]
a, b = connected_pair(NSA, NSB, "198.18.13.2", 5301)
def receiver():
    while True:
        d = b.recv(65536)
        if not d: return
threading.Thread(target=receiver, daemon=True).start()
chunk = b"x" * 65536
t0 = time.time()
samples = []
while time.time() - t0 < 3.0:
    a.sendall(chunk)
    if not samples or time.time() - t0 >= samples[-1]["t"] + 0.05:
        m, t = meminfo(b), tcpinfo(b)
        samples.append({"t": round(time.time() - t0, 3), "rcvbuf": m["rcvbuf"], "rcv_space": t["rcv_space"], "rcv_rtt": t["rcv_rtt"],
                        "rcv_ssthresh": t["rcv_ssthresh"], "A_snd_cwnd": tcpinfo(a)["snd_cwnd"]})
a.shutdown(socket.SHUT_WR); time.sleep(0.3)
print(json.dumps({"B_samples_every_50ms": samples, "B_final": {**meminfo(b), "rcv_space": tcpinfo(b)["rcv_space"]}}))
PY
out=$(PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" python3 "$tmp/prog.py" $A $B)
echo 0 > $T/events/tcp/tcp_rcvbuf_grow/enable
grep tcp_rcvbuf_grow $T/trace > "$tmp/trace.txt" || true
python3 - "$tmp/trace.txt" "$out" "$(uname -r)" "$RATE" <<'PY'
import json, re, sys
events = []
for line in open(sys.argv[1]):
    m = re.search(r"(\d+\.\d+): tcp_rcvbuf_grow: (.*)", line)
    if not m: continue
    f = dict(kv.split("=", 1) for kv in m.group(2).split() if "=" in kv)
    events.append({"ts": float(m.group(1)), **{k: int(f[k]) for k in ("time", "rtt_us", "copied", "inq", "space", "ooo", "scaling_ratio", "rcvbuf", "rcv_ssthresh", "window_clamp", "rcv_wnd")}})
t0 = events[0]["ts"] if events else 0
for e in events: e["ts"] = round(e["ts"] - t0, 6)
doc = {"what": "Linux receive-buffer autotuning steps (tracepoint tcp:tcp_rcvbuf_grow, fields as printed: time = us since rcvq_space.time, "
               "rtt_us = rcv_rtt_est.rtt_us (x8), copied = bytes copied since rcvq_space.seq, inq = bytes in the receive queue, space = rcvq_space.space before, "
               "ooo = out-of-order span, rcvbuf/rcv_ssthresh/window_clamp/rcv_wnd before the growth) during 3 s of bulk TCP through tbf (rate: the tbf_rate field)",
       "kernel": sys.argv[3], "tbf_rate": sys.argv[4], "script": "scripts/linux-tcp-rcvbuf-grow.sh", "events": events, **json.loads(sys.argv[2])}
print(json.dumps(doc, indent=1))
PY
