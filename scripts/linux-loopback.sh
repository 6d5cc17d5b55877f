#!/usr/bin/env bash
# Measures Linux's loopback device for tests/Xmit.Tests/Data/linux-truth/loopback.json, in one fresh network namespace
# (lbk) with lo up (127.0.0.1/8) and a veth end va holding 198.18.0.1/24 (its peer vb up, unaddressed): `ip route get`
# for 127.0.0.1, 127.0.0.5 and the host's own 198.18.0.1; lo's MTU, qdisc and features; a UDP datagram to 127.0.0.1 and
# to 198.18.0.1 (SIOCOUTQ and SO_MEMINFO wmem_alloc right after sendto, the receiver's SIOCINQ and rmem_alloc, lo's
# counters); `ping -c N` to both (lo's counters after); TCP over lo: the SYN and SYN-ACK (window, MSS, wscale),
# tcp_info after the handshake, and a 1 MB write both ways with the segment sizes tshark saw on lo and lo's counters.
# Needs root; deletes its namespace on exit. Prints one JSON document.
# Usage: sudo scripts/linux-loopback.sh > tests/Xmit.Tests/Data/linux-truth/loopback.json
set -euo pipefail
NS=lbk
tmp=$(mktemp -d /tmp/linux-loopback.XXXXXX)
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add va type veth peer name vb
ip -n "$NS" addr add 198.18.0.1/24 dev va
ip -n "$NS" link set va up
ip -n "$NS" link set vb up
sleep 0.5
cat > "$tmp/prog.py" <<'PY'
import fcntl, json, os, socket, struct, subprocess, sys, time, threading
NS, TMP = sys.argv[1:3]
from linux_socket import setns, meminfo, tcpinfo, tshark_start
SIOCOUTQ, SIOCINQ = 0x5411, 0x541B
def ioctl_int(s, req):
    return struct.unpack("i", fcntl.ioctl(s.fileno(), req, b"\0" * 4))[0]
def sh(*args):
    return subprocess.run(["ip", "netns", "exec", NS] + list(args), capture_output=True, text=True, check=True).stdout
def lo_stats():
    st = json.loads(sh("ip", "-s", "-j", "link", "show", "lo"))[0]["stats64"]
    return {"rx_packets": st["rx"]["packets"], "rx_bytes": st["rx"]["bytes"], "tx_packets": st["tx"]["packets"], "tx_bytes": st["tx"]["bytes"]}
def delta(before, after):
    return {k: after[k] - before[k] for k in before}
setns(NS)
out = {"what": "Linux's loopback device in a fresh network namespace: routes, orphaned skbs, counters, TCP over lo",
       "kernel": os.uname().release,
       "setup": "one namespace: lo up (127.0.0.1/8), veth va 198.18.0.1/24 up (peer vb up, no address); default sysctls",
       "command": "sudo scripts/linux-loopback.sh"}
link = json.loads(sh("ip", "-d", "-j", "link", "show", "lo"))[0]
out["lo"] = {"mtu": link["mtu"], "qdisc": link.get("qdisc"), "flags": link["flags"], "address": link.get("address"),
             "ifindex": link["ifindex"], "gso_max_size": link.get("gso_max_size"), "tso_max_size": link.get("tso_max_size")}
out["routes_local_table"] = sh("ip", "route", "show", "table", "local").strip().splitlines()
out["routes_main_table"] = sh("ip", "route", "show").strip().splitlines()
out["route_get"] = {d: sh("ip", "-o", "route", "get", d).split("\\")[0].strip().split("    ")[0].strip() for d in ["127.0.0.1", "127.0.0.5", "198.18.0.1"]}
# UDP: one datagram of 100 bytes and one of 1000 to each local address; the sender's memory right after sendto.
udp = []
for dst in ["127.0.0.1", "198.18.0.1"]:
    for size in [100, 1000, 60000]:
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind((dst, 0))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        before = lo_stats()
        n = s.sendto(b"u" * size, r.getsockname())
        outq, m = ioctl_int(s, SIOCOUTQ), meminfo(s)
        time.sleep(0.05)
        rm = meminfo(r)
        data, src = r.recvfrom(65536)
        udp.append({"dst": dst, "payload": size, "sent": n, "sender_SIOCOUTQ_after_sendto": outq, "sender_wmem_alloc_after_sendto": m["wmem_alloc"],
                    "receiver_SIOCINQ": len(data), "receiver_rmem_alloc": rm["rmem_alloc"], "source_seen": src[0],
                    "sender_local_address": s.getsockname()[0], "lo": delta(before, lo_stats())})
        s.close(); r.close()
