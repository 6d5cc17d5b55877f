#!/bin/bash
# Measures how many packets one dequeue_skb() takes (tracepoint qdisc:qdisc_dequeue, field packets) for a root tbf
# with a backlog on a veth (veth reports nothing to BQL, so dql_avail stays 0): a single-queue veth (TCQ_F_ONETXQUEUE:
# try_bulk_dequeue_skb, byte budget dql_avail) and a 4-queue one (no ONETXQUEUE: try_bulk_dequeue_skb_slow, up to 8 more).
# Root; namespaces in 198.18.0.0/15, deleted at the end.
set -eu
txq=${1:-1}
[ "$(id -u)" = 0 ] || { echo "$0: needs root (namespaces, tracefs)" >&2; exit 1; }
A=xbulk-a-$$; B=xbulk-b-$$; NET=198.18.77; tmp=$(mktemp -d)
inst=/sys/kernel/tracing/instances/xbulk$$
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; rm -rf "$tmp"; [ -d "$inst" ] && rmdir "$inst" || true; }
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip link add va netns "$A" numtxqueues "$txq" numrxqueues "$txq" type veth peer name vb netns "$B" numtxqueues "$txq" numrxqueues "$txq"
ip -n "$A" addr add "$NET.1/24" dev va; ip -n "$B" addr add "$NET.2/24" dev vb
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set va up; ip -n "$B" link set vb up
ip -n "$A" neigh replace "$NET.2" lladdr "$(ip -n "$B" -j link show vb | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["address"])')" dev va
# One root pfifo (on 4 queues it is shared: no TCQ_F_ONETXQUEUE). Two senders on two CPUs: while one runs the
# qdisc the other only enqueues, so a backlog builds for the runner to dequeue.
ip netns exec "$A" tc qdisc replace dev va root handle 7e57: pfifo limit 10000
mkdir "$inst"
echo 'handle == 0x7e570000' > "$inst/events/qdisc/qdisc_dequeue/filter"
echo 1 > "$inst/events/qdisc/qdisc_dequeue/enable"
cat > "$tmp/flood.py" <<'PY'
import os, socket, sys
os.sched_setaffinity(0, {int(sys.argv[2])})
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
for i in range(200000):
    s.sendto(b'x' * 64, (sys.argv[1], 9))
PY
ip netns exec "$A" python3 "$tmp/flood.py" "$NET.2" 0 & p0=$!
ip netns exec "$A" python3 "$tmp/flood.py" "$NET.2" 1 & p1=$!
wait $p0 $p1
echo 0 > "$inst/events/qdisc/qdisc_dequeue/enable"
# One line per bulk size seen: "txqueues=N packets=P dequeues=C" (packets=0: the qdisc had nothing to give).
grep -o 'packets=[1-9][0-9]*' "$inst/trace" | sort | uniq -c | sort -k2 -t= -n | while read -r c p; do echo "txqueues=$txq $p dequeues=$c"; done
