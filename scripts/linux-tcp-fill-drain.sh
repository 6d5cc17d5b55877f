#!/usr/bin/env bash
# Measures how a Linux TCP sender fills its (autotuned) send buffer against a receiver that does not read,
# how it stalls on the zero window (zero-window probes, backoff), and when EPOLLOUT comes back while the
# receiver drains 4096 bytes every 20 ms; also the per-skb memory charge (wmem_queued - SIOCOUTQ).
# Two network namespaces (lmfA, lmfB) joined by veth (198.18.10.0/24, MTU 1500, pfifo on A), default sysctls.
# One Python process opens the sockets of both sides (setns), so every step is sequenced exactly;
# tshark captures on A's veth. Needs root; deletes its namespaces on exit. Prints one JSON document.
# CC=cubic (the default; Xmit models cubic and reno) sets net.ipv4.tcp_congestion_control in both namespaces.
# Usage: sudo [CC=cubic] scripts/linux-tcp-fill-drain.sh > tests/Xmit.Tests/Data/linux-truth/tcp-fill-drain.json
set -euo pipefail
A=lmfA B=lmfB
tmp=$(mktemp -d /tmp/linux-tcp-fill-drain.XXXXXX)
NET=198.18.10
source "$(dirname "$0")/lib/veth-pair.sh"
ip -n $A link set va mtu 1500
ip -n $B link set vb mtu 1500
ip netns exec $A tc qdisc add dev va root pfifo
allow_cc "${CC:-cubic}"
for ns in $A $B; do ip netns exec $ns sysctl -q -w net.ipv4.tcp_congestion_control="${CC:-cubic}"; done
sleep 0.5
cat > "$tmp/prog.py" <<'PY'
import fcntl, json, os, select, socket, struct, subprocess, sys, time
NSA, NSB, TMP, SCRIPT = sys.argv[1:5]
from linux_socket import setns, meminfo, tcpinfo, tshark_start
SIOCOUTQ, SIOCOUTQNSD, SIOCINQ = 0x5411, 0x894B, 0x541B
def ioc(s, req):
    return struct.unpack("i", fcntl.ioctl(s.fileno(), req, b"\0" * 4))[0]
def pair(port, cork=False):
    setns(NSB)
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("198.18.10.2", port)); ls.listen(1)
    setns(NSA)
    a = socket.socket()
    a.connect(("198.18.10.2", port))
    b, _ = ls.accept(); ls.close()
    return a, b

def sample_a(a):
    m, t = meminfo(a), tcpinfo(a)
    return {"wmem_queued": m["wmem_queued"], "sndbuf": m["sndbuf"], "wmem_alloc": m["wmem_alloc"],
            "outq": ioc(a, SIOCOUTQ), "outqnsd": ioc(a, SIOCOUTQNSD), "snd_wnd": t.get("snd_wnd"),
            "snd_cwnd": t["snd_cwnd"], "unacked": t["unacked"], "total_retrans": t["total_retrans"]}
def sample_b(b):
    m, t = meminfo(b), tcpinfo(b)
    return {"rmem_alloc": m["rmem_alloc"], "rcvbuf": m["rcvbuf"], "inq": ioc(b, SIOCINQ), "rcv_wnd": t.get("rcv_wnd"),
            "rcv_ssthresh": t["rcv_ssthresh"], "rcv_space": t["rcv_space"], "drops": m["drops"], "backlog": m["backlog"]}

# tshark on A's veth (both directions), started before any connection so window scaling is known
pcap = os.path.join(TMP, "fill.pcap")
ts = tshark_start(NSA, "va", pcap, "tcp port 5001 or tcp port 5003", snaplen=128)

