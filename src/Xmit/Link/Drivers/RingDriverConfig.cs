using Xmit.Buffers;
using Xmit.Time;

namespace Xmit.Link.Drivers;

/// <summary>Knobs of the simulated NIC, named like `ethtool -g` (ring) and `ethtool -c` (coalescing).</summary>
public sealed record RingDriverConfig
{
    /// <summary>TX descriptors per queue.</summary>
    public int RingSize { get; init; } = 256;

    /// <summary>Stop the queue when fewer descriptors than this are free: a maximal skb would not fit (MAX_SKB_FRAGS + 2).</summary>
    public int StopThreshold { get; init; } = SkBuff.MaxFrags + 2;

    /// <summary>Wake a stopped queue once this many descriptors are free again.</summary>
    public int WakeThreshold { get; init; } = 64;

    /// <summary>tx-usecs: an interrupt at most this long after the first unreported completion.</summary>
    public Duration CoalesceDelay { get; init; } = Duration.FromMicroseconds(8);

    /// <summary>tx-frames: an interrupt as soon as this many completions are pending.</summary>
    public int CoalesceFrames { get; init; } = 16;

    /// <summary>Report bytes to BQL (byte queue limits).</summary>
    public bool Bql { get; init; } = true;

    /// <summary>
    /// NETIF_F_TSO (with the checksum offload it needs): the driver takes whole TCP GSO skbs and the NIC cuts each into
    /// its MSS-sized frames, sent back to back; off, the stack segments them before the driver (validate_xmit_skb).
    /// </summary>
    public bool Tso { get; init; }

    /// <summary>NETIF_F_HW_CSUM: the "hardware" fills checksums (the wire has them; taps see partial ones, as tcpdump does).</summary>
    public bool ChecksumOffload { get; init; }

    /// <summary>rx-checksumming (NETIF_F_RXCSUM), on as on real NICs: good TCP/UDP checksums arrive CHECKSUM_UNNECESSARY.</summary>
    public bool RxChecksum { get; init; } = true;

    /// <summary>
    /// RX descriptors (ethtool -G rx). 256: e1000e's default (E1000_DEFAULT_RXD) and QEMU's default virtio-net
    /// rx_queue_size — the two NICs a Linux guest most often has.
    /// </summary>
    public int RxRingSize { get; init; } = 256;

    /// <summary>
    /// rx-usecs: an RX interrupt at most this long after the first frame it reports. 0 (with rx-frames 1) is an
    /// interrupt per frame, as virtio-net does without coalescing.
    /// </summary>
    public Duration RxCoalesceDelay { get; init; } = Duration.Zero;

    /// <summary>rx-frames: an RX interrupt as soon as this many frames wait.</summary>
    public int RxCoalesceFrames { get; init; } = 1;

    /// <summary>The ring's NAPI weight: frames one poll may process (NAPI_POLL_WEIGHT, 64).</summary>
    public int NapiWeight { get; init; } = 64;

    public string? Validate()
    {
        if (RxRingSize < 1) return "rx ring size must be at least 1";
        if (RxCoalesceFrames < 1) return "rx-frames must be at least 1";
        if (RxCoalesceDelay < Duration.Zero) return "rx-usecs must not be negative";
        if (NapiWeight < 1) return "NAPI weight must be at least 1";
        if (RingSize < StopThreshold + 1) return $"ring size {RingSize} must exceed the stop threshold {StopThreshold}";
        if (WakeThreshold < StopThreshold || WakeThreshold > RingSize) return $"wake threshold must be between {StopThreshold} and the ring size {RingSize}";
        if (CoalesceFrames < 1) return "tx-frames must be at least 1";
        if (CoalesceDelay < Duration.Zero) return "tx-usecs must not be negative";
        return null;
    }
}
