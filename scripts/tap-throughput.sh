#!/usr/bin/env bash
# UDP throughput of Xmit on a TAP device, both directions, at 64 and 1472 bytes, next to the raw limit of
# the TAP file descriptor measured in the same run, interleaved: for each case the raw C bound
# (scripts/tapraw.c), the C# raw loop (xmit tap raw-bench) and Xmit run back to back, RUNS times, and the
# medians are tabled at the end. Everything that moves frames is pinned: the TAP side (raw or Xmit, the whole
# process) on CPU $TAP_CPU, the kernel's flooding socket on $FLOOD_CPU, so no run depends on where the
# scheduler put it. Needs root; everything happens in a namespace this script creates (198.18.0.0/15 only)
# and deletes. Usage: sudo scripts/tap-throughput.sh [SECONDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
runs=${2:-1}
tap_cpu=${TAP_CPU:-1}
flood_cpu=${FLOOD_CPU:-0}
ns="xmit-tput-$$"
dev="xtp$$"
rawdev="xtr$$"
tmp=$(mktemp -d)
# XMIT_ENV: runtime settings for the .NET runs (Xmit and the C# raw loop). By default the JIT compiles each method
# fully optimised on first use (TieredCompilation=0), as gcc -O2 compiled the C bound: otherwise a 3-second run is
# partly spent in unoptimised tier-0 code and in the background compiles that replace it, which share the pinned
# core (that costs Xmit up to half its rate here). XMIT_ENV= (empty) measures the default tiers.
xmit_env=${XMIT_ENV-DOTNET_TieredCompilation=0}
# The sink counts without hashing the payload, as the raw readers do; SINK_HASH=1 hashes it (SHA-256) as well.
sink_hash=$([ "${SINK_HASH:-0}" = 1 ] || echo --no-hash)
xmit=(taskset -c "$tap_cpu" env $xmit_env dotnet src/Xmit.Cli/bin/Release/net10.0/xmit.dll)
dotnet build src/Xmit.Cli -c Release -v q -nologo >/dev/null
gcc -O2 -o "$tmp/udpflood" scripts/udpflood.c
gcc -O2 -o "$tmp/tapraw" scripts/tapraw.c
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add "$ns"
common=(--netns "$ns" --dev "$dev" --address 198.18.0.2/24 --peer 198.18.0.1)
flood() { ip netns exec "$ns" taskset -c "$flood_cpu" "$tmp/udpflood" 198.18.0.2 "$1" "$2" "$secs"; }
# One result line per measurement, "case kind rate", for the table.
record() { echo "$1 $2 $3" >>"$tmp/results"; }

# The C bound's device: a persistent TAP set up as xmit tap sets up its own (IPv4 only, MTU 1500, the peer's
# address, Xmit's address as a permanent neighbour, since nothing answers ARP), removed after each use so that
# only one device holds 198.18.0.0/24 at a time.
raw_c() {
  ip -n "$ns" tuntap add dev "$rawdev" mode tap vnet_hdr
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$rawdev.disable_ipv6=1"
  ip -n "$ns" addr add 198.18.0.1/24 dev "$rawdev"
  ip -n "$ns" link set dev "$rawdev" up
  ip -n "$ns" neigh replace 198.18.0.2 lladdr 02:00:5e:12:00:02 dev "$rawdev" nud permanent
  local mac; mac=$(ip netns exec "$ns" cat "/sys/class/net/$rawdev/address")
  if [ "$1" = write ]; then
    ip netns exec "$ns" "$tmp/tapraw" write "$rawdev" "$tap_cpu" "$2" "$secs" "$mac"
  else
    ( sleep 1; flood 9 "$2" >/dev/null ) &
    ip netns exec "$ns" "$tmp/tapraw" read "$rawdev" "$tap_cpu" "$((secs + 2))"
    wait
  fi
  ip -n "$ns" link del "$rawdev"
}
rate() { sed -n 's/.* \([0-9][0-9,]*\) \(frames\|packets\)\/s.*/\1/p' | head -1 | tr -d ,; }

for run in $(seq "$runs"); do
  echo "== run $run of $runs (load average $(cut -d' ' -f1-3 /proc/loadavg); TAP side on CPU $tap_cpu, kernel flood on CPU $flood_cpu${xmit_env:+; .NET runs with $xmit_env}; udp-sink ${sink_hash:-hashing})"
  for size in 64 1472; do
    echo "-- Xmit → kernel, $size B: raw C write loop, C# raw loop, Xmit udp-send (non-blocking with epoll)"
    line=$(raw_c write "$size"); echo "  raw C : $line"; record "send-$size" rawc "$(rate <<<"$line")"
    line=$("${xmit[@]}" tap "${common[@]}" raw-bench write -s "$size" --duration "${secs}s" | sed 's/^raw-bench write: //')
    echo "  raw C#: $line"; record "send-$size" rawcs "$(rate <<<"$line")"
    "${xmit[@]}" tap "${common[@]}" udp-send 198.18.0.1:9 -s "$size" -c 0 >"$tmp/send" & pid=$!
    sleep "$((secs + 1))"; kill -TERM "$pid"; wait "$pid" || true
    echo "  Xmit  : $(head -1 "$tmp/send")"; sed -n 2p "$tmp/send"; record "send-$size" xmit "$(rate <"$tmp/send")"
  done
  for size in 64 1472; do
    echo "-- kernel → Xmit, $size B (a kernel UDP socket floods): raw C reads, C# raw reads, Xmit udp-sink"
    line=$(raw_c read "$size"); echo "  raw C : $line"; record "recv-$size" rawc "$(rate <<<"$line")"
    ( sleep 1; flood 9 "$size" >/dev/null ) &
    line=$("${xmit[@]}" tap "${common[@]}" raw-bench read --duration "$((secs + 2))s" | sed 's/^raw-bench read: //')
    wait; echo "  raw C#: $line"; record "recv-$size" rawcs "$(rate <<<"$line")"
    ( sleep 1; flood 9000 "$size" >"$tmp/sent" ) &
    line=$("${xmit[@]}" tap "${common[@]}" udp-sink 9000 --duration "$((secs + 2))s" $sink_hash | grep '^udp-sink:' || true)
    wait; echo "  Xmit  : $line (the kernel sent $(cat "$tmp/sent") datagrams in $secs s)"; record "recv-$size" xmit "$(rate <<<"$line")"
  done
done

echo "== medians of $runs run(s), frames/s; ratio = Xmit / raw C"
printf "%-10s %10s %10s %10s %7s\n" case "raw C" "raw C#" Xmit ratio
for c in send-64 send-1472 recv-64 recv-1472; do
  med() { awk -v c="$c" -v k="$1" '$1 == c && $2 == k && $3 != "" { print $3 }' "$tmp/results" | sort -n |
          awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
  rc=$(med rawc); rcs=$(med rawcs); x=$(med xmit)
  printf "%-10s %10s %10s %10s %7s\n" "$c" "$rc" "$rcs" "$x" "$(awk -v x="$x" -v r="$rc" 'BEGIN { printf (r > 0 ? "%.2f" : "-"), x / r }')"
done
