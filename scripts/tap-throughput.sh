#!/usr/bin/env bash
# UDP throughput of Xmit on a TAP device, both directions, at 64 and 1472 bytes, next to the raw limit of
# the TAP file descriptor measured in the same run. Needs root; everything happens in a namespace this
# script creates (198.18.0.0/15 only) and deletes. Usage: sudo scripts/tap-throughput.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
ns="xmit-tput-$$"
dev="xtp$$"
xmit="dotnet src/Xmit.Cli/bin/Release/net10.0/xmit.dll"
dotnet build src/Xmit.Cli -c Release -v q -nologo >/dev/null
gcc -O2 -o /tmp/xmit-udpflood-$$ scripts/udpflood.c
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -f /tmp/xmit-udpflood-$$; }
trap cleanup EXIT
ip netns add "$ns"
common=(--netns "$ns" --dev "$dev" --address 198.18.0.2/24 --peer 198.18.0.1)

echo "== raw TAP fd limit (no stack)"
for size in 64 1472; do
  printf "write %5s B: " "$size"; $xmit tap "${common[@]}" raw-bench write -s "$size" --duration "${secs}s" | sed 's/^raw-bench write: //'
done
printf "read  %5s B: " 64
( sleep 1; ip netns exec "$ns" /tmp/xmit-udpflood-$$ 198.18.0.2 9 64 "$secs" >/dev/null ) &
$xmit tap "${common[@]}" raw-bench read --duration "$((secs + 2))s" | sed 's/^raw-bench read: //'
wait

echo "== Xmit → kernel (udp-send, non-blocking with epoll)"
for size in 64 1472; do
  $xmit tap "${common[@]}" udp-send 198.18.0.1:9 -s "$size" -c 0 > /tmp/xmit-send-$$ & pid=$!
  sleep "$((secs + 1))"; kill -TERM "$pid"; wait "$pid" || true; head -2 /tmp/xmit-send-$$; rm -f /tmp/xmit-send-$$
done

echo "== kernel → Xmit (kernel UDP socket flooding; udp-sink counts)"
for size in 64 1472; do
  ( sleep 1; ip netns exec "$ns" /tmp/xmit-udpflood-$$ 198.18.0.2 9000 "$size" "$secs" >/tmp/xmit-sent-$$ ) &
  $xmit tap "${common[@]}" udp-sink 9000 --duration "$((secs + 2))s" | grep '^udp-sink:' || true
  wait
  echo "  (kernel sent $(cat /tmp/xmit-sent-$$) datagrams in ${secs} s)"; rm -f /tmp/xmit-sent-$$
done
