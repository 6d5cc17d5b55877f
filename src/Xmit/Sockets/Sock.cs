using Xmit.Buffers;

namespace Xmit.Sockets;

/// <summary>
/// What every socket has for memory accounting: send and receive buffer sizes, the bytes charged for
/// skbs in flight (sk_wmem_alloc) and queued for reading (sk_rmem_alloc), and the write-space callback
/// that wakes writers. Skbs are charged with their truesize and give it back in their destructor.
/// </summary>
/// <remarks>Linux: include/net/sock.h struct sock; net/core/sock.c skb_set_owner_w(), sock_wfree(), sock_rfree(), sock_def_write_space()</remarks>
public abstract class Sock : ISkbOwner
{
    /// <summary>SOCK_MIN_SNDBUF: 2 × (2048 + SKB_DATA_ALIGN(sizeof(struct sk_buff))) on x86_64.</summary>
    public const int MinSndBuf = 4608;

    /// <summary>SOCK_MIN_RCVBUF.</summary>
    public const int MinRcvBuf = 2304;

    private readonly WFreeDestructor _wfree;
    private readonly RFreeDestructor _rfree;

    protected Sock(int sndBuf, int rcvBuf)
    {
        SndBuf = sndBuf;
        RcvBuf = rcvBuf;
        _wfree = new WFreeDestructor(this);
        _rfree = new RFreeDestructor(this);
    }

    public int SndBuf { get; set; }
    public int RcvBuf { get; set; }

    /// <summary>sk_wmem_alloc without its +1 reference: truesize of this socket's skbs not yet freed.</summary>
    public long WmemAlloc { get; private set; }

    /// <summary>sk_rmem_alloc: truesize of skbs waiting to be read.</summary>
    public long RmemAlloc { get; private set; }

    /// <summary>Highest <see cref="WmemAlloc"/> seen.</summary>
    public long WmemHighWater { get; private set; }

    /// <summary>
    /// sock_writeable(): Linux compares the raw sk_wmem_alloc refcount, which holds one extra reference, with
    /// half the send buffer; strictly less.
    /// </summary>
    public bool IsWriteable => WmemAlloc + 1 < (SndBuf >> 1);

    /// <summary>Raised from the destructor when memory came back and the socket is writeable (sk_write_space).</summary>
    public event Action<Sock>? WriteSpace;

    public void SetOwnerW(SkBuff skb)
    {
        skb.Sk = this;
        skb.Destructor = _wfree;
        WmemAlloc += skb.Truesize;
        if (WmemAlloc > WmemHighWater) WmemHighWater = WmemAlloc;
    }

    /// <summary>skb_set_owner_r(): charge a received skb to the receive buffer.</summary>
    public void SetOwnerR(SkBuff skb)
    {
        skb.Sk = this;
        skb.Destructor = _rfree;
        RmemAlloc += skb.Truesize;
    }

    /// <summary>Charges bytes appended to an skb this socket already owns (ip_append_data's paged copy: skb->truesize += copy).</summary>
    public void ChargeWrite(int bytes)
    {
        WmemAlloc += bytes;
        if (WmemAlloc > WmemHighWater) WmemHighWater = WmemAlloc;
    }

    /// <summary>sock_def_write_space(): wake writers once the socket is writeable.</summary>
    protected virtual void OnWriteSpace()
    {
        if (IsWriteable) WriteSpace?.Invoke(this);
    }

    private sealed class WFreeDestructor(Sock sk) : ISkbDestructor
    {
        public void Destruct(SkBuff skb)
        {
            sk.WmemAlloc -= skb.Truesize;
            if (sk.WmemAlloc < 0) ThrowHelper.Bug("sk_wmem_alloc went negative");
            sk.OnWriteSpace();
        }
    }

    private sealed class RFreeDestructor(Sock sk) : ISkbDestructor
    {
        public void Destruct(SkBuff skb)
        {
            sk.RmemAlloc -= skb.Truesize;
            if (sk.RmemAlloc < 0) ThrowHelper.Bug("sk_rmem_alloc went negative");
        }
    }
}
