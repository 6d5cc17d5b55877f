#!/usr/bin/env bash
# Measures Linux bulk TCP (cubic) A->B through tbf at 10 and 100 Mbit/s (tbf rate R burst 15140 limit 4000000 as A's root
# qdisc) with the sender veth's GSO/TSO on (default) and off (ethtool -K va gso off tso off): every 50 ms both sockets
# (SO_MEMINFO, TCP_INFO) and the tbf's backlog (tc -s -j qdisc show dev va); steady state = medians of samples at t >= 2 s.
# Two network namespaces (ltgA sender 198.18.13.1, ltgB receiver 198.18.13.2) joined by veth, MTU 1500, default sysctls.
# Needs root; deletes its namespaces on exit (also on Ctrl-C); bounded by timeout. Prints one JSON document.
# Usage: sudo scripts/linux-tcp-tbf-gso.sh > tests/Xmit.Tests/Data/linux-truth/tcp-tbf-gso.json
set -euo pipefail
A=ltgA B=ltgB
tmp=$(mktemp -d /tmp/linux-tcp-tbf-gso.XXXXXX)
NET=198.18.13
source "$(dirname "$0")/lib/veth-pair.sh"
allow_cc cubic
ip -n $A link set va mtu 1500
ip -n $B link set vb mtu 1500
sleep 0.5
cat > "$tmp/prog.py" <<'PY'
import json, os, socket, statistics, subprocess, sys, threading, time
NSA, NSB, TMP = sys.argv[1:4]
from linux_socket import setns, meminfo, tcpinfo
def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def qdisc():
    out = subprocess.run(["tc", "-n", NSA, "-s", "-j", "qdisc", "show", "dev", "va"], capture_output=True, text=True, timeout=5).stdout
    q = [x for x in json.loads(out) if x.get("root")][0]
    return q

def offloads():
    out = subprocess.run(["ip", "netns", "exec", NSA, "ethtool", "-k", "va"], capture_output=True, text=True, timeout=5).stdout
    keep = ("tcp-segmentation-offload", "generic-segmentation-offload", "scatter-gather", "tx-checksumming")
    return {l.split(":")[0].strip(): l.split(":")[1].strip() for l in out.splitlines() if l.split(":")[0].strip() in keep}

def run(port, rate_mbit, gso):
    onoff = "on" if gso else "off"
    subprocess.run(["ip", "netns", "exec", NSA, "ethtool", "-K", "va", "gso", onoff, "tso", onoff], check=True)
    subprocess.run(["tc", "-n", NSA, "qdisc", "replace", "dev", "va", "root", "tbf", "rate", "%dmbit" % rate_mbit, "burst", "15140", "limit", "4000000"], check=True)
    subprocess.run(["tc", "-n", NSA, "qdisc", "del", "dev", "va", "root"], check=True)
    subprocess.run(["tc", "-n", NSA, "qdisc", "add", "dev", "va", "root", "tbf", "rate", "%dmbit" % rate_mbit, "burst", "15140", "limit", "4000000"], check=True)
    feats = offloads()
    setns(NSB)
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("198.18.13.2", port)); ls.listen(1)
    setns(NSA)
    a = socket.socket()
    a.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
    a.connect(("198.18.13.2", port))
    b, _ = ls.accept(); ls.close()
    cc_used = a.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0").decode()
    stop = threading.Event()
    def sender():
        chunk = b"x" * 65536
        try:
            while not stop.is_set():
                a.sendall(chunk)
        except OSError:
            pass
    def receiver():
        while True:
            try:
                d = b.recv(65536)
            except OSError:
                break
            if not d:
                break
    tr = threading.Thread(target=receiver, daemon=True); tr.start()
    t0 = time.time()
    tsd = threading.Thread(target=sender, daemon=True); tsd.start()
    samples = []
    k = 0
    while True:
        k += 1
        target = t0 + 0.05 * k
        if target - t0 > 5.0001:
            break
        time.sleep(max(0.0, target - time.time()))
        ma, ta, mb, tb = meminfo(a), tcpinfo(a), meminfo(b), tcpinfo(b)
        q = qdisc()
        samples.append({"t": round(time.time() - t0, 3),
            "A": {"wmem_queued": ma["wmem_queued"], "sndbuf": ma["sndbuf"], "wmem_alloc": ma["wmem_alloc"], "snd_cwnd": ta["snd_cwnd"],
                  "rtt_us": ta["rtt"], "pacing_rate": ta["pacing_rate"], "notsent_bytes": ta["notsent_bytes"], "bytes_acked": ta["bytes_acked"],
                  "total_retrans": ta["total_retrans"], "ca_state": ta["ca_state"], "snd_ssthresh": ta["snd_ssthresh"]},
            "qdisc": {"backlog": q["backlog"], "qlen": q["qlen"], "drops": q["drops"], "packets": q["packets"], "bytes": q["bytes"]},
            "B": {"rcvbuf": mb["rcvbuf"], "rmem_alloc": mb["rmem_alloc"], "rcv_wnd": tb.get("rcv_wnd"), "bytes_received": tb["bytes_received"]}})
    stop.set()
    ta, tb = tcpinfo(a), tcpinfo(b)
    tc = subprocess.run(["tc", "-n", NSA, "-s", "qdisc", "show", "dev", "va"], capture_output=True, text=True).stdout
    tsd.join(timeout=5)
    a.close(); tr.join(timeout=5); b.close()
    time.sleep(0.3)
    last3 = [s for s in samples if s["t"] >= 2.0]
    summ = {
        "congestion_control": cc_used, "rate_bits_per_second": rate_mbit * 1000000, "gso": gso, "offloads": feats,
        "duration_s": 5.0, "samples": len(samples), "bytes_received_B": tb["bytes_received"],
        "goodput_last3s_mbit_s": round((samples[-1]["B"]["bytes_received"] - last3[0]["B"]["bytes_received"]) * 8 / (samples[-1]["t"] - last3[0]["t"]) / 1e6, 2),
        "steady_state_medians_t_ge_2s": {
            "qdisc_backlog": median(s["qdisc"]["backlog"] for s in last3), "qdisc_qlen": median(s["qdisc"]["qlen"] for s in last3),
            "A_snd_cwnd": median(s["A"]["snd_cwnd"] for s in last3), "A_rtt_us": median(s["A"]["rtt_us"] for s in last3),
            "A_sndbuf": median(s["A"]["sndbuf"] for s in last3), "A_wmem_queued": median(s["A"]["wmem_queued"] for s in last3),
            "A_wmem_alloc": median(s["A"]["wmem_alloc"] for s in last3), "A_pacing_rate_Bps": median(s["A"]["pacing_rate"] for s in last3),
            "A_notsent_bytes": median(s["A"]["notsent_bytes"] for s in last3), "B_rcvbuf": median(s["B"]["rcvbuf"] for s in last3)},
        "A_total_retrans_end": ta["total_retrans"], "A_min_rtt_us": ta["min_rtt"], "A_snd_ssthresh_end": ta["snd_ssthresh"],
        "qdisc_drops_end": samples[-1]["qdisc"]["drops"],
    }
    return {"port": port, "summary": summ, "tc_qdisc_stats_end": tc, "samples": samples}

