#!/usr/bin/env bash
# Measures how Linux spreads flows over the TX queues of a multi-queue device, for
# tests/Xmit.Tests/Data/linux-truth/multiqueue.json: two namespaces (lmqA 198.18.12.1, lmqB 198.18.12.2) joined by a
# veth pair created with numtxqueues/numrxqueues 4. Recorded: the default qdisc of the 4-queue veth (IFF_NO_QUEUE),
# `tc -s qdisc show` after `tc qdisc add dev va root handle 1: mq` (the children net.core.default_qdisc gives), then
# 8 TCP connections one after another (each 1 MB from A to B) and 8 UDP flows (unconnected socket, 20 datagrams to
# each of 8 ports), with the per-child packet counts before and after each flow: which queues a flow's packets took.
# Neighbours are permanent and IPv6 is off, so every packet counted is TCP or UDP. Last, a non-mq root (tbf) on the same device: one qdisc for all queues. Needs root and tc; deletes its namespaces
# on exit (also after Ctrl-C). Prints one JSON document.
# Usage: sudo scripts/linux-multiqueue.sh > tests/Xmit.Tests/Data/linux-truth/multiqueue.json
set -euo pipefail
A=lmqA; B=lmqB; NET=198.18.12
tmp=$(mktemp -d /tmp/linux-multiqueue.XXXXXX)
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$A"
ip netns add "$B"
ip link add va netns "$A" numtxqueues 4 numrxqueues 4 type veth peer name vb netns "$B" numtxqueues 4 numrxqueues 4
# No IPv6 on the veth: its router solicitations and MLD reports would be counted in the queues too.
ip netns exec "$A" sysctl -q -w net.ipv6.conf.va.disable_ipv6=1
ip netns exec "$B" sysctl -q -w net.ipv6.conf.vb.disable_ipv6=1
ip -n "$A" addr add "$NET.1/24" dev va
ip -n "$B" addr add "$NET.2/24" dev vb
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set va up
ip -n "$B" link set vb up
# Permanent neighbours: no ARP packet (queued by its own flow hash) mixes into the per-queue counts.
ip -n "$A" neigh replace "$NET.2" lladdr "$(ip -n "$B" -j link show vb | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')" dev va nud permanent
ip -n "$B" neigh replace "$NET.1" lladdr "$(ip -n "$A" -j link show va | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')" dev vb nud permanent
sleep 0.5
cat > "$tmp/prog.py" <<'PY'
import json, os, socket, subprocess, sys, threading, time
A, B, NET = sys.argv[1:4]
sys.path.insert(0, os.environ["LIBDIR"])
from linux_socket import setns
def sh(ns, *args):
    return subprocess.run(["ip", "netns", "exec", ns] + list(args), capture_output=True, text=True, check=True).stdout
def qdiscs():
    return json.loads(sh(A, "tc", "-s", "-j", "qdisc", "show", "dev", "va"))
def children():
    """Packets sent by each of mq's children, by parent handle (1:1 … 1:4)."""
    return {q["parent"]: q["packets"] for q in qdiscs() if q.get("parent", "").startswith("1:")}
def delta(before, after):
    return {k: after[k] - before[k] for k in sorted(before) if after[k] != before[k]}
out = {"what": "flows over the TX queues of a 4-queue veth under mq: the queue each flow's packets took",
       "kernel": os.uname().release, "command": "sudo scripts/linux-multiqueue.sh",
       "setup": "namespaces lmqA (va %s.1) and lmqB (vb %s.2), veth numtxqueues 4 numrxqueues 4, MTU 1500" % (NET, NET)}
link = json.loads(sh(A, "ip", "-d", "-j", "link", "show", "va"))[0]
out["va"] = {"num_tx_queues": link.get("num_tx_queues"), "num_rx_queues": link.get("num_rx_queues"), "qdisc": link.get("qdisc")}
out["default_qdisc_sysctl"] = open("/proc/sys/net/core/default_qdisc").read().strip()  # global, not per namespace
out["default_qdiscs"] = [{"kind": q["kind"], "handle": q["handle"], "root": q.get("root", False), "parent": q.get("parent")} for q in qdiscs()]
sh(A, "tc", "qdisc", "add", "dev", "va", "root", "handle", "1:", "mq")
out["mq_qdiscs"] = [{"kind": q["kind"], "handle": q["handle"], "root": q.get("root", False), "parent": q.get("parent")} for q in qdiscs()]
ls_ready = threading.Event()
def server(port, n):
    setns(B)
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((NET + ".2", port)); ls.listen(n); ls_ready.set()
    for _ in range(n):
        c, _ = ls.accept()
        while c.recv(1 << 16): pass
        c.close()
    ls.close()
tcp_flows = []
t = threading.Thread(target=server, args=(5201, 8)); t.start(); ls_ready.wait()
setns(A)
for i in range(8):
    before = children()
    s = socket.create_connection((NET + ".2", 5201))
    s.sendall(b"x" * (1 << 20))
    s.shutdown(socket.SHUT_WR)
    s.settimeout(5); s.recv(1)
    sport = s.getsockname()[1]
    s.close()
    time.sleep(0.2)  # FIN, last ACK
    tcp_flows.append({"sport": sport, "packets_by_child": delta(before, children())})
t.join()
out["tcp_flows"] = tcp_flows
udp_flows = []
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((NET + ".1", 40000))
for port in range(6000, 6008):
    before = children()
    for _ in range(20):
        u.sendto(b"u" * 100, (NET + ".2", port))
    time.sleep(0.05)
    udp_flows.append({"sport": 40000, "dport": port, "datagrams": 20, "packets_by_child": delta(before, children())})
out["udp_flows"] = udp_flows
final = qdiscs()
out["mq_final"] = [{"kind": q["kind"], "handle": q["handle"], "parent": q.get("parent"), "packets": q["packets"], "bytes": q["bytes"],
                    "drops": q["drops"], "requeues": q["requeues"], "backlog": q["backlog"], "qlen": q["qlen"]} for q in final]
out["mq_show_text"] = sh(A, "tc", "-s", "qdisc", "show", "dev", "va").rstrip("\n").split("\n")
sh(A, "tc", "qdisc", "replace", "dev", "va", "root", "tbf", "rate", "100mbit", "burst", "15140", "limit", "1000000")
out["tbf_root_qdiscs"] = [{"kind": q["kind"], "handle": q["handle"], "root": q.get("root", False), "parent": q.get("parent")} for q in qdiscs()]
out["tbf_root_show_text"] = sh(A, "tc", "qdisc", "show", "dev", "va").rstrip("\n").split("\n")
print(json.dumps(out, indent=1))
PY
LIBDIR="$(cd "$(dirname "$0")/lib" && pwd)" python3 "$tmp/prog.py" "$A" "$B" "$NET"
