#!/usr/bin/env bash
# In-process Xmit next to Linux in the same run: TCP bulk over a veth pair (TSO and checksum offload, iperf3
# cubic in Linux) and with offloads off (Xmit's ring NIC without TSO/checksum offload; Linux veth with
# tso/gso/gro/tx-checksumming off), and UDP datagrams per second in process. Rounds are interleaved (these
# machines are noisy) and the medians and ratios printed as one table. Needs root for the Linux half: two
# namespaces joined by veth in 198.18.0.0/15, deleted on exit. Usage: sudo scripts/bench-vs-linux.sh [ROUNDS] [SECONDS]
# The rows not measured here yet (the simulator's packets per second, TAP) are in scripts/tap-throughput.sh
# and `xmit sim`'s own report.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-5}
for n in "$rounds" "$secs"; do
  [[ "$n" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "bench-vs-linux: ROUNDS and SECONDS must be whole numbers from 1 to 9999, not '$n'" >&2; exit 2; }
done
command -v iperf3 >/dev/null || { echo "bench-vs-linux: needs iperf3 (apt-get install iperf3)" >&2; exit 2; }
command -v ethtool >/dev/null || { echo "bench-vs-linux: needs ethtool (apt-get install ethtool)" >&2; exit 2; }
A="xmit-bench-a-$$" B="xmit-bench-b-$$" NET=198.18.40 tmp=$(mktemp -d)
# shellcheck source=lib/veth-pair.sh
source scripts/lib/veth-pair.sh
allow_cc cubic
dotnet build bench/Xmit.Benchmarks -c Release -v q -nologo >/dev/null
bench="dotnet bench/Xmit.Benchmarks/bin/Release/net10.0/Xmit.Benchmarks.dll"

linux_tcp() { # $1: on|off (offloads)
  for d in "$A:va" "$B:vb"; do
    ip netns exec "${d%%:*}" ethtool -K "${d##*:}" tso "$1" gso "$1" gro "$1" tx "$1" rx "$1" >/dev/null 2>&1 || true
  done
  ip netns exec "$B" iperf3 -s -D -1 -p 5201 >/dev/null
  sleep 0.3
  ip netns exec "$A" iperf3 -c "$NET.2" -p 5201 -t "$secs" -C cubic -J >"$tmp/iperf.json"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["end"]["sum_received"]["bits_per_second"]/1e9)' "$tmp/iperf.json"
}

for r in $(seq "$rounds"); do
  $bench throughput tcp >"$tmp/xtcp" 2>&1
  awk -F'[:,]' '/veth/ {split($2,a," "); print a[1]; split($3,b," "); print b[1]}' "$tmp/xtcp" >>"$tmp/xmit_veth"
  awk -F'[:,]' '/ring NIC/ {split($2,a," "); print a[1]; split($3,b," "); print b[1]}' "$tmp/xtcp" >>"$tmp/xmit_ring"
  linux_tcp on >>"$tmp/linux_on"
  linux_tcp off >>"$tmp/linux_off"
  $bench throughput >"$tmp/xudp" 2>&1
  awk '/payload +64 B/ {gsub(",","",$4); print $4}' "$tmp/xudp" >>"$tmp/udp64"
  awk '/payload +1472 B/ {gsub(",","",$4); print $4}' "$tmp/xudp" >>"$tmp/udp1472"
  echo "round $r of $rounds done" >&2
done

python3 - "$tmp" "$secs" <<'PY'
import statistics, sys, os
tmp = sys.argv[1]
def col(name, every=1, start=0):
    v = [float(x) for x in open(os.path.join(tmp, name)).read().split()]
    return statistics.median(v[start::every])
xv_g, xv_s = col("xmit_veth", 2, 0), col("xmit_veth", 2, 1)
xr_g, xr_s = col("xmit_ring", 2, 0), col("xmit_ring", 2, 1)
lon, loff = col("linux_on"), col("linux_off")
u64, u1472 = col("udp64"), col("udp1472")
# Linux's segments/s with offloads off: every 1448-byte segment is one packet (tso/gso/gro off).
loff_segs = loff * 1e9 / 8 / 1448 / 1e6
print(f"| measure | Xmit | Linux | ratio |")
print(f"|---|---|---|---|")
print(f"| TCP bulk in process, veth TSO + checksum offload vs iperf3 cubic over veth | {xv_g:.2f} Gbit/s ({xv_s:.2f} M segs/s) | {lon:.2f} Gbit/s | {xv_g/lon:.2f} |")
print(f"| same, offloads off (ring NIC, software GSO/checksum vs veth tso/gso/gro/tx off) | {xr_g:.2f} Gbit/s ({xr_s:.2f} M segs/s) | {loff:.2f} Gbit/s ({loff_segs:.2f} M segs/s) | {xr_s/loff_segs:.2f} (segs/s) |")
print(f"| UDP in process, 64 B / 1472 B datagrams per wall second | {u64/1e6:.2f} M / {u1472/1e6:.2f} M | — | — |")
PY