res = [run(7101, 10, True), run(7102, 10, False), run(7103, 100, True), run(7104, 100, False)]
json.dump(res, open(os.path.join(TMP, "out.json"), "w"))
PY
PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" timeout 120 python3 "$tmp/prog.py" $A $B "$tmp" >&2
sysctls=$(ip netns exec $A sysctl net.ipv4.tcp_rmem net.core.rmem_max net.ipv4.tcp_wmem net.core.wmem_max net.ipv4.tcp_adv_win_scale \
  net.ipv4.tcp_timestamps net.ipv4.tcp_moderate_rcvbuf net.ipv4.tcp_congestion_control net.ipv4.tcp_notsent_lowat \
  net.ipv4.tcp_limit_output_bytes net.ipv4.tcp_slow_start_after_idle)
python3 - "$tmp/out.json" "$(uname -r)" "$sysctls" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
sysctl = {l.split(" = ")[0]: l.split(" = ")[1].replace("\t", " ") for l in sys.argv[3].splitlines()}
doc = {
 "what": "Linux bulk TCP (cubic) through tbf at 10 and 100 Mbit/s with the sender veth's GSO/TSO on and off: qdisc backlog, "
         "sk_wmem_alloc, sndbuf, cwnd and RTT sampled every 50 ms",
 "kernel": sys.argv[2],
 "script": "scripts/linux-tcp-tbf-gso.sh",
 "setup": "two network namespaces (ltgA sender 198.18.13.1, ltgB receiver 198.18.13.2) joined by veth, MTU 1500, A's root qdisc "
          "'tbf rate R burst 15140 limit 4000000' (re-created per run), B default qdisc; per run 'ethtool -K va gso on|off tso on|off' "
          "on A's veth (resulting offloads in summary.offloads); namespace sysctls default (listed in sysctl)",
 "sysctl": sysctl,
 "method": "One Python process (setns into each namespace) connects A to B with TCP_CONGESTION=cubic on A's socket; a sender thread does "
           "blocking sendall() of 64 KiB chunks for 5 s, a receiver thread blocking recv(65536). The main thread samples every 50 ms "
           "(deadline-scheduled from the first write): A SO_MEMINFO wmem_queued/sndbuf/wmem_alloc, tcp_info snd_cwnd, rtt, pacing_rate, "
           "notsent_bytes; B SO_MEMINFO rcvbuf, tcp_info bytes_received; the tbf's backlog/qlen/drops from 'tc -s -j qdisc show dev va'. "
           "Steady state = median of samples with t >= 2 s. Default SO_SNDBUF/SO_RCVBUF (autotuned).",
 "runs": runs,
}
print(json.dumps(doc, indent=1))
PY
