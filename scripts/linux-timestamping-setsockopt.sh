#!/usr/bin/env bash
# Which SO_TIMESTAMPING values Linux refuses, and with what errno: each SOF_TIMESTAMPING_* bit and the combinations
# sock_set_timestamping() checks (OPT_ID on an unconnected TCP socket, OPT_ID_TCP without OPT_ID, OPT_STATS without
# OPT_TSONLY, BIND_PHC on a socket bound to no device, a bit above the mask), on a UDP socket, an unconnected TCP
# socket and a TCP socket connected over lo. One network namespace (lo only; no address outside it is used), deleted
# on exit. Needs root. Prints one JSON document.
# Usage: sudo scripts/linux-timestamping-setsockopt.sh > tests/Xmit.Tests/Data/linux-truth/timestamping-setsockopt.json
set -euo pipefail
NS="xmit-tstamp-$$"
source "$(dirname "$0")/lib/lo-netns.sh"
ip netns exec "$NS" python3 - <<'PY'
import errno, json, os, socket
SO_TIMESTAMPING = 37
TX_SOFTWARE, SOFTWARE, OPT_ID, TX_SCHED, TX_ACK = 1 << 1, 1 << 4, 1 << 7, 1 << 8, 1 << 9
OPT_TSONLY, OPT_STATS, BIND_PHC, OPT_ID_TCP = 1 << 11, 1 << 12, 1 << 15, 1 << 16
VALUES = [1 << b for b in range(21)] + [
    TX_SCHED | TX_SOFTWARE | TX_ACK | SOFTWARE | OPT_ID, OPT_ID | OPT_ID_TCP, OPT_STATS | OPT_TSONLY, OPT_STATS | OPT_TSONLY | OPT_ID,
]
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(4)
def make(kind):
    if kind == "udp": return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s = socket.socket()
    if kind == "connected":
        s.connect(srv.getsockname())
        srv.accept()[0].close()
    return s
cases = []
for kind in ("udp", "unconnected", "connected"):
    for v in VALUES:
        s = make(kind)
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, v); e = 0
        except OSError as ex:
            e = ex.errno
        cases.append({"socket": kind, "flags": v, "errno": e, "error": errno.errorcode.get(e, "OK")})
        s.close()
print(json.dumps({"kernel": os.uname().release, "option": "SO_TIMESTAMPING (37) int", "cases": cases}, indent=1))
PY
