using Xmit.Wire;

namespace Xmit.Transport.Tcp;

/// <summary>
/// What a cwnd reduction needs to be taken back when it proves unnecessary: where the episode began
/// (undo_marker, snd_una then), how many of its retransmissions the peer has not yet reported as duplicates
/// (undo_retrans: −1 none were sent, 0 all were D-SACKed), ssthresh before the reduction (prior_ssthresh, 0 when
/// the reduction may not be undone — ECN proved congestion), and whether F-RTO is testing the last RTO (frto).
/// prior_cwnd stays on <see cref="TcpSock"/> (PRR uses it too), as does retrans_stamp.
/// </summary>
/// <remarks>Linux: include/linux/tcp.h struct tcp_sock undo_marker, undo_retrans, prior_ssthresh, frto</remarks>
public sealed class UndoState
{
    /// <summary>undo_marker: snd_una when the episode began; null when there is nothing to undo.</summary>
    internal TcpSeq? Marker;
    /// <summary>undo_retrans: retransmissions of the episode not yet D-SACKed (−1: none sent).</summary>
    internal int Retrans = -1;
    /// <summary>prior_ssthresh: ssthresh to restore (0: the reduction stays).</summary>
    internal uint PriorSsthresh;
    /// <summary>tp->frto: F-RTO (RFC 5682) is checking whether the last retransmission timeout was spurious.</summary>
    internal bool Frto;
}
