#!/usr/bin/env bash
# Measures how Linux segments one 30000-byte TCP write, for tests/Xmit.Tests/Data/linux-truth/tcp-tso-psh.json:
# two network namespaces joined by veth (198.18.5.0/24, pfifo), the receiver announcing MSS 1000 and sleeping
# 0.5 s before it reads; the sender's side is captured with tshark and printed one segment per line.
# Needs root; deletes its namespaces on exit. Usage: sudo scripts/linux-tcp-psh.sh [pcap]
set -euo pipefail
pcap=${1:-/tmp/linux-tcp-psh.pcap}
ip netns add pshA
ip netns add pshB
trap 'ip netns del pshA 2>/dev/null; ip netns del pshB 2>/dev/null' EXIT
ip link add va netns pshA type veth peer name vb netns pshB
ip -n pshA addr add 198.18.5.1/24 dev va
ip -n pshB addr add 198.18.5.2/24 dev vb
for ns in pshA pshB; do ip -n $ns link set lo up; done
ip -n pshA link set va up
ip -n pshB link set vb up
ip netns exec pshA tc qdisc add dev va root pfifo
ip -n pshB route change 198.18.5.0/24 dev vb advmss 1000
ip netns exec pshB python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.5.2", 8080)); s.listen(1)
c, _ = s.accept(); time.sleep(0.5)
while c.recv(100000): pass
' &
sleep 0.3
ip netns exec pshA tshark -i va -w "$pcap" -q 2>/dev/null &
capture=$!
sleep 1
ip netns exec pshA python3 -c '
import socket, time
s = socket.create_connection(("198.18.5.2", 8080)); time.sleep(0.1)
s.send(b"x" * 30000); time.sleep(0.3); s.send(b"y" * 4000); time.sleep(0.3)
s.close()
'
sleep 1
kill $capture; wait $capture 2>/dev/null || true
wait
tshark -r "$pcap" -Y tcp -T fields -e frame.time_relative -e ip.src -e tcp.flags.str -e tcp.seq -e tcp.ack -e tcp.len -e tcp.window_size_value