out["udp"] = udp
# ping: N echo requests, lo's counters after.
pings = []
for dst in ["127.0.0.1", "198.18.0.1"]:
    for n in [1, 10]:
        before = lo_stats()
        subprocess.run(["ping", "-q", "-c", str(n), "-i", "0.01", dst], capture_output=True, check=True)
        time.sleep(0.05)
        pings.append({"dst": dst, "count": n, "payload": 56, "lo": delta(before, lo_stats())})
out["ping"] = pings
# TCP: handshake, tcp_info, then 1 MB each way; segment sizes on lo.
def bulk(dst, port, size):
    pcap = os.path.join(TMP, "tcp-%d.pcap" % port)
    ts = tshark_start(NS, "lo", pcap, "tcp port %d" % port, snaplen=128)
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); ls.bind((dst, port)); ls.listen(1)
    before = lo_stats()
    c = socket.create_connection((dst, port)); srv, _ = ls.accept()
    time.sleep(0.05)
    hs = {"client": {k: tcpinfo(c)[k] for k in ["snd_mss", "rcv_mss", "advmss", "pmtu", "snd_wscale", "rcv_wscale", "rcv_ssthresh", "rcv_space", "snd_cwnd", "snd_wnd", "rcv_wnd"]},
          "server": {k: tcpinfo(srv)[k] for k in ["snd_mss", "rcv_mss", "advmss", "pmtu", "snd_wscale", "rcv_wscale", "rcv_ssthresh", "rcv_space", "snd_cwnd", "snd_wnd", "rcv_wnd"]},
          "client_local_address": c.getsockname()[0]}
    got = {}
    def reader(sock, key):
        n = 0
        while n < size:
            b = sock.recv(1 << 20)
            if not b: break
            n += len(b)
        got[key] = n
    for a, b, key in [(c, srv, "client_to_server"), (srv, c, "server_to_client")]:
        t = threading.Thread(target=reader, args=(b, key)); t.start()
        a.sendall(b"t" * size); t.join()
    cm = meminfo(c); sm = meminfo(srv)
    c.close(); srv.close(); ls.close()
    time.sleep(0.3)
    counters = delta(before, lo_stats())
    ts.terminate(); ts.wait(timeout=10)
    F = ["tcp.srcport", "tcp.flags.str", "tcp.window_size_value", "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.len", "ip.len"]
    cmd = ["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for f in F: cmd += ["-e", f]
    rows = [l.split("\t") for l in subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()]
    syn = [r for r in rows if "S" in r[1]]
    lens = {}
    for r in rows:
        if r[5] and int(r[5]) > 0:
            d = "client_to_server" if int(r[0]) != port else "server_to_client"
            lens.setdefault(d, {}).setdefault(r[5], 0); lens[d][r[5]] += 1
    return {"dst": dst, "bytes_each_way": size, "received": got, "handshake": hs,
            "syn": {"window": int(syn[0][2]), "mss": int(syn[0][3]), "wscale": int(syn[0][4])},
            "synack": {"window": int(syn[1][2]), "mss": int(syn[1][3]), "wscale": int(syn[1][4])},
            "packets_captured": len(rows), "max_ip_len": max(int(r[6]) for r in rows),
            "data_segment_lengths": lens, "lo": counters,
            "after_transfer": {"client_wmem_alloc": cm["wmem_alloc"], "server_wmem_alloc": sm["wmem_alloc"]}}
out["tcp"] = [bulk("127.0.0.1", 7001, 1 << 20), bulk("198.18.0.1", 7002, 1 << 20)]
json.dump(out, sys.stdout, indent=2); print()
PY
PYTHONPATH="$(dirname "$0")/lib" python3 "$tmp/prog.py" "$NS" "$tmp"
