#!/usr/bin/env bash
# TCP's own pacing on Linux 6.18 (SO_MAX_PACING_RATE with no fq qdisc: SK_PACING_NEEDED, tcp_pacing_check): a bulk
# sender over a veth pair capped at 10 and 100 Mbit/s, the goodput the receiver counts over 3 s after 1 s of warm-up,
# and the sender's tcpi_pacing_rate / tcpi_max_pacing_rate at the end. Two namespaces (198.18.48.1 → .2), deleted on
# exit. Needs root. tests/Xmit.Tests/LinuxTruth/MaxPacingRateTests.cs replays it.
# Usage: scripts/linux-max-pacing-rate.sh > tests/Xmit.Tests/Data/linux-truth/max-pacing-rate.json
set -euo pipefail
A="xmit-pa-$$" B="xmit-pb-$$" NET=198.18.48 tmp=$(mktemp -d)
source "$(dirname "$0")/lib/veth-pair.sh"
runs=()
for rate in 1250000 12500000; do
  ip netns exec "$B" python3 -c "
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('198.18.48.2', 5001)); l.listen(1)
c, _ = l.accept(); t0 = time.monotonic(); n = 0; counted = 0
while True:
    d = c.recv(1 << 20)
    if not d: break
    now = time.monotonic() - t0
    if 1.0 <= now < 4.0: counted += len(d)
print(counted)
" > "$tmp/rx" &
  rx=$!
  sleep 0.5
  info=$(ip netns exec "$A" python3 -c "
import socket, struct, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, 47, $rate)  # SO_MAX_PACING_RATE
s.connect(('198.18.48.2', 5001)); buf = b'x' * 65536; end = time.monotonic() + 4.2
s.setblocking(True)
while time.monotonic() < end: s.send(buf)
i = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 280)
pacing, maxp = struct.unpack_from('<QQ', i, 104)
print(pacing, maxp); s.close()
")
  wait "$rx"
  bytes=$(cat "$tmp/rx")
  runs+=("{\"max_pacing_rate\": $rate, \"goodput_bytes_per_s\": $((bytes / 3)), \"tcpi_pacing_rate\": ${info% *}, \"tcpi_max_pacing_rate\": ${info#* }}")
done
printf '{"kernel": "%s", "qdisc": "noqueue (veth)", "runs": [%s]}\n' "$(uname -r)" "$(IFS=,; echo "${runs[*]}")"
