#!/usr/bin/env bash
# Measures the windows Linux announces in the handshake: the SYN and SYN-ACK window field, window-scale and MSS options
# (tshark on the client's veth) and tcp_info advmss/rcv_ssthresh/rcv_wnd/snd_mss on both sides after the handshake,
# plus the window of the ACK that completes it, for veth MTU 1500 and 9000 and receive buffers default/4096/8192/65536/1048576
# (SO_RCVBUF set before listen() on the server and/or before connect() on the client).
# Two network namespaces (lmsA client, lmsB server) joined by veth (198.18.11.0/24), pfifo on A, default sysctls.
# Needs root; deletes its namespaces on exit. Prints one JSON document. Usage: sudo scripts/linux-tcp-syn-window.sh > tests/Xmit.Tests/Data/linux-truth/tcp-syn-window.json
set -euo pipefail
A=lmsA B=lmsB
tmp=$(mktemp -d /tmp/linux-tcp-syn-window.XXXXXX)
NET=198.18.11
source "$(dirname "$0")/lib/veth-pair.sh"
ip netns exec $A tc qdisc add dev va root pfifo
sleep 0.5
cat > "$tmp/prog.py" <<'PY'
import json, os, socket, subprocess, sys, time
NSA, NSB, TMP = sys.argv[1:4]
from linux_socket import setns, meminfo, tcpinfo, tshark_start
KEEP = ["snd_wscale", "rcv_wscale", "snd_mss", "rcv_mss", "advmss", "pmtu", "rcv_ssthresh", "rcv_space", "snd_cwnd", "snd_wnd", "rcv_wnd", "options"]
def side(s):
    t, m = tcpinfo(s), meminfo(s)
    r = {k: t.get(k) for k in KEEP}
    r["SO_RCVBUF"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    r["SO_SNDBUF"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    r["meminfo_rcvbuf"], r["meminfo_sndbuf"] = m["rcvbuf"], m["sndbuf"]
    return r
SIZES = [None, 4096, 8192, 65536, 1048576]
MODES = ["both", "server_only", "client_only"]
runs, port = [], 6000
for mtu in (1500, 9000):
    subprocess.run(["ip", "-n", NSA, "link", "set", "va", "mtu", str(mtu)], check=True)
    subprocess.run(["ip", "-n", NSB, "link", "set", "vb", "mtu", str(mtu)], check=True)
    time.sleep(0.3)
    pcap = os.path.join(TMP, "syn-%d.pcap" % mtu)
    ts = tshark_start(NSA, "va", pcap, "tcp portrange 6000-6999", snaplen=200)
    mine = []
    for mode in MODES:
        for size in SIZES:
            if size is None and mode != "both":
                continue
            setns(NSB)
            ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if size is not None and mode in ("both", "server_only"):
                ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            ls.bind(("198.18.11.2", port)); ls.listen(1)
            setns(NSA)
            c = socket.socket()
            if size is not None and mode in ("both", "client_only"):
                c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            c_rcvbuf_before = c.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            l_rcvbuf = ls.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            c.connect(("198.18.11.2", port))
            srv, _ = ls.accept()
            time.sleep(0.05)
            run = {"mtu": mtu, "so_rcvbuf_set": size if size is not None else "default", "set_on": mode if size is not None else "neither",
                   "port": port, "client_SO_RCVBUF_before_connect": c_rcvbuf_before, "listener_SO_RCVBUF": l_rcvbuf,
                   "client_after_handshake": side(c), "server_after_handshake": side(srv)}
            c.close(); srv.close(); ls.close()
            runs.append(run); mine.append(run); port += 1
            time.sleep(0.02)
    time.sleep(0.3)
    ts.terminate(); ts.wait(timeout=10)
    F = ["tcp.dstport", "tcp.srcport", "ip.src", "tcp.flags.str", "tcp.window_size_value", "tcp.window_size", "tcp.options.wscale.shift",
         "tcp.options.mss_val", "tcp.len", "frame.time_epoch"]
    cmd = ["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for f in F: cmd += ["-e", f]
    pk = []
    for ln in subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines():
        x = ln.split("\t")
        if len(x) < len(F): continue
        cli = x[2] == "198.18.11.1"
        pk.append({"port": int(x[0] if cli else x[1]), "from": "client" if cli else "server", "flags": x[3].replace("\u00b7", ""),
                   "win_field": int(x[4]), "win": int(x[5]) if x[5] else None, "wscale": int(x[6]) if x[6] else None,
                   "mss": int(x[7]) if x[7] else None, "len": int(x[8] or 0)})
    for run in mine:
        P = [p for p in pk if p["port"] == run["port"]]
        syn = next((p for p in P if p["flags"].endswith("S") and p["from"] == "client" and "A" not in p["flags"]), None)
        sa = next((p for p in P if "S" in p["flags"] and "A" in p["flags"]), None)
        ack = next((p for p in P if p["from"] == "client" and "S" not in p["flags"] and "A" in p["flags"]), None)
        run["SYN"] = syn and {"window": syn["win_field"], "wscale": syn["wscale"], "mss": syn["mss"]}
        run["SYN_ACK"] = sa and {"window": sa["win_field"], "wscale": sa["wscale"], "mss": sa["mss"]}
        run["handshake_ACK"] = ack and {"window_field": ack["win_field"], "window_scaled": ack["win"], "len": ack["len"]}
        if not (syn and sa and ack):
            run["capture_note"] = "handshake not fully captured"
json.dump(runs, open(os.path.join(TMP, "out.json"), "w"))
PY
PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" timeout 100 python3 "$tmp/prog.py" $A $B "$tmp" >&2
sysctls=$(ip netns exec $A sysctl net.ipv4.tcp_rmem net.core.rmem_max net.ipv4.tcp_wmem net.core.wmem_max net.ipv4.tcp_adv_win_scale \
  net.ipv4.tcp_timestamps net.ipv4.tcp_window_scaling net.ipv4.tcp_sack net.ipv4.tcp_moderate_rcvbuf net.core.rmem_default net.core.wmem_default \
  net.ipv4.tcp_congestion_control)
python3 - "$tmp/out.json" "$(uname -r)" "$sysctls" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
sysctl = {l.split(" = ")[0]: l.split(" = ")[1].replace("\t", " ") for l in sys.argv[3].splitlines()}
table = [{"mtu": r["mtu"], "so_rcvbuf": r["so_rcvbuf_set"], "set_on": r["set_on"],
          "syn_win": r["SYN"] and r["SYN"]["window"], "syn_wscale": r["SYN"] and r["SYN"]["wscale"], "syn_mss": r["SYN"] and r["SYN"]["mss"],
          "synack_win": r["SYN_ACK"] and r["SYN_ACK"]["window"], "synack_wscale": r["SYN_ACK"] and r["SYN_ACK"]["wscale"], "synack_mss": r["SYN_ACK"] and r["SYN_ACK"]["mss"],
          "ack_win_field": r["handshake_ACK"] and r["handshake_ACK"]["window_field"], "ack_win_scaled": r["handshake_ACK"] and r["handshake_ACK"]["window_scaled"],
          "client_rcv_wnd": r["client_after_handshake"]["rcv_wnd"], "client_rcv_ssthresh": r["client_after_handshake"]["rcv_ssthresh"],
          "server_rcv_wnd": r["server_after_handshake"]["rcv_wnd"], "server_rcv_ssthresh": r["server_after_handshake"]["rcv_ssthresh"],
          "client_advmss": r["client_after_handshake"]["advmss"], "server_advmss": r["server_after_handshake"]["advmss"],
          "client_snd_mss": r["client_after_handshake"]["snd_mss"], "server_snd_mss": r["server_after_handshake"]["snd_mss"],
          "client_rcvbuf": r["client_after_handshake"]["meminfo_rcvbuf"], "server_rcvbuf": r["server_after_handshake"]["meminfo_rcvbuf"]}
         for r in runs]
doc = {
 "what": "Windows, window scale and MSS Linux announces in SYN / SYN-ACK / handshake ACK, and tcp_info after the handshake, per MTU and SO_RCVBUF",
 "kernel": sys.argv[2],
 "script": "scripts/linux-tcp-syn-window.sh",
 "setup": "two network namespaces (lmsA client 198.18.11.1, lmsB server 198.18.11.2) joined by veth, pfifo root qdisc on A's veth, "
          "MTU set on both veth ends to 1500 then 9000, namespace sysctls default (listed in sysctl)",
 "sysctl": sysctl,
 "method": "One Python process (setns into each namespace) opens a listener on B and a client on A per case; SO_RCVBUF (the value given; the kernel "
           "doubles it, see *_SO_RCVBUF / meminfo_rcvbuf) is set on the listener before listen() (set_on server_only/both) and/or on the client before "
           "connect() (client_only/both); 'default' = neither. After accept() and 50 ms, tcp_info (snd_wscale/rcv_wscale, snd_mss, rcv_mss, advmss, pmtu, "
           "rcv_ssthresh, rcv_space, snd_cwnd, snd_wnd, rcv_wnd) and SO_RCVBUF/SO_SNDBUF/SO_MEMINFO are read on both sockets; no data is sent. "
           "tshark on A's veth records SYN (client) and SYN-ACK (server) raw window field, wscale shift and MSS option, and the client's handshake ACK window "
           "(raw field and tshark's scaled value). SYN/SYN-ACK windows are never scaled (RFC 7323).",
 "table": table,
 "runs": runs,
}
print(json.dumps(doc, indent=1))
PY
