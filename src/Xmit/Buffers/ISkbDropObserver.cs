namespace Xmit.Buffers;

/// <summary>
/// What a pool tells of each dropped skb (kfree_skb with a reason): the tracepoint skb:kfree_skb. The skb is still
/// whole when told; the observer must not keep it.
/// </summary>
/// <remarks>Linux: include/trace/events/skb.h kfree_skb; net/core/skbuff.c sk_skb_reason_drop()</remarks>
public interface ISkbDropObserver
{
    /// <param name="skb">the skb being dropped (still whole).</param>
    /// <param name="reason">why.</param>
    /// <param name="callerFile">the source file of the code that freed it (compile-time constant).</param>
    /// <param name="callerMember">the member that freed it (compile-time constant).</param>
    void OnDrop(SkBuff skb, SkbDropReason reason, string callerFile, string callerMember);
}
