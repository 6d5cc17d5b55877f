#!/usr/bin/env bash
# Measures how Linux's receiver copes when the window it announced promises more than its buffer holds: after
# one full-sized segment (which sets scaling_ratio), the sender writes 50-byte chunks with TCP_NODELAY into a
# receiver that does not read (SO_RCVBUF 16384 on the listener, so the buffer is 32768 and locked). The small
# segments cost more memory per byte than the ratio assumed, rmem reaches rcvbuf while the window is still open,
# and tcp_prune_queue collapses the receive queue into compact skbs (TcpExtTCPRcvCollapsed) before dropping.
# Two namespaces (lmcA, lmcB) joined by veth (198.18.14.0/24, MTU 1500, pfifo on A), cubic; one Python process
# opens both sockets (setns). Records per write: accepted, B's rmem_alloc, SIOCINQ, rcv_wnd; and B's TcpExt
# counters before and after (nstat -az in B's namespace). Needs root; deletes its namespaces on exit.
#   sudo scripts/linux-tcp-rcv-collapse.sh > tests/Xmit.Tests/Data/linux-truth/tcp-rcv-collapse.json
set -euo pipefail
A=lmcA B=lmcB
tmp=$(mktemp -d /tmp/linux-tcp-rcv-collapse.XXXXXX)
NET=198.18.14
source "$(dirname "$0")/lib/veth-pair.sh"
ip netns exec $A tc qdisc add dev va root pfifo
allow_cc cubic
for ns in $A $B; do ip netns exec $ns sysctl -q -w net.ipv4.tcp_congestion_control=cubic; done
sleep 0.5
cat > "$tmp/prog.py" <<'PY'
import fcntl, json, socket, struct, subprocess, sys, time
from linux_socket import connected_pair, meminfo, tcpinfo
NSA, NSB = sys.argv[1:3]
SIOCINQ = 0x541B
def inq(s): return struct.unpack("i", fcntl.ioctl(s.fileno(), SIOCINQ, b"\0" * 4))[0]
def nstat():
    out = subprocess.run(["ip", "netns", "exec", NSB, "nstat", "-az", "--json"], capture_output=True, text=True).stdout
    d = json.loads(out)["kernel"]
    keys = ["TcpExtTCPRcvCollapsed", "TcpExtPruneCalled", "TcpExtRcvPruned", "TcpExtOfoPruned", "TcpExtTCPRcvQDrop",
            "TcpExtTCPZeroWindowDrop", "TcpExtTCPToZeroWindowAdv", "TcpExtTCPWantZeroWindowAdv", "TcpInSegs"]
    return {k: d.get(k, 0) for k in keys}
a, b = connected_pair(NSA, NSB, "198.18.14.2", 5401, rcvbuf=16384, nodelay=True)
time.sleep(0.05)
before = nstat()
a.setblocking(False)
doc = {"after_handshake_B": {**meminfo(b), "rcv_wnd": tcpinfo(b)["rcv_wnd"], "rcv_ssthresh": tcpinfo(b)["rcv_ssthresh"]}}
a.send(b"F" * 1448)
time.sleep(0.01)
m = meminfo(b); t = tcpinfo(b)
doc["after_full_segment_B"] = {"rmem_alloc": m["rmem_alloc"], "inq": inq(b), "rcv_wnd": t["rcv_wnd"], "rcv_ssthresh": t["rcv_ssthresh"], "rcv_mss": t["rcv_mss"]}
writes, total = [], 1448
for i in range(3000):
    try:
        n = a.send(b"s" * 50)
    except BlockingIOError:
        n = 0
    total += n
    m = meminfo(b); t = tcpinfo(b)
    writes.append({"i": i + 1, "accepted": n, "total": total, "B_rmem_alloc": m["rmem_alloc"], "B_inq": inq(b), "B_rcv_wnd": t["rcv_wnd"],
                   "B_drops": m["drops"], "A_snd_wnd": tcpinfo(a)["snd_wnd"], "A_unacked": tcpinfo(a)["unacked"]})
time.sleep(0.5)
after = nstat()
m = meminfo(b); t = tcpinfo(b)
doc.update({"writes": writes, "B_counters_delta": {k: after[k] - before[k] for k in after},
            "end_B": {"rmem_alloc": m["rmem_alloc"], "rcvbuf": m["rcvbuf"], "inq": inq(b), "rcv_wnd": t["rcv_wnd"], "drops": m["drops"]},
            "end_A": {"snd_wnd": tcpinfo(a)["snd_wnd"], "unacked": tcpinfo(a)["unacked"], "total_retrans": tcpinfo(a)["total_retrans"]},
            "bytes_accepted_by_A": total})
print(json.dumps(doc))
PY
PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" python3 "$tmp/prog.py" $A $B > "$tmp/out.json"
python3 - "$tmp/out.json" "$(uname -r)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
doc = {"what": "a receiver that does not read (SO_RCVBUF 16384 -> rcvbuf 32768, locked) fed one 1448-byte segment then 50-byte TCP_NODELAY writes on veth: "
               "B's memory, queue and window per write, and B's TcpExt prune/collapse counters (delta over the run)",
       "kernel": sys.argv[2], "script": "scripts/linux-tcp-rcv-collapse.sh", **d}
print(json.dumps(doc, indent=1))
PY
