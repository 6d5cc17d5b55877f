#!/usr/bin/env bash
# Measures how Linux grows cwnd, the send buffer, the receive buffer and the advertised window during a 5 s bulk transfer
# A->B through a 100 Mbit/s token bucket (tbf rate 100mbit burst 15140 limit 4000000 as A's root qdisc), sampling both
# sockets every 50 ms; once with the namespace default congestion control and once with cubic (TCP_CONGESTION on the socket).
# Two network namespaces (lmbA sender, lmbB receiver) joined by veth (198.18.12.0/24, MTU 1500), default sysctls.
# Needs root; deletes its namespaces on exit. Prints one JSON document. Usage: sudo scripts/linux-tcp-bulk-growth.sh > tests/Xmit.Tests/Data/linux-truth/tcp-bulk-growth.json
set -euo pipefail
A=lmbA B=lmbB
tmp=$(mktemp -d /tmp/linux-tcp-bulk-growth.XXXXXX)
NET=198.18.12
source "$(dirname "$0")/lib/veth-pair.sh"
ip -n $A link set va mtu 1500
ip -n $B link set vb mtu 1500
ip netns exec $A tc qdisc add dev va root tbf rate 100mbit burst 15140 limit 4000000
sleep 0.5
cat > "$tmp/prog.py" <<'PY'
import json, os, socket, statistics, subprocess, sys, threading, time
NSA, NSB, TMP = sys.argv[1:4]
from linux_socket import setns, meminfo, tcpinfo, tshark_start
def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def run(port, cc):
    # a fresh tbf per run, so its statistics belong to this run
    subprocess.run(["tc", "-n", NSA, "qdisc", "replace", "dev", "va", "root", "tbf", "rate", "100mbit", "burst", "15140", "limit", "4000000"], check=True)
    subprocess.run(["tc", "-n", NSA, "qdisc", "del", "dev", "va", "root"], check=True)
    subprocess.run(["tc", "-n", NSA, "qdisc", "add", "dev", "va", "root", "tbf", "rate", "100mbit", "burst", "15140", "limit", "4000000"], check=True)
    pcap = os.path.join(TMP, "bulk-%d.pcap" % port)
    ts = tshark_start(NSA, "va", pcap, "tcp port %d" % port, snaplen=96, buffer_mib=64)
    setns(NSB)
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("198.18.12.2", port)); ls.listen(1)
    setns(NSA)
    a = socket.socket()
    if cc:
        a.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
    a.connect(("198.18.12.2", port))
    b, _ = ls.accept(); ls.close()
    cc_used = a.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0").decode()
    stop = threading.Event()
    got = [0]; sent = [0]
    def sender():
        chunk = b"x" * 65536
        try:
            while not stop.is_set():
                a.sendall(chunk); sent[0] += 65536
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
            got[0] += len(d)
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
        samples.append({"t": round(time.time() - t0, 3),
            "A": {"wmem_queued": ma["wmem_queued"], "sndbuf": ma["sndbuf"], "wmem_alloc": ma["wmem_alloc"], "snd_cwnd": ta["snd_cwnd"],
                  "rtt_us": ta["rtt"], "snd_wnd": ta.get("snd_wnd"), "pacing_rate": ta["pacing_rate"], "notsent_bytes": ta["notsent_bytes"],
                  "bytes_acked": ta["bytes_acked"], "total_retrans": ta["total_retrans"], "delivery_rate": ta["delivery_rate"], "ca_state": ta["ca_state"],
                  "snd_ssthresh": ta["snd_ssthresh"]},
            "B": {"rcvbuf": mb["rcvbuf"], "rmem_alloc": mb["rmem_alloc"], "rcv_wnd": tb.get("rcv_wnd"), "rcv_space": tb["rcv_space"],
                  "rcv_ssthresh": tb["rcv_ssthresh"], "bytes_received": tb["bytes_received"], "drops": mb["drops"]}})
    stop.set()
    ta, tb = tcpinfo(a), tcpinfo(b)
    tc = subprocess.run(["tc", "-n", NSA, "-s", "qdisc", "show", "dev", "va"], capture_output=True, text=True).stdout
    tsd.join(timeout=5)          # the sender finishes its last chunk (B keeps reading) and sees stop
    a.close(); tr.join(timeout=5); b.close()
    time.sleep(0.3)
    ts.terminate(); ts.wait(timeout=10)
    # capture: B's advertised windows (scaled by tshark from the captured handshake)
    out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "tcp.window_size",
                          "-e", "tcp.len", "-e", "tcp.flags.str"], capture_output=True, text=True).stdout.splitlines()
    wins, npk = [], 0
    for ln in out:
        x = ln.split("\t")
        if len(x) < 5: continue
        npk += 1
        if x[1] == "198.18.12.2" and x[2] and "S" not in x[4]:
            wins.append((float(x[0]) - t0, int(x[2])))
    win_series = []
    for i in range(1, 101):
        lo, hi = (i - 1) * 0.05, i * 0.05
        w = [v for t, v in wins if lo <= t < hi]
        if w: win_series.append({"t": round(hi, 2), "max_win": max(w), "last_win": w[-1], "acks": len(w)})
    last3 = [s for s in samples if s["t"] >= 2.0]
    summ = {
        "congestion_control": cc_used,
        "duration_s": 5.0, "samples": len(samples),
        "bytes_received_B": tb["bytes_received"], "goodput_mbit_s": round(tb["bytes_received"] * 8 / 5.0 / 1e6, 2),
        "goodput_last3s_mbit_s": round((samples[-1]["B"]["bytes_received"] - last3[0]["B"]["bytes_received"]) * 8 / (samples[-1]["t"] - last3[0]["t"]) / 1e6, 2),
        "steady_state_medians_t_ge_2s": {
            "A_snd_cwnd": median(s["A"]["snd_cwnd"] for s in last3), "A_rtt_us": median(s["A"]["rtt_us"] for s in last3),
            "A_sndbuf": median(s["A"]["sndbuf"] for s in last3), "A_wmem_queued": median(s["A"]["wmem_queued"] for s in last3),
            "A_wmem_alloc": median(s["A"]["wmem_alloc"] for s in last3), "A_snd_wnd": median(s["A"]["snd_wnd"] for s in last3),
            "A_pacing_rate_Bps": median(s["A"]["pacing_rate"] for s in last3), "A_notsent_bytes": median(s["A"]["notsent_bytes"] for s in last3),
            "B_rcvbuf": median(s["B"]["rcvbuf"] for s in last3), "B_rcv_wnd": median(s["B"]["rcv_wnd"] for s in last3),
            "B_rcv_space": median(s["B"]["rcv_space"] for s in last3), "B_rcv_ssthresh": median(s["B"]["rcv_ssthresh"] for s in last3)},
        "max_A_sndbuf": max(s["A"]["sndbuf"] for s in samples), "max_A_wmem_queued": max(s["A"]["wmem_queued"] for s in samples),
        "max_A_snd_cwnd": max(s["A"]["snd_cwnd"] for s in samples), "max_A_rtt_us": max(s["A"]["rtt_us"] for s in samples),
        "max_B_rcvbuf": max(s["B"]["rcvbuf"] for s in samples),
        "max_B_rcv_wnd_tcp_info_samples": max(s["B"]["rcv_wnd"] or 0 for s in samples),
        "max_advertised_window_capture": max(v for _, v in wins) if wins else None,
        "A_total_retrans_end": ta["total_retrans"], "A_min_rtt_us": ta["min_rtt"], "A_snd_ssthresh_end": ta["snd_ssthresh"],
        "A_rwnd_limited_us": ta["rwnd_limited"], "A_sndbuf_limited_us": ta["sndbuf_limited"], "A_busy_time_us": ta["busy_time"],
        "captured_packets": npk,
    }
    return {"port": port, "congestion_control": cc_used, "summary": summ, "tc_qdisc_stats_end": tc, "samples": samples,
            "advertised_window_per_50ms_capture": win_series}

