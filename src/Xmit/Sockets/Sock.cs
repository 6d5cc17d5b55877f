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

    /// <summary>SK_WMEM_MAX (<see cref="Configuration.Sysctls.SkMemMax"/>): the cap of SO_SNDBUF / SO_RCVBUF when no wmem_max / rmem_max is given.</summary>
    public const int DefaultBufferMax = Configuration.Sysctls.SkMemMax;

    /// <summary>setsockopt(SO_SNDBUF, v): capped at wmem_max, doubled for overhead, at least SOCK_MIN_SNDBUF.</summary>
    /// <remarks>Linux: net/core/sock.c sk_setsockopt() SO_SNDBUF</remarks>
    public static int SndBufFromUser(int value, int wmemMax = DefaultBufferMax) =>
        Math.Max((int)Math.Min((uint)value, (uint)wmemMax) * 2, MinSndBuf);

    /// <summary>setsockopt(SO_RCVBUF, v): capped at rmem_max, doubled, at least SOCK_MIN_RCVBUF.</summary>
    public static int RcvBufFromUser(int value, int rmemMax = DefaultBufferMax) =>
        Math.Max((int)Math.Min((uint)value, (uint)rmemMax) * 2, MinRcvBuf);

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

    /// <summary>SOCK_SNDBUF_LOCK / SOCK_RCVBUF_LOCK (sk_userlocks): the application set the size, so autotuning leaves it alone.</summary>
    public bool SndBufLocked { get; internal set; }
    public bool RcvBufLocked { get; internal set; }

    /// <summary>SO_RCVBUF: the size as <see cref="RcvBufFromUser"/> computes it, locked against autotuning.</summary>
    /// <remarks>Linux: net/core/sock.c __sock_set_rcvbuf()</remarks>
    public void SetRcvBufFromUser(int value, int rmemMax)
    {
        RcvBuf = RcvBufFromUser(value, rmemMax);
        RcvBufLocked = true;
    }

    /// <summary>SO_SNDBUF: the size as <see cref="SndBufFromUser"/> computes it, locked against autotuning.</summary>
    /// <remarks>Linux: net/core/sock.c sk_setsockopt() SO_SNDBUF</remarks>
    public void SetSndBufFromUser(int value, int wmemMax)
    {
        SndBuf = SndBufFromUser(value, wmemMax);
        SndBufLocked = true;
    }

    /// <summary>SO_SNDTIMEO (Never = block forever).</summary>
    public Time.Duration SndTimeo { get; set; } = Time.Duration.FromNanoseconds(long.MaxValue);

    /// <summary>SO_RCVTIMEO (Never = block forever).</summary>
    public Time.Duration RcvTimeo { get; set; } = Time.Duration.FromNanoseconds(long.MaxValue);

    /// <summary>sk_err: a pending error (from ICMP, say) that the next call reports once.</summary>
    public Errno Error { get; set; }

    /// <summary>sk_shutdown: RCV_SHUTDOWN (1) and/or SEND_SHUTDOWN (2).</summary>
    public int Shutdown { get; set; }

    public const int RcvShutdown = 1;
    public const int SendShutdown = 2;

    /// <summary>SOCK_NOSPACE: a sender found the buffer full (it also makes later errors count as SndbufErrors).</summary>
    public bool NoSpace { get; set; }

    /// <summary>The page appended data goes to on scatter-gather devices.</summary>
    public PageFrag PageFrag { get; } = new();

    /// <summary>sk_error_queue: zerocopy completions and transmit timestamps waiting for recvmsg(MSG_ERRQUEUE).</summary>
    public ErrorQueue ErrorQueue { get; } = new();

    /// <summary>sk_omem_alloc: option memory; every zerocopy notification holds its skb's truesize here until read.</summary>
    public long OmemAlloc { get; private set; }

    /// <summary>SOCK_DEAD: the application closed the socket (sock_orphan); nothing is queued for it any more.</summary>
    public bool Dead { get; internal set; }

    /// <summary>SOCK_ZEROCOPY (SO_ZEROCOPY): MSG_ZEROCOPY sends are honoured; without it the flag is ignored.</summary>
    public bool ZerocopyEnabled { get; set; }

    /// <summary>sk_zckey: the id the next MSG_ZEROCOPY send gets.</summary>
    public uint ZcKey { get; internal set; }

    /// <summary>sk_tsflags (SO_TIMESTAMPING).</summary>
    public TimestampingFlags TsFlags { get; internal set; }

    /// <summary>sk_tskey: with SOF_TIMESTAMPING_OPT_ID, what a TCP timestamp's key counts from (snd_una or write_seq when set), or a UDP socket's next key.</summary>
    public uint TsKey { get; internal set; }

    /// <summary>sk_is_tcp(): a stream socket, whose timestamp keys count bytes from <see cref="TsKey"/>.</summary>
    public virtual bool IsStream => false;

    /// <summary>sk_error_report: a message joined the error queue (EPOLLERR for epoll).</summary>
    public event Action<Sock>? ErrorReport;

    /// <summary>sock_omalloc(sk, 0): an skb of option memory, if sk_omem_alloc is still below optmem_max.</summary>
    /// <remarks>Linux: net/core/sock.c sock_omalloc()</remarks>
    internal bool TryChargeOmem(int truesize, int optmemMax)
    {
        if (OmemAlloc >= optmemMax) return false;
        OmemAlloc += truesize;
        return true;
    }

    internal void UnchargeOmem(int truesize)
    {
        OmemAlloc -= truesize;
        if (OmemAlloc < 0) ThrowHelper.Bug("sk_omem_alloc went negative");
    }

    /// <summary>
    /// sock_queue_err_skb(): a message charged to the receive buffer joins the error queue, unless sk_rmem_alloc would
    /// reach sk_rcvbuf (then it is dropped, false). Queued or not, a dead socket is not woken.
    /// </summary>
    /// <remarks>Linux: net/core/skbuff.c sock_queue_err_skb()</remarks>
    internal bool QueueErrorCharged(ErrorQueueEntry entry)
    {
        if (RmemAlloc + entry.Truesize >= RcvBuf) return false;
        RmemAlloc += entry.Truesize;
        ErrorQueue.Enqueue(entry);
        if (!Dead) ReportError();
        return true;
    }

    /// <summary>A message whose memory is already charged (a zerocopy notification's omem) joins the error queue.</summary>
    internal void QueueErrorPrecharged(ErrorQueueEntry entry)
    {
        ErrorQueue.Enqueue(entry);
        ReportError();
    }

    /// <summary>sk_error_report(): wake whoever waits for EPOLLERR.</summary>
    internal void ReportError() => ErrorReport?.Invoke(this);

    /// <summary>
    /// sock_dequeue_err_skb(): the oldest message, its memory returned. An ICMP error next in line becomes sk_err; an
    /// ICMP error taken with none behind it clears sk_err; if more messages wait the socket is reported again.
    /// </summary>
    /// <remarks>Linux: net/core/skbuff.c sock_dequeue_err_skb()</remarks>
    public ErrorQueueEntry? DequeueError()
    {
        var entry = ErrorQueue.Dequeue();
        if (entry is null) return null;
        Release(entry);
        var next = ErrorQueue.Peek();
        bool icmpNext = next is { Ee.Origin: ErrOrigin.Icmp or ErrOrigin.Local };
        if (icmpNext) Error = (Errno)next!.Ee.Errno;
        if (entry.Ee.Origin is ErrOrigin.Icmp or ErrOrigin.Local && !icmpNext) Error = Errno.OK;
        if (next is not null) ReportError();
        return entry;
    }

    /// <summary>The error queue emptied with the socket (inet_sock_destruct's skb_queue_purge), every charge returned.</summary>
    internal void PurgeErrorQueue()
    {
        while (ErrorQueue.Dequeue() is { } entry) Release(entry);
    }

    private void Release(ErrorQueueEntry entry)
    {
        if (entry.ChargedToRmem)
        {
            RmemAlloc -= entry.Truesize;
            if (RmemAlloc < 0) ThrowHelper.Bug("sk_rmem_alloc went negative");
        }
        else UnchargeOmem(entry.Truesize);
    }

    /// <summary>sock_error(): takes the pending error.</summary>
    public Errno TakeError()
    {
        var e = Error;
        Error = Errno.OK;
        return e;
    }

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

    /// <summary>
    /// sk_txhash: a random flow label chosen at connect (net_tx_rndhash, never 0) that the socket's skbs carry as their
    /// hash, so the flow keeps one TX queue; 0 until then (an unconnected UDP socket's datagrams are hashed from their
    /// headers instead). TCP draws a new one after a retransmission timeout (sk_rethink_txhash).
    /// </summary>
    /// <remarks>Linux: include/net/sock.h sk_set_txhash(), net_tx_rndhash(), skb_set_hash_from_sk()</remarks>
    public uint TxHash { get; internal set; }

    /// <summary>net_tx_rndhash(): a new flow label, random and never 0 (0 means "no hash").</summary>
    public static uint NewTxHash(Time.DeterministicRandom random)
    {
        uint v = random.NextUInt32();
        return v == 0 ? 1 : v;
    }

    /// <inheritdoc/>
    public int TxQueueMapping { get; set; } = -1;

    /// <inheritdoc/>
    public virtual bool CachesTxQueue => false;

    /// <inheritdoc/>
    public virtual ulong SkPacingRate => MaxPacingRate;

    /// <inheritdoc/>
    public SkPacingStatus PacingStatus { get; set; }

    /// <summary>sk_max_pacing_rate (SO_MAX_PACING_RATE), bytes per second; ulong.MaxValue: no limit.</summary>
    public ulong MaxPacingRate { get; private set; } = ulong.MaxValue;

    /// <summary>
    /// SO_MAX_PACING_RATE: the cap on the pacing rate; any value but unlimited makes TCP pace itself when no fq does
    /// (SK_PACING_NONE → SK_PACING_NEEDED), and the current rate drops to it at once.
    /// </summary>
    /// <remarks>Linux: net/core/sock.c sk_setsockopt() SO_MAX_PACING_RATE</remarks>
    public void SetMaxPacingRate(ulong rate)
    {
        if (rate != ulong.MaxValue && PacingStatus == SkPacingStatus.None) PacingStatus = SkPacingStatus.Needed;
        MaxPacingRate = rate;
        OnMaxPacingRate(rate);
    }

    /// <summary>sk_pacing_rate = min(sk_pacing_rate, the new cap): for a socket that keeps a pacing rate of its own.</summary>
    protected virtual void OnMaxPacingRate(ulong rate) { }

    public void SetOwnerW(SkBuff skb)
    {
        if (TxHash != 0) skb.Hash = TxHash; // skb_set_owner_w() → skb_set_hash_from_sk()
        skb.Sk = this;
        skb.Destructor = _wfree;
        WmemAlloc += skb.Truesize;
        if (WmemAlloc > WmemHighWater) WmemHighWater = WmemAlloc;
    }

    /// <summary>
    /// Makes the socket the skb's owner without charging it yet: __ip_append_data adds the truesize of the
    /// skbs after the first to wmem_alloc in one go at the end (wmem_alloc_delta).
    /// </summary>
    public void AttachWithoutCharge(SkBuff skb)
    {
        skb.Sk = this;
        skb.Destructor = _wfree;
    }

    /// <summary>skb_set_owner_r(): charge a received skb to the receive buffer.</summary>
    public void SetOwnerR(SkBuff skb)
    {
        skb.Sk = this;
        skb.Destructor = _rfree;
        RmemAlloc += skb.Truesize;
    }

    /// <summary>Charges bytes to receive memory: truesize that moved into an skb this socket already owns (tcp_try_coalesce).</summary>
    public void ChargeRead(long bytes) => RmemAlloc += bytes;

    /// <summary>Charges bytes to write memory: skbs attached without charge, and bytes appended to skbs it owns (skb->truesize += copy).</summary>
    public void ChargeWrite(long bytes)
    {
        WmemAlloc += bytes;
        if (WmemAlloc > WmemHighWater) WmemHighWater = WmemAlloc;
    }

    /// <summary>sk->sk_write_space(sk) outside a free (e.g. after SO_SNDBUF grew).</summary>
    public void NotifyWriteSpace() => OnWriteSpace();

    /// <summary>Times sk_write_space found the socket writeable and woke waiters (blocked senders, epoll).</summary>
    public long WriteSpaceWakeups { get; private set; }

    /// <summary>The destructor of an skb charged to write memory ran: sock_wfree wakes writers; TCP's tcp_wfree does its own.</summary>
    protected virtual void OnWmemFreed() => OnWriteSpace();

    /// <summary>sock_def_write_space(): wake writers once the socket is writeable.</summary>
    protected virtual void OnWriteSpace()
    {
        if (!IsWriteable) return;
        WriteSpaceWakeups++;
        WriteSpace?.Invoke(this);
    }

    /// <summary>
    /// sock_alloc_send_pskb(): an skb of <paramref name="size"/> charged to this socket, if wmem_alloc is below
    /// sndbuf. Otherwise EAGAIN at once (non-blocking) or sleep until write space wakes us or SO_SNDTIMEO
    /// runs out. A pending socket error is reported first.
    /// </summary>
    /// <remarks>Linux: net/core/sock.c sock_alloc_send_pskb(), sock_wait_for_wmem()</remarks>
    public SkBuff? AllocSendSkb(SkBuffPool pool, Time.IScheduler clock, int size, bool noblock, out Errno error)
    {
        var deadline = noblock ? clock.Now
            : SndTimeo.Nanoseconds == long.MaxValue ? Time.Instant.Never : clock.Now + SndTimeo;
        while (true)
        {
            error = TakeError();
            if (error != Errno.OK) return null;
            if ((Shutdown & SendShutdown) != 0)
            {
                error = Errno.EPIPE;
                return null;
            }
            if (WmemAlloc < SndBuf) break;
            NoSpace = true;
            error = Errno.EAGAIN;
            if (clock.Now >= deadline) return null;
            // Nothing left that could wake us (a simulation with no events): EAGAIN rather than hang.
            if (!WaitForWmem(clock, deadline) && deadline == Time.Instant.Never) return null;
        }
        var skb = pool.Alloc(size);
        SetOwnerW(skb);
        return skb;
    }

    /// <summary>
    /// sock_wait_for_wmem(): sleep until write space wakes us, an error is set, or the deadline. A method of its
    /// own so that the closure is allocated only when a sender really waits, not on every send.
    /// </summary>
    /// <remarks>Linux: net/core/sock.c sock_wait_for_wmem()</remarks>
    private bool WaitForWmem(Time.IScheduler clock, Time.Instant deadline)
    {
        long wakeups = WriteSpaceWakeups;
        return clock.WaitUntil(() => WriteSpaceWakeups != wakeups || Error != Errno.OK, deadline);
    }

    private sealed class WFreeDestructor(Sock sk) : ISkbDestructor
    {
        public void Destruct(SkBuff skb)
        {
            sk.WmemAlloc -= skb.Truesize;
            if (sk.WmemAlloc < 0) ThrowHelper.Bug("sk_wmem_alloc went negative");
            sk.OnWmemFreed();
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
