#!/usr/bin/env bash
# Measures what Linux charges for a TCP control skb: the FIN that tcp_send_fin() queues on its own skb when the
# write queue holds no unsent data. A's peer B does not read, so B's window closes and A's FIN cannot leave:
# the FIN skb sits unsent in the write queue, where SO_MEMINFO wmem_queued and SIOCOUTQ/SIOCOUTQNSD show it.
# Also: the same with data still unsent (the FIN joins the last skb: no new charge).
# Two namespaces (lmfcA, lmfcB) joined by veth (198.18.15.0/24), cubic; one Python process opens both sockets.
# Needs root; deletes its namespaces on exit.
#   sudo scripts/linux-tcp-control-charge.sh > tests/Xmit.Tests/Data/linux-truth/tcp-control-charge.json
set -euo pipefail
A=lmfcA B=lmfcB
tmp=$(mktemp -d /tmp/linux-tcp-control-charge.XXXXXX)
NET=198.18.15
source "$(dirname "$0")/lib/veth-pair.sh"
allow_cc cubic
for ns in $A $B; do ip netns exec $ns sysctl -q -w net.ipv4.tcp_congestion_control=cubic; done
sleep 0.5
cat > "$tmp/prog.py" <<'PY'
import fcntl, json, socket, struct, sys, time
from linux_socket import connected_pair, meminfo, tcpinfo
NSA, NSB = sys.argv[1:3]
SIOCOUTQ, SIOCOUTQNSD = 0x5411, 0x894B
def ioc(s, req): return struct.unpack("i", fcntl.ioctl(s.fileno(), req, b"\0" * 4))[0]
def sample(a): return {"wmem_queued": meminfo(a)["wmem_queued"], "outq": ioc(a, SIOCOUTQ), "outqnsd": ioc(a, SIOCOUTQNSD), "snd_wnd": tcpinfo(a)["snd_wnd"]}
def run(port, leave_unsent):
    a, b = connected_pair(NSA, NSB, "198.18.15.2", port, rcvbuf=4096, nodelay=True)
    a.setblocking(False)
    if leave_unsent:
        # 1000-byte writes until B's window closes: what is written after that stays unsent
        for _ in range(200):
            try: a.send(b"x" * 1000)
            except BlockingIOError: break
            if tcpinfo(a)["snd_wnd"] == 0: break
    else:
        # exactly what B's window takes, until it is zero with nothing unsent: the FIN needs an skb of its own
        for _ in range(50):
            w = tcpinfo(a)["snd_wnd"]
            if w == 0: break
            a.send(b"y" * w); time.sleep(0.05)
    time.sleep(0.3)
    r = {"leave_unsent": leave_unsent, "before_fin": sample(a)}
    a.shutdown(socket.SHUT_WR)
    r["after_fin"] = sample(a)
    r["fin_charge"] = r["after_fin"]["wmem_queued"] - r["before_fin"]["wmem_queued"]
    a.close(); b.close()
    return r
out = {"runs": [run(5501, True), run(5502, False)]}
print(json.dumps(out))
PY
PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" python3 "$tmp/prog.py" $A $B > "$tmp/out.json"
python3 - "$tmp/out.json" "$(uname -r)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps({"what": "wmem_queued / SIOCOUTQ / SIOCOUTQNSD before and after shutdown(SHUT_WR) on a sender stalled by a zero window: "
                  "with data still unsent (the FIN joins the last skb) and with nothing unsent (tcp_send_fin allocates an skb for it)",
                  "kernel": sys.argv[2], "script": "scripts/linux-tcp-control-charge.sh", **d}, indent=1))
PY
