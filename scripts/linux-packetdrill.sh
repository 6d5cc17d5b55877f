#!/usr/bin/env bash
# Runs packetdrill scripts against this machine's kernel, each in a fresh network namespace (198.18.20.1 →
# 198.18.21.1, deleted afterwards), so a script of ours counts as Linux's only once Linux passes it.
# Needs root and a packetdrill binary built from google/packetdrill (./configure && make; bison and flex).
# cubic must be allowed outside the init netns: it is added to net.ipv4.tcp_allowed_congestion_control for
# the run and the old value restored on exit.
# Fast Open scripts name the server's cookie as TFO_COOKIE (and TFO_COOKIE_ZERO under the all-zero key), which
# packetdrill's own runners pass with -D for their addresses (run_all.py: 3021b9d889017eeb for 192.0.2.1 →
# 192.168.0.1): here it is computed by scripts/tfo-cookie.py for the run's remote → local addresses under the key
# common/defaults.sh sets (the nearest one above the script; TFO_KEY overrides it). CODE, CMSG_LEVEL_IP and
# CMSG_TYPE_RECVERR are defined as run_all.py does for IPv4.
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
here=$(cd "$(dirname "$0")" && pwd)
# The tcp_fastopen_key a common/defaults.sh above directory $1 sets (Linux's default is random; packetdrill's is this).
tfo_key() {
  local d; d=$(cd "$1" && pwd)
  while [ "$d" != / ]; do
    if [ -f "$d/common/defaults.sh" ]; then
      sed -n 's/.*tcp_fastopen_key=\([0-9a-fA-F-]*\).*/\1/p' "$d/common/defaults.sh" | head -1; return
    fi
    d=$(dirname "$d")
  done
}
fail=0
for script in "$@"; do
  ns=xmit-pd-$$
  ip netns add "$ns"
  key=${TFO_KEY:-$(tfo_key "$(dirname "$script")")}
  key=${key:-00000000-00000000-00000000-00000000} # a defaults.sh that sets no key: TFO_COOKIE is then unused
  # A script that names its own addresses (--local_ip=, --remote_ip= lines) runs with them: the command line
  # would override them, and its hard-coded cookies are for them. The gateway is .254 of the local /24.
  local_ip=$(sed -n 's/^--local_ip=\([0-9.]*\).*/\1/p' "$script" | head -1); local_ip=${local_ip:-198.18.20.1}
  remote_ip=$(sed -n 's/^--remote_ip=\([0-9.]*\).*/\1/p' "$script" | head -1); remote_ip=${remote_ip:-198.18.21.1}
  if (cd "$(dirname "$script")" && ip netns exec "$ns" timeout 120 "$pd" --local_ip="$local_ip" --gateway_ip="${local_ip%.*}.254" \
      --remote_ip="$remote_ip" --netmask_ip=255.255.255.0 \
      -D TFO_COOKIE="$(python3 "$here/tfo-cookie.py" "$key" "$remote_ip" "$local_ip")" \
      -D TFO_COOKIE_ZERO="$(python3 "$here/tfo-cookie.py" 00000000-00000000-00000000-00000000 "$remote_ip" "$local_ip")" \
      -D CODE=host_unreachable -D CMSG_LEVEL_IP=SOL_IP -D CMSG_TYPE_RECVERR=IP_RECVERR \
      "$(basename "$script")"); then
    echo "PASS $script"
  else
    echo "FAIL $script"; fail=1
  fi
  ip netns del "$ns"; ns=""
done
exit $fail