def run_variant(port, chunk):
    v = {"chunk": chunk, "port": port}
    a, b = pair(port)
    b.setblocking(False)
    v["after_handshake"] = {"A": {**sample_a(a), "tcp_info": tcpinfo(a)}, "B": {**sample_b(b), "tcp_info": tcpinfo(b)}}
    a.setblocking(False)
    data = b"x" * chunk
    writes, total, sndbufs, growth = [], 0, [], []
    t_start = time.time()
    while True:
        try:
            n = a.send(data)
        except BlockingIOError:
            break
        total += n
        s = sample_a(a); s["t"] = round(time.time() - t_start, 6); s["accepted"] = n; s["total"] = total
        writes.append(s)
        if not sndbufs or sndbufs[-1] != s["sndbuf"]:
            sndbufs.append(s["sndbuf"]); growth.append({"sndbuf": s["sndbuf"], "total_accepted": total, "t": s["t"], "phase": "fill"})
        if len(writes) > 20000:
            break
    t_eagain = time.time()
    v["bytes_accepted_before_first_eagain"] = total
    v["writes_before_first_eagain"] = len(writes)
    v["sndbuf_growth_sequence_before_first_eagain"] = list(sndbufs)
    v["at_first_eagain"] = {"A": {**sample_a(a), "tcp_info": tcpinfo(a)}, "B": sample_b(b)}
    v["writes_until_first_eagain"] = writes
    # top-up: after the first EAGAIN keep writing whenever the socket accepts data (sndbuf grows, data is acked) until
    # A is stalled: EAGAIN, peer window zero, unsent data queued, and nothing accepted for 300 ms (max 5 s)
    topup, last_acc, stalled = [], time.time(), False
    while time.time() - t_eagain < 5.0:
        acc = 0
        while True:
            try:
                n = a.send(data)
            except BlockingIOError:
                break
            acc += n; total += n
        s = sample_a(a)
        if acc:
            last_acc = time.time()
            s["t_after_first_eagain"] = round(time.time() - t_eagain, 6); s["accepted"] = acc; s["total"] = total
            topup.append(s)
        if not sndbufs or sndbufs[-1] != s["sndbuf"]:
            sndbufs.append(s["sndbuf"]); growth.append({"sndbuf": s["sndbuf"], "total_accepted": total, "t": round(time.time() - t_start, 6), "phase": "topup"})
        if s["snd_wnd"] == 0 and s["outqnsd"] > 0 and time.time() - last_acc > 0.3:
            stalled = True
            break
        time.sleep(0.002)
    t_stall = time.time()
    v["topup_writes_after_first_eagain"] = topup
    v["stalled_against_zero_window"] = stalled
    v["stall_reached_t_after_first_eagain"] = round(t_stall - t_eagain, 3)
    v["bytes_accepted_total_at_stall"] = total
    v["sndbuf_growth_sequence"] = sndbufs
    v["sndbuf_growth_detail"] = growth
    v["t_stall_epoch"] = t_stall
    v["at_stall"] = {"A": {**sample_a(a), "tcp_info": tcpinfo(a)}, "B": {**sample_b(b), "tcp_info": tcpinfo(b)}}
    v["t_eagain_epoch"] = t_eagain
    # 1 s after the first EAGAIN (at the earliest once stalled), register EPOLLOUT (level-triggered)
    time.sleep(max(0.0, 1.0 - (time.time() - t_eagain)))
    ep = select.epoll()
    ep.register(a.fileno(), select.EPOLLOUT)
    v["epollout_at_registration"] = {"t_after_first_eagain": round(time.time() - t_eagain, 3), "epollout": bool(ep.poll(0))}
    stall = []
    while time.time() - t_stall < 4.0:
        ta = tcpinfo(a)
        stall.append({"t_after_first_eagain": round(time.time() - t_eagain, 3), "t_after_stall": round(time.time() - t_stall, 3),
                      "A_probes": ta["probes"], "A_backoff": ta["backoff"], "A_rto_us": ta["rto"], "A_total_retrans": ta["total_retrans"],
                      "A": sample_a(a), "B": sample_b(b), "A_epollout": bool(ep.poll(0))})
        time.sleep(0.25)
    v["stall_samples"] = stall
    v["stall_at_3s_after_stall"] = min(stall, key=lambda x: abs(x["t_after_stall"] - 3.0))
    v["before_drain"] = {"A": {**sample_a(a), "tcp_info": tcpinfo(a)}, "B": {**sample_b(b), "tcp_info": tcpinfo(b)}}
    # drain: B reads 4096 bytes every 20 ms; A's epoll_wait(0) is checked just before each next read
    steps, readtot, first = [], 0, None
    t_drain = time.time()
    v["t_drain_start_epoch"] = t_drain
    for i in range(600):
        tr = time.time()
        try:
            got = len(b.recv(4096))
        except BlockingIOError:
            got = 0
        readtot += got
        sb = sample_b(b)
        time.sleep(0.02)
        ev = ep.poll(0)
        epo = any(e & select.EPOLLOUT for _, e in ev)
        st = {"step": i + 1, "t_read": round(tr - t_drain, 4), "t_read_epoch": tr, "read": got, "B_total_read": readtot,
              "B_rcv_wnd_after_read": sb["rcv_wnd"], "B_rmem_alloc_after_read": sb["rmem_alloc"], "B_inq_after_read": sb["inq"],
              "A_epollout_20ms_later": epo, "A": sample_a(a)}
        steps.append(st)
        if epo and first is None:
            first = st
        if first is not None and i + 1 >= first["step"] + 5:
            break
    v["drain_steps"] = steps
    v["first_epollout"] = None if first is None else {"step": first["step"], "B_total_read": first["B_total_read"],
        "t_after_drain_start": first["t_read"], "A": first["A"]}
    if first is None:
        v["first_epollout_note"] = "EPOLLOUT not seen within %d drain steps" % len(steps)
    ep.close(); a.close(); b.close()
    return v

