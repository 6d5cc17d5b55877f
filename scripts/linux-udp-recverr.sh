#!/usr/bin/env bash
# IP_RECVERR on UDP: what recvmsg(MSG_ERRQUEUE) returns after an ICMP port unreachable (a datagram to a port nobody
# listens on) and after a local EMSGSIZE (a DF datagram above the MTU): the bytes, msg_flags, msg_name, and the
# IP_RECVERR control message's sock_extended_err and offender; sk_err before and after; and that without IP_RECVERR
# nothing is queued. Two namespaces joined by veth (198.18.46.0/24), deleted on exit. Needs root. Prints JSON.
# Usage: scripts/linux-udp-recverr.sh > tests/Xmit.Tests/Data/linux-truth/udp-recverr.json
set -euo pipefail
A="xmit-re-a-$$" B="xmit-re-b-$$" NET=198.18.46 tmp=$(mktemp -d)
source "$(dirname "$0")/lib/veth-pair.sh"
ip netns exec "$A" python3 - "$NET" <<'PY'
import errno, json, os, socket, struct, sys, time
net = sys.argv[1]
IP_RECVERR, IP_MTU_DISCOVER, IP_PMTUDISC_DO, MSG_ERRQUEUE = 11, 10, 2, 0x2000
def err_queue(s):
    try:
        data, anc, flags, addr = s.recvmsg(2048, 1024, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except OSError as e:
        return {"errno": errno.errorcode[e.errno]}
    msgs = []
    for level, typ, d in anc:
        m = {"level": level, "type": typ, "len": len(d)}
        if level == socket.SOL_IP and typ == IP_RECVERR:
            ee_errno, origin, etype, code, _pad, info, edata = struct.unpack_from("=IBBBBII", d)
            fam, port = struct.unpack_from("=HH", d, 16)
            m.update({"ee_errno": errno.errorcode.get(ee_errno, ee_errno), "ee_origin": origin, "ee_type": etype, "ee_code": code,
                      "ee_info": info, "ee_data": edata, "offender_family": fam, "offender": socket.inet_ntoa(d[20:24])})
        msgs.append(m)
    return {"bytes": len(data), "msg_flags": flags, "msg_name": list(addr) if addr else None, "cmsgs": msgs}
cases = {}
for recverr in (1, 0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_RECVERR, recverr)
    s.connect((net + ".2", 9))
    s.send(b"x" * 100)
    time.sleep(0.3)
    so_error_peek = None
    r = {"first": err_queue(s)}
    r["so_error_after"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    try:
        r["next_send"] = s.send(b"y" * 10)
    except OSError as e:
        r["next_send"] = errno.errorcode[e.errno]
    cases[f"port_unreachable_recverr_{recverr}"] = r
    s.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
s.setsockopt(socket.SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
s.connect((net + ".2", 9))
try:
    s.send(b"z" * 2000); sent = "sent"
except OSError as e:
    sent = errno.errorcode[e.errno]
cases["emsgsize_recverr_1"] = {"send": sent, "first": err_queue(s), "so_error_after": s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)}
print(json.dumps({"kernel": os.uname().release, "peer": net + ".2:9 (nothing listens)", "mtu": 1500, "cases": cases}, indent=1))
PY
