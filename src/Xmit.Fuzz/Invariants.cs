using Xmit.Hosting;
using Xmit.Sockets;
using Xmit.Transport.Tcp;

namespace Xmit.Fuzz;

/// <summary>
/// What must hold on a host at any moment, whatever it was sent or asked: no memory charge below zero, none
/// runaway (receive memory within twice the largest buffer the socket could have had — a buffer shrunk by
/// SO_RCVBUF keeps what it already holds, as on Linux), reassembly within ipfrag_high_thresh, the neighbour
/// table within gc_thresh3, and a bounded number of skbs in flight.
/// </summary>
public static class Invariants
{
    public static void Check(Host host, FuzzReport report, int maxSkbs)
    {
        var s = host.Sysctls;
        foreach (var sk in host.Tcp.Sockets) CheckSocket(sk, Math.Max(sk.RcvBuf, s.TcpRmem.Max), Math.Max(sk.SndBuf, s.TcpWmem.Max), report);
        foreach (var sk in host.Udp.Sockets) CheckSocket(sk, Math.Max(sk.RcvBuf, 2 * s.RmemMax), Math.Max(sk.SndBuf, 2 * s.WmemMax), report);
        if (host.Reassembler.Memory < 0 || host.Reassembler.Memory > host.Reassembler.HighThreshold + 65536)
            report.Violation($"{host}: reassembly memory {host.Reassembler.Memory} outside 0…ipfrag_high_thresh {host.Reassembler.HighThreshold}");
        if (host.Neighbours.Count > host.Neighbours.Params.GcThresh3)
            report.Violation($"{host}: {host.Neighbours.Count} neighbour entries, over gc_thresh3 {host.Neighbours.Params.GcThresh3}");
        if (host.Pool.Outstanding > maxSkbs) report.Violation($"{host.Pool.Outstanding} skbs outstanding");
    }

    private static void CheckSocket(Sock sk, long maxRcvBuf, long maxSndBuf, FuzzReport report)
    {
        if (sk.WmemAlloc < 0 || sk.RmemAlloc < 0) report.Violation($"negative charge on {sk}: wmem {sk.WmemAlloc} rmem {sk.RmemAlloc}");
        if (sk.RmemAlloc > 2 * maxRcvBuf + 65536) report.Violation($"rmem {sk.RmemAlloc} of {sk} far over rcvbuf {sk.RcvBuf}");
        if (sk.WmemAlloc > 4 * maxSndBuf + 262144) report.Violation($"wmem {sk.WmemAlloc} of {sk} far over sndbuf {sk.SndBuf}");
        if (sk is TcpSock { WmemQueued: < 0 } t) report.Violation($"negative sk_wmem_queued {t.WmemQueued} on {sk}");
    }
}
