using Xmit.Buffers;

namespace Xmit.Link;

/// <summary>
/// The receiving side of a device that hands the sender's skb itself to the stack (veth, loopback) rather than a
/// frame DMA'd into a fresh receive buffer: Xmit copies the bytes into a receive skb (the sender's clone may still
/// share its data with the retransmit queue) but gives it what the sender's skb carried — truesize, GSO size and
/// type, the verified checksum of a CHECKSUM_PARTIAL skb, and the page-fragment shape tcp_sendmsg built.
/// </summary>
/// <remarks>Linux: net/core/dev.c __dev_forward_skb(), __netif_rx(); drivers/net/veth.c veth_xmit(); drivers/net/loopback.c loopback_xmit()</remarks>
public static class SkbForward
{
    /// <summary>SKB_FRAG_PAGE_ORDER 3: the page-fragment pages tcp_sendmsg copies into.</summary>
    private const int SenderPageFragSize = 32768;

    /// <summary>A receive skb from <paramref name="pool"/> holding <paramref name="frame"/>'s bytes and the shape the sender gave it.</summary>
    public static SkBuff CopyForReceive(SkBuff frame, SkBuffPool pool)
    {
        var copy = pool.AllocNetdev(frame.Len);
        frame.CopyBits(0, copy.Put(frame.Len));
        copy.Truesize = frame.Truesize;
        copy.GsoSize = frame.GsoSize;
        copy.GsoType = frame.GsoType;
        // A CHECKSUM_PARTIAL skb that never left the machine needs no verification (skb_csum_unnecessary).
        if (frame.IpSummed == ChecksumState.Partial) copy.IpSummed = ChecksumState.Unnecessary;
        SetSenderShape(frame, copy);
        return copy;
    }

    /// <summary>
    /// A forwarded TCP skb keeps the shape tcp_sendmsg gave it, which is what coalescing at the receiver sees: a
    /// kmalloc'd head holding the headers and the data in page fragments, one per 32 KiB page the data crossed
    /// (sk_page_frag), each charged what it holds. Other skbs keep their data in the head.
    /// </summary>
    /// <remarks>Linux: net/ipv4/tcp.c tcp_sendmsg_locked() (skb_copy_to_page_nocache into sk_page_frag)</remarks>
    private static void SetSenderShape(SkBuff frame, SkBuff copy)
    {
        copy.Cb.RxHeadFrag = false;
        copy.Cb.RxHeadTruesize = copy.Truesize;
        var bytes = copy.Data;
        if (bytes.Length < Wire.EthernetFrame.HeaderLength + 20 || bytes[12] != 0x08 || bytes[13] != 0x00) return;
        int ihl = (bytes[Wire.EthernetFrame.HeaderLength] & 0xF) * 4;
        int tcp = Wire.EthernetFrame.HeaderLength + ihl;
        if (bytes[Wire.EthernetFrame.HeaderLength + 9] != 6 || bytes.Length < tcp + 20) return;
        int payload = bytes.Length - tcp - (bytes[tcp + 12] >> 4) * 4;
        if (payload <= 0) return;
        // One fragment per page the data crosses, counted from where it starts in the first page.
        copy.Cb.RxFrags = (frame.Cb.TxPageOffset + payload + SenderPageFragSize - 1) / SenderPageFragSize;
        copy.Cb.RxHeadTruesize = frame.Truesize - payload;
    }
}
