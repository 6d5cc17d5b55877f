"""Helpers the Linux measurement scripts share (imported by their Python parts; PYTHONPATH=scripts/lib):
entering a network namespace, reading SO_MEMINFO and TCP_INFO, and starting a tshark capture that has
really begun before the first packet is sent."""
import ctypes, ctypes.util, os, select, signal, socket, struct, subprocess, time

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
SO_MEMINFO = 55


def setns(name):
    """Moves the calling thread into network namespace `name` (sockets opened afterwards live there)."""
    fd = os.open("/var/run/netns/" + name, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns " + name)
    os.close(fd)


MEMF = ["rmem_alloc", "rcvbuf", "wmem_alloc", "sndbuf", "fwd_alloc", "wmem_queued", "optmem", "backlog", "drops"]


def meminfo(s):
    return dict(zip(MEMF, struct.unpack("9I", s.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 36))))


U32 = ["rto", "ato", "snd_mss", "rcv_mss", "unacked", "sacked", "lost", "retrans", "fackets", "last_data_sent",
       "last_ack_sent", "last_data_recv", "last_ack_recv", "pmtu", "rcv_ssthresh", "rtt", "rttvar", "snd_ssthresh",
       "snd_cwnd", "advmss", "reordering", "rcv_rtt", "rcv_space", "total_retrans"]


def tcpinfo(s):
    """struct tcp_info as a dict (field offsets of include/uapi/linux/tcp.h); `_len` is the length the kernel filled."""
    b = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 512)
    d = dict(zip(["state", "ca_state", "retransmits", "probes", "backoff", "options"], b[0:6]))
    d["snd_wscale"], d["rcv_wscale"] = b[6] & 15, b[6] >> 4
    d.update(zip(U32, struct.unpack_from("<24I", b, 8)))
    d.update(zip(["pacing_rate", "max_pacing_rate", "bytes_acked", "bytes_received"], struct.unpack_from("<4Q", b, 104)))
    d.update(zip(["segs_out", "segs_in", "notsent_bytes", "min_rtt", "data_segs_in", "data_segs_out"], struct.unpack_from("<6I", b, 136)))
    d.update(zip(["delivery_rate", "busy_time", "rwnd_limited", "sndbuf_limited"], struct.unpack_from("<4Q", b, 160)))
    if len(b) >= 232:
        d["snd_wnd"] = struct.unpack_from("<I", b, 228)[0]
    if len(b) >= 236:
        d["rcv_wnd"] = struct.unpack_from("<I", b, 232)[0]
    d["_len"] = len(b)
    return d


def pdeath():
    """preexec_fn for helpers: they get SIGTERM when this process dies, so a killed script leaves no tshark behind."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def tshark_start(ns, dev, pcap, capture_filter, snaplen, buffer_mib=None):
    """Starts tshark in namespace `ns` on `dev` and returns once it reports capturing (at most 10 s)."""
    args = ["ip", "netns", "exec", ns, "tshark", "-i", dev, "-s", str(snaplen)]
    if buffer_mib is not None:
        args += ["-B", str(buffer_mib)]
    ts = subprocess.Popen(args + ["-w", pcap, "-f", capture_filter],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=pdeath)
    t0, buf = time.time(), b""
    while b"Capturing on" not in buf and time.time() - t0 < 10:
        r, _, _ = select.select([ts.stderr], [], [], 0.5)
        if r:
            buf += os.read(ts.stderr.fileno(), 4096)
    time.sleep(0.3)
    return ts


def connected_pair(ns_a, ns_b, address, port, rcvbuf=None, nodelay=False):
    """A TCP connection from namespace ns_a to a listener on address:port in ns_b: (client, accepted). rcvbuf sets
    SO_RCVBUF on the listener (the accepted socket inherits it), nodelay TCP_NODELAY on the client."""
    setns(ns_b)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    ls.bind((address, port))
    ls.listen(1)
    setns(ns_a)
    a = socket.socket()
    if nodelay:
        a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    a.connect((address, port))
    b, _ = ls.accept()
    ls.close()
    return a, b
