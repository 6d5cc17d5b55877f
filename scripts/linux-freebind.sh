#!/usr/bin/env bash
# bind() to an address the host does not have: EADDRNOTAVAIL, unless IP_FREEBIND is set on the socket or
# net.ipv4.ip_nonlocal_bind is 1 — for TCP and UDP, and what getsockopt(IP_FREEBIND) reads back. One network namespace
# with lo only (198.18.77.1 is bound, no address is configured; nothing is sent), deleted on exit. Needs root.
# Usage: scripts/linux-freebind.sh > tests/Xmit.Tests/Data/linux-truth/freebind.json
set -euo pipefail
NS="xmit-freebind-$$"
source "$(dirname "$0")/lib/lo-netns.sh"
ip netns exec "$NS" python3 - <<'PY'
import errno, json, os, socket, subprocess
IP_FREEBIND = 15
cases = []
for nonlocal_bind in (0, 1):
    subprocess.run(["sysctl", "-q", "-w", f"net.ipv4.ip_nonlocal_bind={nonlocal_bind}"], check=True)
    for kind in ("tcp", "udp"):
        for freebind in (0, 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
            if freebind: s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
            back = s.getsockopt(socket.SOL_IP, IP_FREEBIND)
            try:
                s.bind(("198.18.77.1", 0)); e = 0
            except OSError as ex:
                e = ex.errno
            cases.append({"socket": kind, "ip_nonlocal_bind": nonlocal_bind, "freebind": freebind, "getsockopt": back,
                          "errno": e, "error": errno.errorcode.get(e, "OK")})
            s.close()
print(json.dumps({"kernel": os.uname().release, "address": "198.18.77.1 (not configured)", "cases": cases}, indent=1))
PY
