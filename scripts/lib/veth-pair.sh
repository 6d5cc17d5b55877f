# Sourced by the Linux measurement scripts (bash): two network namespaces $A and $B joined by a veth pair,
# va in $A with $NET.1/24 and vb in $B with $NET.2/24, everything up, and a trap that deletes both
# namespaces and $tmp on exit, also after Ctrl-C. Set A, B, NET (e.g. 198.18.10) and tmp first.
# A namespace may only pick a congestion control the init namespace allows: allow_cc NAME adds it to
# net.ipv4.tcp_allowed_congestion_control for the run, and the cleanup puts the old list back.
allowed_before=""
allow_cc() {
  allowed_before=$(sysctl -n net.ipv4.tcp_allowed_congestion_control)
  case " $allowed_before " in *" $1 "*) allowed_before="" ;; *) sysctl -q -w net.ipv4.tcp_allowed_congestion_control="$allowed_before $1" ;; esac
}
cleanup() {
  ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; rm -rf "$tmp"
  [ -z "$allowed_before" ] || sysctl -q -w net.ipv4.tcp_allowed_congestion_control="$allowed_before"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$A"
ip netns add "$B"
ip link add va netns "$A" type veth peer name vb netns "$B"
ip -n "$A" addr add "$NET.1/24" dev va
ip -n "$B" addr add "$NET.2/24" dev vb
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set va up
ip -n "$B" link set vb up
