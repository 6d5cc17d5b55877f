# Sourced by the Linux measurement scripts (bash): one network namespace $NS with only lo, up, and a trap that
# deletes it on exit, also after Ctrl-C. Set NS first.
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
ip netns add "$NS"
ip -n "$NS" link set lo up
