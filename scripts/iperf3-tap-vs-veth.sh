#!/usr/bin/env bash
# iperf3 in one run, TCP, each direction: Linux to Linux over a veth pair, and the kernel against Xmit over a TAP device,
# with TSO across the TAP (--offload) and without — the kernel's client against our server (`xmit tap iperf3 -s`) and
# our client against the kernel's server (`xmit tap iperf3 -c`), forward and -R. The rate is what the Debian iperf3
# reports (-J end.sum_received; end.sum_sent for its server in -R, the sender). Namespaces in 198.18.0.0/15, deleted on exit (also after Ctrl-C).
# Needs root, iperf3 and a built xmit (dotnet build -c Release). Usage: scripts/iperf3-tap-vs-veth.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
[[ "$secs" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "iperf3-tap-vs-veth: SECONDS must be 1 to 999, not '$secs'" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "iperf3-tap-vs-veth: needs iperf3 (apt-get install iperf3)" >&2; exit 2; }
xmit="dotnet src/Xmit.Cli/bin/Release/net10.0/xmit.dll"
[ -f src/Xmit.Cli/bin/Release/net10.0/xmit.dll ] || { echo "iperf3-tap-vs-veth: build first (dotnet build -c Release)" >&2; exit 2; }
A="xmit-iv-a-$$" B="xmit-iv-b-$$" NET=198.18.44 tmp=$(mktemp -d)
source scripts/lib/veth-pair.sh
K="xmit-iv-k-$$"
ip netns add "$K"
trap 'ip netns del "$K" 2>/dev/null || true; cleanup' EXIT
# $2: sum_received, or sum_sent for a server in -R (iperf3's server reports nothing received when it is the sender;
# our client's own count agrees with what it sent).
rate() { python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"][sys.argv[2]]["bits_per_second"] / 1e9))' "$1" "${2:-sum_received}"; }

veth() { # $1: "" or -R
  ip netns exec "$B" iperf3 -s -1 -p 5201 -D; sleep 0.3
  ip netns exec "$A" iperf3 -c "$NET.2" -p 5201 -t "$secs" $1 -J > "$tmp/v.json"; rate "$tmp/v.json"
}
kernel_client() { # $1: offload flag, $2: "" or -R — the kernel's iperf3 -c against `xmit tap iperf3 -s`
  $xmit tap --netns "$K" --dev xiv0 --address 198.18.45.2/24 --peer 198.18.45.1 $1 iperf3 -s > "$tmp/x.txt" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do ip -n "$K" addr show dev xiv0 2>/dev/null | grep -q 198.18.45.1 && break; sleep 0.1; done
  sleep 0.5
  ip netns exec "$K" iperf3 -c 198.18.45.2 -t "$secs" $2 -J > "$tmp/k.json"; wait "$pid"; rate "$tmp/k.json"
}
xmit_client() { # $1: offload flag, $2: "" or -R — `xmit tap iperf3 -c` against the kernel's iperf3 -s
  ip netns exec "$K" iperf3 -s -1 -J > "$tmp/s.json" 2>&1 &
  local pid=$!; sleep 0.3
  $xmit tap --netns "$K" --dev xiv0 --address 198.18.45.2/24 --peer 198.18.45.1 $1 iperf3 -c 198.18.45.1 -t "$secs" $2 > "$tmp/x.txt" 2>&1
  wait "$pid"; rate "$tmp/s.json" "$([ "$2" = -R ] && echo sum_sent || echo sum_received)"
}
printf '| %-58s | %s |\n|---|---|\n' "iperf3 TCP, $secs s, Gbit/s received" "rate"
printf '| %-58s | %s |\n' "Linux veth, A → B" "$(veth "")" "Linux veth, -R (B → A)" "$(veth -R)"
for off in --offload ""; do
  label=${off:+with TSO (--offload)}; label=${label:-without TSO}
  printf '| %-58s | %s |\n' "kernel client → Xmit server, $label" "$(kernel_client "$off" "")"
  printf '| %-58s | %s |\n' "kernel client -R (Xmit sends), $label" "$(kernel_client "$off" -R)"
  printf '| %-58s | %s |\n' "Xmit client → kernel server, $label" "$(xmit_client "$off" "")"
  printf '| %-58s | %s |\n' "Xmit client -R (the kernel sends), $label" "$(xmit_client "$off" -R)"
done
