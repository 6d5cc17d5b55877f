#!/usr/bin/env bash
# Runs packetdrill scripts against this machine's kernel, each in a fresh network namespace (198.18.20.1 →
# 198.18.21.1, deleted afterwards), so a script of ours counts as Linux's only once Linux passes it.
# Needs root and a packetdrill binary built from google/packetdrill (./configure && make; bison and flex).
# cubic must be allowed outside the init netns: it is added to net.ipv4.tcp_allowed_congestion_control for
# the run and the old value restored on exit.
# Usage: sudo PACKETDRILL=/path/to/packetdrill scripts/linux-packetdrill.sh tests/scripts/tcp/*.pkt
set -euo pipefail
pd=${PACKETDRILL:?set PACKETDRILL to the packetdrill binary}
allowed=$(sysctl -n net.ipv4.tcp_allowed_congestion_control)
ns=""
cleanup() {
  [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  sysctl -q -w net.ipv4.tcp_allowed_congestion_control="$allowed"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
case " $allowed " in *" cubic "*) ;; *) sysctl -q -w net.ipv4.tcp_allowed_congestion_control="$allowed cubic" ;; esac
fail=0
for script in "$@"; do
  ns=xmit-pd-$$
  ip netns add "$ns"
  if (cd "$(dirname "$script")" && ip netns exec "$ns" timeout 120 "$pd" --local_ip=198.18.20.1 --gateway_ip=198.18.20.254 \
      --remote_ip=198.18.21.1 --netmask_ip=255.255.255.0 "$(basename "$script")"); then
    echo "PASS $script"
  else
    echo "FAIL $script"; fail=1
  fi
  ip netns del "$ns"; ns=""
done
exit $fail