out = {"variants": []}
out["variants"].append(run_variant(5001, 1000))
out["variants"].append(run_variant(5003, 16384))

# per-skb charge: a fresh connection, TCP_CORK on, one write of N bytes: it stays in the write queue unsent
def cork_probe(port, sizes):
    a, b = pair(port)
    time.sleep(0.05)
    a.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    res = {"port": port, "before": sample_a(a), "writes": []}
    for n in sizes:
        a.send(b"y" * n)
        s = sample_a(a); s["write"] = n; s["wmem_queued_minus_outq"] = s["wmem_queued"] - s["outq"]
        res["writes"].append(s)
    a.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
    time.sleep(0.05)
    res["after_uncork_and_ack"] = sample_a(a)
    a.close(); b.close()
    return res
skb = {"method": "fresh connection A->B, B idle; A sets TCP_CORK=1 then sends N bytes (blocking socket) and reads SO_MEMINFO "
       "wmem_queued and SIOCOUTQ/SIOCOUTQNSD immediately; the data is one unsent skb in the write queue "
       "(outqnsd == outq == N). Further writes in the same probe append to that skb.", "probes": []}
port = 5100
for sizes in ([1000], [100], [1000, 1000], [100, 100, 100], [1448], [1449], [4000], [16384], [1000], [100]):
    skb["probes"].append(cork_probe(port, sizes)); port += 1
one1000 = sorted({p["writes"][0]["wmem_queued_minus_outq"] for p in skb["probes"] if p["writes"][0]["write"] == 1000 and len(p["writes"]) == 1})
one100 = sorted({p["writes"][0]["wmem_queued_minus_outq"] for p in skb["probes"] if p["writes"][0]["write"] == 100 and len(p["writes"]) == 1})
skb["one_skb_1000_bytes_wmem_queued_minus_outq"] = one1000
skb["one_skb_100_bytes_wmem_queued_minus_outq"] = one100
# uncorked: one 1000-byte send on an idle connection, measured right after send() returns
a, b = pair(5200); time.sleep(0.05)
a.send(b"z" * 1000); s1 = sample_a(a); time.sleep(0.05); s2 = sample_a(a)
skb["uncorked_1000_right_after_send"] = s1
skb["uncorked_1000_50ms_later"] = s2
a.close(); b.close()
out["per_skb_charge"] = skb

time.sleep(0.3)
ts.terminate(); ts.wait(timeout=10)

# capture analysis
F = ["frame.time_epoch", "ip.src", "tcp.srcport", "tcp.dstport", "tcp.flags.str", "tcp.seq", "tcp.ack", "tcp.len",
     "tcp.window_size_value", "tcp.window_size", "tcp.analysis.keep_alive", "tcp.analysis.zero_window", "tcp.analysis.window_update"]
cmd = ["tshark", "-r", pcap, "-o", "tcp.relative_sequence_numbers:TRUE", "-T", "fields", "-E", "separator=\t"]
for f in F:
    cmd += ["-e", f]
