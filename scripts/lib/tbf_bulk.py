"""One bulk TCP (cubic) run A->B through `tbf rate R burst 15140 limit 4000000` on A's veth `va`, with A's GSO/TSO on
or off, sampled every 50 ms for 5 s (imported by linux-tcp-tbf-gso.sh and linux-tcp-tbf-runs.sh; PYTHONPATH=scripts/lib).
The caller has set up namespaces NSA (A 198.18.13.1) and NSB (B 198.18.13.2); B listens on `port`."""
import json, socket, statistics, subprocess, threading, time
from linux_socket import setns, meminfo, tcpinfo


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def qdisc(nsa):
    out = subprocess.run(["tc", "-n", nsa, "-s", "-j", "qdisc", "show", "dev", "va"], capture_output=True, text=True, timeout=5).stdout
    return [x for x in json.loads(out) if x.get("root")][0]


def offloads(nsa):
    out = subprocess.run(["ip", "netns", "exec", nsa, "ethtool", "-k", "va"], capture_output=True, text=True, timeout=5).stdout
    keep = ("tcp-segmentation-offload", "generic-segmentation-offload", "scatter-gather", "tx-checksumming")
    return {l.split(":")[0].strip(): l.split(":")[1].strip() for l in out.splitlines() if l.split(":")[0].strip() in keep}


def run(nsa, nsb, port, rate_mbit, gso):
    onoff = "on" if gso else "off"
    subprocess.run(["ip", "netns", "exec", nsa, "ethtool", "-K", "va", "gso", onoff, "tso", onoff], check=True)
    # a fresh tbf per run, so its statistics belong to this run
    tbf = ["tbf", "rate", "%dmbit" % rate_mbit, "burst", "15140", "limit", "4000000"]
    subprocess.run(["tc", "-n", nsa, "qdisc", "replace", "dev", "va", "root"] + tbf, check=True)
    subprocess.run(["tc", "-n", nsa, "qdisc", "del", "dev", "va", "root"], check=True)
    subprocess.run(["tc", "-n", nsa, "qdisc", "add", "dev", "va", "root"] + tbf, check=True)
    feats = offloads(nsa)
    setns(nsb)
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("198.18.13.2", port)); ls.listen(1)
    setns(nsa)
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
        q = qdisc(nsa)
        samples.append({"t": round(time.time() - t0, 3),
            "A": {"wmem_queued": ma["wmem_queued"], "sndbuf": ma["sndbuf"], "wmem_alloc": ma["wmem_alloc"], "snd_cwnd": ta["snd_cwnd"],
                  "rtt_us": ta["rtt"], "pacing_rate": ta["pacing_rate"], "notsent_bytes": ta["notsent_bytes"], "bytes_acked": ta["bytes_acked"],
                  "total_retrans": ta["total_retrans"], "ca_state": ta["ca_state"], "snd_ssthresh": ta["snd_ssthresh"]},
            "qdisc": {"backlog": q["backlog"], "qlen": q["qlen"], "drops": q["drops"], "packets": q["packets"], "bytes": q["bytes"]},
            "B": {"rcvbuf": mb["rcvbuf"], "rmem_alloc": mb["rmem_alloc"], "rcv_wnd": tb.get("rcv_wnd"), "bytes_received": tb["bytes_received"]}})
    stop.set()
    ta, tb = tcpinfo(a), tcpinfo(b)
    tc = subprocess.run(["tc", "-n", nsa, "-s", "qdisc", "show", "dev", "va"], capture_output=True, text=True).stdout
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
