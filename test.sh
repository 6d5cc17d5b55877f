#!/usr/bin/env bash
# Runs every test of Xmit. Installs what the tests need from Debian's packages when it is missing
# (tshark to check our captures independently; chromium to render the HTML reports; iproute2, iputils-ping, python3
# and iperf3 for the interop tests
# against the real kernel in network namespaces), then runs `dotnet test` on the solution.
# Ends with one line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v ping >/dev/null 2>&1 || need_apt+=(iputils-ping)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
command -v iperf3 >/dev/null 2>&1 || need_apt+=(iperf3)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium) # renders the HTML reports for the screenshot tests
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test.sh: installing ${need_apt[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # tshark asks whether non-root users may capture; the tests only read files.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
  # iperf3 asks whether to run a server at boot; the tests start their own in a namespace.
  echo "iperf3 iperf3/start_daemon boolean false" | $sudo debconf-set-selections
  $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Xmit.slnx -c Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# dotnet test prints "Passed!  - Failed: F, Passed: P, Skipped: S, ..." (or "Failed!  - ...") per test assembly.
read -r passed failed < <(awk '
  /(Passed|Failed)! +- +Failed:/ {
    for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1) }
  }
  END { printf "%d %d\n", p, f }' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi # a build or runner failure counts as a failure
echo "$passed passed, $failed failed"
exit "$status"
