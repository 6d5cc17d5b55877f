using Xmit.Buffers;

namespace Xmit.Link.Drivers;

/// <summary>
/// A NIC's RX descriptor ring and its NAPI context. The driver posts empty buffers (all of them when the device
/// opens); the hardware fills the next posted one with each arriving frame, or — none posted — misses the frame
/// (rx_missed_errors). The poll takes filled descriptors in order, hands their frames up, and at its end posts
/// fresh buffers for the ones it used (the refill).
/// </summary>
/// <remarks>Linux: drivers/net/virtio_net.c virtnet_poll(), virtnet_receive(), try_fill_recv(); drivers/net/ethernet/intel/e1000e/netdev.c e1000_clean_rx_irq(), e1000_alloc_rx_buffers()</remarks>
internal sealed class RxRing : Napi
{
    private readonly RingDriver _driver;
    private readonly Queue<SkBuff> _filled = new();
    private SkBuff? _inHand;
    private int _used; // taken by polls, not refilled yet

    public RxRing(RingDriver driver, int size, int weight)
    {
        _driver = driver;
        Size = size;
        Posted = size;
        Weight = weight;
    }

    public int Size { get; }

    /// <summary>Empty buffers the hardware may fill.</summary>
    public int Posted { get; private set; }

    /// <summary>Descriptors filled by the hardware, waiting for a poll.</summary>
    public int Filled => _filled.Count;

    /// <summary>A frame being processed by the softirq (taken off the ring, not yet up the stack).</summary>
    public bool Holding => _inHand is not null;

    /// <summary>The hardware's DMA into the next posted buffer; false when none was posted (the frame is missed).</summary>
    public bool Fill(SkBuff skb)
    {
        if (Posted == 0) return false;
        Posted--;
        _filled.Enqueue(skb);
        return true;
    }

    protected internal override bool Take()
    {
        if (!_filled.TryDequeue(out var skb)) return false;
        _used++;
        _inHand = skb;
        return true;
    }

    protected internal override void HandUp()
    {
        var skb = _inHand!;
        _inHand = null;
        _driver.HandUp(skb);
    }

    protected internal override void DropTaken()
    {
        _inHand?.Free(SkbDropReason.DevReady);
        _inHand = null;
    }

    protected internal override void PollDone(int work, bool complete)
    {
        Refill();
        if (complete) _driver.NapiCompleted();
    }

    /// <summary>Posts a fresh buffer for every descriptor the polls used.</summary>
    public void Refill()
    {
        Posted += _used;
        _used = 0;
    }

    /// <summary>Frees every filled descriptor (the device goes down).</summary>
    public void Purge()
    {
        while (_filled.TryDequeue(out var skb))
        {
            skb.Free(SkbDropReason.DevReady);
            _used++;
        }
        DropTaken();
        Refill();
    }
}
