using Xmit.Buffers;

namespace Xmit.Transport.Tcp;

/// <summary>Which of a socket's buffers refused a charge (sock_exceed_buf_limit's kind).</summary>
/// <remarks>Linux: include/net/sock.h SK_MEM_SEND, SK_MEM_RECV</remarks>
public enum SkMemKind { Send = 0, Recv = 1 }

/// <summary>
/// TCP's tracepoints — sock:inet_sock_set_state, tcp:tcp_probe, tcp:tcp_retransmit_skb, sock:sock_exceed_buf_limit —
/// as a hook a host sets on its <see cref="TcpProtocol"/> (<see cref="TcpProtocol.Trace"/>). Unset, each point costs
/// one null test.
/// </summary>
/// <remarks>Linux: include/trace/events/sock.h, include/trace/events/tcp.h</remarks>
public interface ITcpTracepoints
{
    /// <summary>inet_sock_set_state: <paramref name="sk"/> moves from <paramref name="oldState"/> to <paramref name="newState"/>.</summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_set_state(), net/ipv4/af_inet.c inet_sk_set_state()</remarks>
    void InetSockSetState(TcpSock sk, TcpState oldState, TcpState newState);

    /// <summary>tcp_probe: a segment of <paramref name="dataLength"/> payload bytes arrives on an established socket, before it is processed.</summary>
    /// <remarks>Linux: net/ipv4/tcp_input.c tcp_rcv_established() trace_tcp_probe()</remarks>
    void TcpProbe(TcpSock sk, SkBuff skb, int dataLength);

    /// <summary>tcp_retransmit_skb: <paramref name="skb"/> (still on the write queue) was sent again.</summary>
    /// <remarks>Linux: net/ipv4/tcp_output.c __tcp_retransmit_skb()</remarks>
    void TcpRetransmitSkb(TcpSock sk, SkBuff skb);

    /// <summary>
    /// sock_exceed_buf_limit: the socket's <paramref name="kind"/> buffer refused a charge. Linux fires it when
    /// __sk_mem_raise_allocated() refuses against tcp_mem; Xmit has no protocol-wide memory pool, so it fires where
    /// the socket's own limit refuses: tcp_sendmsg finding sk_stream_memory_free() false (wait_for_space), and
    /// tcp_try_rmem_schedule() giving up on an incoming segment (dropped with PROTO_MEM).
    /// </summary>
    /// <remarks>Linux: net/core/sock.c __sk_mem_raise_allocated() trace_sock_exceed_buf_limit()</remarks>
    void SockExceedBufLimit(TcpSock sk, SkMemKind kind);
}