res = [run(7001, None), run(7002, "cubic")]
json.dump(res, open(os.path.join(TMP, "out.json"), "w"))
PY
PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" timeout 100 python3 "$tmp/prog.py" $A $B "$tmp" >&2
sysctls=$(ip netns exec $A sysctl net.ipv4.tcp_rmem net.core.rmem_max net.ipv4.tcp_wmem net.core.wmem_max net.ipv4.tcp_adv_win_scale \
  net.ipv4.tcp_timestamps net.ipv4.tcp_moderate_rcvbuf net.ipv4.tcp_congestion_control net.ipv4.tcp_allowed_congestion_control \
  net.ipv4.tcp_notsent_lowat net.ipv4.tcp_limit_output_bytes net.ipv4.tcp_slow_start_after_idle)
python3 - "$tmp/out.json" "$(uname -r)" "$sysctls" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
sysctl = {l.split(" = ")[0]: l.split(" = ")[1].replace("\t", " ") for l in sys.argv[3].splitlines()}
doc = {
 "what": "Linux TCP bulk transfer through a 100 Mbit/s tbf: cwnd, send buffer, receive buffer and advertised window growth, sampled every 50 ms",
 "kernel": sys.argv[2],
 "script": "scripts/linux-tcp-bulk-growth.sh",
 "setup": "two network namespaces (lmbA sender 198.18.12.1, lmbB receiver 198.18.12.2) joined by veth, MTU 1500, A's root qdisc "
          "'tbf rate 100mbit burst 15140 limit 4000000', B default qdisc, veth offloads default (TSO/GSO/GRO on), namespace sysctls default (listed in sysctl)",
 "sysctl": sysctl,
 "method": "One Python process (setns into each namespace) connects A to B; a sender thread does blocking sendall() of 64 KiB chunks for 5 s, "
           "a receiver thread does blocking recv(65536) as fast as it can; the main thread samples both sockets every 50 ms (deadline-scheduled from the "
           "first write): A SO_MEMINFO wmem_queued/sndbuf/wmem_alloc, tcp_info snd_cwnd, rtt, snd_wnd, pacing_rate (bytes/s), notsent_bytes, bytes_acked, "
           "total_retrans; B SO_MEMINFO rcvbuf/rmem_alloc/drops, tcp_info rcv_wnd, rcv_space, rcv_ssthresh, bytes_received. Default SO_SNDBUF/SO_RCVBUF "
           "(autotuned). Run 1 uses the namespace default congestion control (inherited from the host: bbr), run 2 sets TCP_CONGESTION=cubic on A's socket "
           "(no sysctl changed). Steady state = median of samples with t >= 2 s (the last 3 s). tshark on A's veth (snaplen 96, from before the handshake) "
           "gives B's advertised windows scaled by tshark; max per 50 ms bin in advertised_window_per_50ms_capture. The tbf is re-created before each run; "
           "tc -s qdisc at the end of the 5 s (tc_qdisc_stats_end) shows that run's tbf drops and backlog.",
 "runs": runs,
}
print(json.dumps(doc, indent=1))
PY
