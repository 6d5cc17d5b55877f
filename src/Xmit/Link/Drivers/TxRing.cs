using Xmit.Buffers;

namespace Xmit.Link.Drivers;

/// <summary>
/// A TX descriptor ring: the driver fills at <c>next_to_use</c>, the hardware sends from <c>next_to_send</c>,
/// and completion cleans from <c>next_to_clean</c>. A packet takes one descriptor per buffer (head and each
/// fragment); its skb is kept at its first descriptor until cleaned.
/// </summary>
/// <remarks>Linux: drivers/net/ethernet/intel/igb/igb_main.c igb_tx_map(), igb_clean_tx_irq() (the common shape)</remarks>
internal sealed class TxRing
{
    private readonly SkBuff?[] _skbs;
    private readonly int[] _descs;
    private readonly int[] _frames;
    private int _nextToUse;
    private int _nextToSend;
    private int _nextToClean;

    public TxRing(int size)
    {
        _skbs = new SkBuff?[size];
        _descs = new int[size];
        _frames = new int[size];
    }

    public int Size => _skbs.Length;
    public int Used { get; private set; }
    public int Free => Size - Used;

    /// <summary>Descriptors handed to the hardware but not yet sent.</summary>
    public int Unsent { get; private set; }

    /// <summary>Descriptors sent but not yet cleaned.</summary>
    public int Uncleaned { get; private set; }

    /// <summary>Bytes of the packets on the ring (sent or not, until cleaned).</summary>
    public long Bytes { get; private set; }

    public int PacketsOnRing { get; private set; }

    /// <summary>The frames of those packets on the wire: a TSO skb is as many as it has segments (SkbGso.Frames).</summary>
    public long FramesOnRing { get; private set; }
    public long FramesAwaitingCompletion { get; private set; }

    /// <summary>Packets the hardware has sent whose completion has not been processed yet.</summary>
    public int PacketsAwaitingCompletion { get; private set; }

    /// <summary>Descriptors a packet needs: its head and every page fragment, frag-list members included.</summary>
    public static int DescriptorsFor(SkBuff skb)
    {
        int n = 1 + skb.NrFrags;
        for (var f = skb.FragList; f is not null; f = f.NextInChain) n += 1 + f.NrFrags;
        return n;
    }

    /// <summary>Descriptors filled since the last doorbell: the hardware does not know of them yet.</summary>
    public int Unnotified { get; private set; }

    /// <summary>Packets among <see cref="Unnotified"/>, and their bytes.</summary>
    public int PacketsUnnotified { get; private set; }
    public long BytesUnnotified { get; private set; }

    /// <summary>Fills the descriptors at next_to_use; they become the hardware's only at <see cref="Notify"/>.</summary>
    public void Post(SkBuff skb, int descs)
    {
        _skbs[_nextToUse] = skb;
        _descs[_nextToUse] = descs;
        _frames[_nextToUse] = SkbGso.Frames(skb);
        FramesOnRing += _frames[_nextToUse];
        _nextToUse = (_nextToUse + descs) % Size;
        Used += descs;
        Unnotified += descs;
        PacketsUnnotified++;
        BytesUnnotified += skb.Len;
        Bytes += skb.Len;
        PacketsOnRing++;
    }

    /// <summary>The doorbell: the tail register moves to next_to_use and the hardware may send what was posted.</summary>
    public void Notify()
    {
        Unsent += Unnotified;
        Unnotified = 0;
        PacketsUnnotified = 0;
        BytesUnnotified = 0;
    }

    public SkBuff? PeekUnsent() => Unsent > 0 ? _skbs[_nextToSend] : null;

    public void MarkSent()
    {
        int d = _descs[_nextToSend];
        FramesAwaitingCompletion += _frames[_nextToSend];
        _nextToSend = (_nextToSend + d) % Size;
        Unsent -= d;
        Uncleaned += d;
        PacketsAwaitingCompletion++;
    }

    public SkBuff? TakeCleaned()
    {
        if (Uncleaned == 0) return null;
        var skb = _skbs[_nextToClean]!;
        int d = _descs[_nextToClean];
        FramesOnRing -= _frames[_nextToClean];
        FramesAwaitingCompletion -= _frames[_nextToClean];
        _skbs[_nextToClean] = null;
        _nextToClean = (_nextToClean + d) % Size;
        Uncleaned -= d;
        Used -= d;
        Bytes -= skb.Len;
        PacketsOnRing--;
        PacketsAwaitingCompletion--;
        return skb;
    }
}