lines = subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()
pk = []
for ln in lines:
    c = ln.split("\t")
    if len(c) < len(F):
        continue
    pk.append({"t": float(c[0]), "from": "A" if c[1] == "198.18.10.1" else "B", "port": int(c[3]) if c[1] == "198.18.10.1" else int(c[2]),
               "flags": c[4].replace("\u00b7", "").replace("*", ""), "seq": int(c[5] or 0), "ack": int(c[6] or 0), "len": int(c[7] or 0),
               "win_field": int(c[8] or 0), "win": int(c[9] or 0) if c[9] else None,
               "keep_alive": bool(c[10]), "zero_window": bool(c[11]), "window_update": bool(c[12])})
for v in out["variants"]:
    P = [p for p in pk if p["port"] == v["port"]]
    te, td, tst = v["t_eagain_epoch"], v["t_drain_start_epoch"], v["t_stall_epoch"]
    tconn = P[0]["t"] if P else te
    cap = {"packets": len(P)}
    syn = [p for p in P if "S" in p["flags"]]
    cap["handshake"] = [{"from": p["from"], "flags": p["flags"], "win_field": p["win_field"]} for p in syn]
    # B's segments during the fill (until 1 s after EAGAIN)
    cap["B_windows_during_fill"] = [{"t": round(p["t"] - tconn, 6), "ack": p["ack"], "win": p["win"], "win_field": p["win_field"]}
                                    for p in P if p["from"] == "B" and "S" not in p["flags"] and p["t"] < tst + 0.05]
    cap["A_data_segments_during_fill"] = [{"t": round(p["t"] - tconn, 6), "seq": p["seq"], "len": p["len"]}
                                          for p in P if p["from"] == "A" and p["len"] > 0 and p["t"] < tst + 0.05]
    zw = [p for p in P if p["from"] == "B" and p["win"] == 0]
    cap["first_zero_window_t_after_connect"] = round(zw[0]["t"] - tconn, 6) if zw else None
    cap["first_zero_window_t_after_first_eagain"] = round(zw[0]["t"] - te, 6) if zw else None
    # zero-window probes: A->B, no payload, seq == snd_una - 1 (the highest ack from B so far minus one)
    maxack, probes, resp = 0, [], []
    for i, p in enumerate(P):
        if p["from"] == "B":
            maxack = max(maxack, p["ack"])
        elif p["len"] == 0 and "S" not in p["flags"] and "F" not in p["flags"] and maxack and p["seq"] == maxack - 1 and p["t"] < td:
            r = next((q for q in P[i + 1:] if q["from"] == "B"), None)
            probes.append({"t_after_first_eagain": round(p["t"] - te, 6), "seq": p["seq"], "len": p["len"], "tshark_keep_alive": p["keep_alive"],
                           "reply_win": r["win"] if r else None, "reply_dt_us": round((r["t"] - p["t"]) * 1e6, 1) if r else None,
                           "answered_within_10ms": bool(r and r["t"] - p["t"] < 0.01)})
    cap["zero_window_probes_before_drain"] = probes
    cap["zero_window_probe_count_before_drain"] = len(probes)
    cap["zero_window_probe_intervals_s"] = [round(probes[i]["t_after_first_eagain"] - probes[i - 1]["t_after_first_eagain"], 4) for i in range(1, len(probes))]
    if zw:
        cap["zero_window_probe_times_after_first_zero_window_s"] = [round(p["t_after_first_eagain"] + te - zw[0]["t"], 6) for p in probes]
    # drain: B's segments (window updates) and A's data, mapped to the read step that preceded them
    steps = v["drain_steps"]
    def step_at(t):
        k = None
        for st in steps:
            if st["t_read_epoch"] <= t:
                k = st
        return k
    dr = []
    for p in P:
        if p["t"] >= td and p["from"] == "B" and "F" not in p["flags"]:
            st = step_at(p["t"])
            dr.append({"t_after_drain_start": round(p["t"] - td, 6), "after_step": st["step"] if st else 0,
                       "B_total_read_then": st["B_total_read"] if st else 0, "ack": p["ack"], "win": p["win"], "win_field": p["win_field"],
                       "tshark_window_update": p["window_update"]})
    cap["B_segments_during_drain"] = dr
    nz = next((d for d in dr if d["win"]), None)
    cap["first_nonzero_window_in_drain"] = nz
    cap["A_data_segments_during_drain"] = [{"t_after_drain_start": round(p["t"] - td, 6), "seq": p["seq"], "len": p["len"]}
                                           for p in P if p["t"] >= td and p["from"] == "A" and p["len"] > 0]
    v["capture"] = cap
    for st in steps:
        del st["t_read_epoch"]
    del v["t_eagain_epoch"]; del v["t_drain_start_epoch"]; del v["t_stall_epoch"]
