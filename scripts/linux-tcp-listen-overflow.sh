#!/usr/bin/env bash
# Measures how Linux's listener bounds its queues (tests/Xmit.Tests/Data/linux-truth/tcp-listen-overflow.json):
#  - accept_overflow: a listener with backlog 128 that does not accept; 300 clients connect one after the other as
#    fast as a loop of non-blocking connect() calls goes (on a veth each handshake completes within its connect()
#    call: the softirq runs the SYN, SYN-ACK and ACK before the call returns). After 0.5 s (before any SYN is resent): the
#    TcpExt counters (ListenOverflows, ListenDrops, SyncookiesSent/Recv/Failed, TCPReqQFullDoCookies/Drop), the
#    accept queue (ss -ltn Recv-Q) and the SYN queue (ss state syn-recv). Then every client writes 100 bytes and the
#    server accepts and reads until all 300 are in (at most 60 s): how many, how many bytes, the counters again.
#  - syn_flood: 1000 SYNs with Linux's options from spoofed sources (198.19.0.0/16, routed back via A where they
#    die) to a listener with backlog 128 on a path without delay; then a real client connects and moves 20,000
#    bytes. The counters, the SYN queue and the accept queue.
# Two network namespaces (lloA client, lloB server) joined by veth (198.18.12.0/24), default sysctls.
# Needs root; deletes its namespaces on exit. Prints one JSON document.
# Usage: sudo scripts/linux-tcp-listen-overflow.sh > tests/Xmit.Tests/Data/linux-truth/tcp-listen-overflow.json
set -euo pipefail
A=lloA B=lloB
tmp=$(mktemp -d /tmp/linux-tcp-listen-overflow.XXXXXX)
NET=198.18.12
source "$(dirname "$0")/lib/veth-pair.sh"
ip -n $B route add 198.19.0.0/16 via $NET.1
sleep 0.5
cat > "$tmp/prog.py" <<'PY'
import json, os, select, socket, struct, subprocess, sys, time
NSA, NSB = sys.argv[1:3]
from linux_socket import setns

SERVER = "198.18.12.2"
COUNTERS = ["ListenOverflows", "ListenDrops", "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed",
            "TCPReqQFullDoCookies", "TCPReqQFullDrop", "EmbryonicRsts", "TCPSynRetrans"]

def counters(ns):
    """TcpExt (/proc/net/netstat) and Tcp (/proc/net/snmp) counters of namespace ns."""
    out = {}
    for path, prefix in (("/proc/net/netstat", "TcpExt:"), ("/proc/net/snmp", "Tcp:")):
        lines = [l.split() for l in subprocess.run(["ip", "netns", "exec", ns, "cat", path], capture_output=True, text=True, check=True).stdout.splitlines() if l.startswith(prefix)]
        out.update({k: int(v) for k, v in zip(lines[0][1:], lines[1][1:]) if not v.startswith("-") or v[1:].isdigit()})
    return out

def delta(before, after):
    keys = COUNTERS + ["PassiveOpens", "RetransSegs"]
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys}

def queues(ns, port):
    """The accept queue (Recv-Q of the listener in ss -ltn) and the number of request sockets (state syn-recv)."""
    ss = subprocess.run(["ip", "netns", "exec", ns, "ss", "-ltnH", "sport", "= :%d" % port], capture_output=True, text=True, check=True).stdout.split()
    syn = subprocess.run(["ip", "netns", "exec", ns, "ss", "-tnH", "state", "syn-recv", "sport", "= :%d" % port], capture_output=True, text=True, check=True).stdout
    return {"accept_queue": int(ss[1]), "backlog": int(ss[2]), "syn_queue": len(syn.splitlines())}

def listener(port, backlog):
    setns(NSB)
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((SERVER, port)); ls.listen(backlog); ls.setblocking(False)
    return ls

