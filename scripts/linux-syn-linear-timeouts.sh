#!/usr/bin/env bash
# When Linux 6.18 retransmits a SYN nobody answers, and when connect() gives up: the SYNs' send times (tshark) and
# connect()'s ETIMEDOUT time for TCP_SYNCNT 1, 3 and 6, with net.ipv4.tcp_syn_linear_timeouts as the kernel has it
# (4 here: the first RTOs stay at 1 s, then they double; the retry limit is TCP_SYNCNT + tcp_syn_linear_timeouts,
# and the time-based limit of the exponential model still applies). One namespace: a veth pair whose far end has no
# address, with a permanent neighbour for 198.18.47.2, so the SYNs leave and nothing answers; deleted on exit.
# Needs root and tshark. tests/Xmit.Tests/LinuxTruth/SynLinearTimeoutTests.cs replays it.
# Usage: scripts/linux-syn-linear-timeouts.sh > tests/Xmit.Tests/Data/linux-truth/syn-linear-timeouts.json
set -euo pipefail
A="xmit-sl-$$" tmp=$(mktemp -d)
cleanup() { ip netns del "$A" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$A"
ip -n "$A" link add d0 type veth peer name d1
ip -n "$A" addr add 198.18.47.1/24 dev d0
for d in lo d0 d1; do ip -n "$A" link set "$d" up; done
ip -n "$A" neigh add 198.18.47.2 lladdr 02:00:00:00:00:02 dev d0 nud permanent
runs=()
for syncnt in 1 3 6; do
  ip netns exec "$A" timeout 200 tshark -i d0 -f "tcp dst port 80" -w "$tmp/$syncnt.pcap" -q 2>/dev/null &
  cap=$!
  sleep 2
  took=$(ip netns exec "$A" python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, $syncnt)
t = time.time()
try: s.connect(('198.18.47.2', 80)); print('connected')
except OSError as e: print('%s %.2f' % (e.errno, time.time() - t))
")
  sleep 1; kill "$cap" 2>/dev/null || true; wait "$cap" 2>/dev/null || true
  times=$(tshark -r "$tmp/$syncnt.pcap" -T fields -e frame.time_relative 2>/dev/null | awk '{printf "%s%.3f", (NR>1?",":""), $1}')
  runs+=("{\"syncnt\": $syncnt, \"connect\": \"$took\", \"syn_times\": [$times]}")
done
linear=$(ip netns exec "$A" sysctl -n net.ipv4.tcp_syn_linear_timeouts)
printf '{"kernel": "%s", "tcp_syn_linear_timeouts": %s, "runs": [%s]}\n' "$(uname -r)" "$linear" "$(IFS=,; echo "${runs[*]}")"