json.dump(out, open(os.path.join(TMP, "out.json"), "w"))
PY
PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" timeout 110 python3 "$tmp/prog.py" $A $B "$tmp" linux-tcp-fill-drain.sh >&2
sysctls=$(ip netns exec $A sysctl net.ipv4.tcp_wmem net.ipv4.tcp_rmem net.core.wmem_max net.core.rmem_max net.ipv4.tcp_congestion_control \
  net.ipv4.tcp_autocorking net.ipv4.tcp_notsent_lowat net.ipv4.tcp_invalid_ratelimit net.ipv4.tcp_adv_win_scale net.ipv4.tcp_moderate_rcvbuf)
python3 - "$tmp/out.json" "$(uname -r)" "$sysctls" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sysctl = {l.split(" = ")[0]: l.split(" = ")[1].replace("\t", " ") for l in sys.argv[3].splitlines()}
summ = []
for v in d["variants"]:
    c = v["capture"]
    full = list(v["sndbuf_growth_sequence"])
    for x in [st["A"]["sndbuf"] for st in v["stall_samples"]] + [st["A"]["sndbuf"] for st in v["drain_steps"]]:
        if full[-1] != x:
            full.append(x)
    v["sndbuf_growth_sequence_through_drain"] = full
    w = v["writes_until_first_eagain"]
    fe = v["first_epollout"]
    summ.append({
        "chunk": v["chunk"],
        "bytes_accepted_before_first_eagain": v["bytes_accepted_before_first_eagain"],
        "writes_before_first_eagain": v["writes_before_first_eagain"],
        "last_write_before_eagain_accepted": w[-1]["accepted"] if w else None,
        "at_first_eagain_A": {k: v["at_first_eagain"]["A"][k] for k in ("wmem_queued", "sndbuf", "outq", "outqnsd", "snd_wnd", "snd_cwnd", "unacked")},
        "sndbuf_growth_sequence_through_drain": full,
        "bytes_accepted_total_when_stalled": v["bytes_accepted_total_at_stall"],
        "stalled_A": {k: v["at_stall"]["A"][k] for k in ("wmem_queued", "sndbuf", "outq", "outqnsd", "snd_wnd", "snd_cwnd")},
        "stalled_B": {k: v["at_stall"]["B"][k] for k in ("rmem_alloc", "rcvbuf", "inq", "rcv_wnd", "drops")},
        "B_windows_at_end_of_fill": [x["win"] for x in c["B_windows_during_fill"][-6:]],
        "zero_window_probe_times_after_first_zero_window_s": c.get("zero_window_probe_times_after_first_zero_window_s"),
        "zero_window_probe_intervals_s": c["zero_window_probe_intervals_s"],
        "zero_window_probes_answered_within_10ms": [x["answered_within_10ms"] for x in c["zero_window_probes_before_drain"]],
        "A_probes_backoff_3s_after_stall": [v["stall_at_3s_after_stall"]["A_probes"], v["stall_at_3s_after_stall"]["A_backoff"]],
        "epollout_at_registration": v["epollout_at_registration"]["epollout"],
        "first_epollout_drain_step": fe and fe["step"], "first_epollout_B_total_read": fe and fe["B_total_read"],
        "first_epollout_A": fe and {k: fe["A"][k] for k in ("wmem_queued", "sndbuf", "outq")},
        "B_window_segments_in_drain": [[x["after_step"], x["B_total_read_then"], x["win"]] for x in c["B_segments_during_drain"]],
        "B_window_segments_in_drain_format": "[after drain step, B total read then, window]",
        "drain_steps_where_epollout_differs_from_3*wmem_queued<=2*sndbuf": [st["step"] for st in v["drain_steps"]
            if st["A_epollout_20ms_later"] != (3 * st["A"]["wmem_queued"] <= 2 * st["A"]["sndbuf"])],
    })