def accept_overflow(port, clients, backlog):
    ls = listener(port, backlog)
    before = counters(NSB)
    setns(NSA)
    cs = []
    t0 = time.time()
    for _ in range(clients):
        c = socket.socket(); c.setblocking(False)
        try:
            c.connect((SERVER, port))
        except BlockingIOError:
            pass
        cs.append(c)
    loop_ms = (time.time() - t0) * 1000
    time.sleep(0.5)
    first = {"counters": delta(before, counters(NSB)), **queues(NSB, port), "connect_loop_ms": round(loop_ms, 1),
             "clients_connected": sum(1 for c in cs if c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 and select.select([], [c], [], 0)[1])}
    # Each client writes its 100 bytes as soon as it is connected (those whose SYN was dropped connect later).
    unsent, accepted, got, t1 = set(cs), [], 0, time.time()
    while (len(accepted) < clients or got < clients * 100) and time.time() - t1 < 60:
        setns(NSA)
        _, w, _ = select.select([], list(unsent), [], 0)
        for c in w:
            c.send(b"x" * 100); unsent.discard(c)
        r, _, _ = select.select([ls] + accepted, [], [], 0.05)
        for s in r:
            if s is ls:
                while True:
                    try:
                        a, _ = ls.accept(); a.setblocking(False); accepted.append(a)
                    except BlockingIOError:
                        break
            else:
                got += len(s.recv(65536))
    done = {"accepted": len(accepted), "bytes": got, "seconds": round(time.time() - t1, 2), "counters": delta(before, counters(NSB))}
    for s in accepted + cs + [ls]:
        s.close()
    return {"clients": clients, "listen_backlog": backlog, "after_connects": first, "after_accepting": done}

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def syn(src, sport, dst, dport, seq):
    """A SYN with Linux's option layout: MSS 1460, SACK-permitted + timestamp, NOP + window scale 7."""
    opts = struct.pack("!BBH", 2, 4, 1460) + struct.pack("!BBBBII", 4, 2, 8, 10, 1000, 0) + struct.pack("!BBBB", 1, 3, 3, 7)
    th = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (5 + len(opts) // 4) << 4, 0x02, 64240, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(th))
    th = th[:16] + struct.pack("!H", csum(pseudo + th)) + th[18:]
    ih = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th), 0, 0x4000, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ih = ih[:10] + struct.pack("!H", csum(ih)) + ih[12:]
    return ih + th

def syn_flood(port, syns, backlog):
    ls = listener(port, backlog)
    before = counters(NSB)
    setns(NSA)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i in range(syns):
        src = "198.19.%d.%d" % ((i >> 8) & 255, i & 255)
        raw.sendto(syn(src, 10000 + (i >> 16), SERVER, port, (i * 7919) & 0xffffffff), (SERVER, 0))
        if i % 100 == 99:
            time.sleep(0.001)
    raw.close()
    time.sleep(0.5)
    flood = {"counters": delta(before, counters(NSB)), **queues(NSB, port)}
    c = socket.socket()
    c.settimeout(10)
    c.connect((SERVER, port))
    c.sendall(bytes(i * 31 & 255 for i in range(20000)))
    setns(NSB)
    ls.setblocking(True); ls.settimeout(10)
    a, _ = ls.accept()
    a.settimeout(5)
    got = b""
    while len(got) < 20000:
        chunk = a.recv(65536)
        if not chunk:
            break
        got += chunk
    client = {"connected": True, "bytes": len(got), "intact": got == bytes(i * 31 & 255 for i in range(20000)),
              "counters": delta(before, counters(NSB)), **queues(NSB, port)}
    a.close(); c.close(); ls.close()
    return {"syns": syns, "listen_backlog": backlog, "after_flood": flood, "after_real_client": client}

sysctls = {k: subprocess.run(["ip", "netns", "exec", NSB, "sysctl", "-n", k], capture_output=True, text=True, check=True).stdout.strip()
           for k in ["net.ipv4.tcp_syncookies", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_synack_retries", "net.core.somaxconn", "net.ipv4.tcp_abort_on_overflow"]}
print(json.dumps({"kernel": os.uname().release, "sysctl": sysctls,
                  "accept_overflow": accept_overflow(7000, 300, 128),
                  "syn_flood": syn_flood(7001, 1000, 128)}, indent=1))
PY
PYTHONPATH="$(dirname "$0")/lib" python3 "$tmp/prog.py" $A $B