doc = {
 "what": "Linux TCP send-buffer fill against a non-reading receiver, zero-window stall and probes, EPOLLOUT during a slow drain, per-skb send charge",
 "kernel": sys.argv[2],
 "script": "scripts/linux-tcp-fill-drain.sh",
 "setup": "two network namespaces (lmfA sender 198.18.10.1, lmfB receiver 198.18.10.2) joined by veth, MTU 1500, pfifo root qdisc on A's veth, "
          "veth offloads default (TSO/GSO/GRO on), namespace sysctls default (listed in sysctl)",
 "sysctl": sysctl,
 "method": "One Python process creates B's listener and A's client (setns into each namespace), so every step is sequenced exactly. "
           "A: non-blocking, default SO_SNDBUF (autotuned), Nagle on (no TCP_NODELAY), default congestion control. B: accepted, does not read until the drain. "
           "Fill: A send()s chunk-sized writes until the first EAGAIN; after every write it records the bytes accepted, SO_MEMINFO wmem_queued/sndbuf/wmem_alloc, "
           "SIOCOUTQ (outq = write_seq - snd_una), SIOCOUTQNSD (outqnsd = write_seq - snd_nxt), tcp_info snd_wnd/snd_cwnd/unacked/total_retrans (writes_until_first_eagain). "
           "The first EAGAIN is not yet a zero-window stall (ACKs keep arriving and sndbuf autotuning grows), so a top-up phase keeps writing (every 2 ms, until EAGAIN) "
           "until A is stalled: EAGAIN, tcp_info snd_wnd == 0, unsent data queued, nothing accepted for 300 ms (topup_writes_after_first_eagain, at_stall). "
           "sndbuf_growth_sequence = distinct SO_MEMINFO sndbuf values in the order seen by these samples (fill + top-up; sndbuf_growth_detail gives total accepted and time), "
           "sndbuf_growth_sequence_through_drain continues it over the stall and drain samples; values between samples can be missed. "
           "1 s after the first EAGAIN A registers EPOLLOUT (level-triggered) on an epoll (epollout_at_registration); then every 0.25 s for 4 s after the stall A's tcp_info "
           "probes/backoff/rto and B's SO_MEMINFO rmem_alloc/rcvbuf/drops, SIOCINQ, tcp_info rcv_wnd are sampled (stall_samples; stall_at_3s_after_stall = sample nearest 3 s). "
           "Drain: B recv(4096) every 20 ms (stepped: recv, sample B, sleep 20 ms, epoll_wait(A, timeout 0) and sample A); B_rcv_wnd_after_read is tcp_info rcv_wnd "
           "(last advertised window) right after the read; stops 5 steps after A's first EPOLLOUT (first_epollout). "
           "tshark on A's veth captures both directions (snaplen 128) from before the handshake, so tshark computes scaled windows (win; win_field = raw 16-bit field). "
           "Zero-window probes = A->B segments without payload whose seq == (highest ack from B so far) - 1 (tshark labels them keep-alive); "
           "answered_within_10ms tells whether B's ACK followed the probe. B's segments during the drain are mapped to the last read step before them "
           "(after_step, B_total_read_then). Veth has TSO, so A's captured data segments can exceed the MSS. Per-skb charge: per_skb_charge.method.",
 "observations": [
   "The tcp_info probes counter goes back to 0 whenever B answers a probe (A's tcp_info probes is 1 only while a probe is unanswered); backoff keeps counting probes.",
   "B's second zero-window probe reply is missing in both variants: the probes are 436-444 ms apart and net.ipv4.tcp_invalid_ratelimit is 500 ms (B answers out-of-window segments at most every 500 ms); this is an interpretation of the capture.",
   "B's SO_MEMINFO drops rises by one with each zero-window probe (the seq = rcv_nxt-1 probe is dropped as out of window); in these runs drops = A's total_retrans (data B dropped during the fill, retransmitted) + zero-window probes so far.",
   "During the drain B's window stays 0 for many 4096-byte reads and reopens in steps; per_skb_charge shows each write skb costs 832 bytes of overhead plus its payload.",
 ],
 "summary": summ,
 **d,
}
print(json.dumps(doc, indent=1))
PY
