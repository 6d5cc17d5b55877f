namespace Xmit.Sockets;

/// <summary>SO_TIMESTAMPING's flags (SOF_TIMESTAMPING_*): which timestamps to generate and which to report.</summary>
/// <remarks>Linux: include/uapi/linux/net_tstamp.h SOF_TIMESTAMPING_*</remarks>
[Flags]
public enum TimestampingFlags : uint
{
    None = 0,
    TxHardware = 1 << 0,
    /// <summary>Generate a timestamp when the driver takes the packet (SCM_TSTAMP_SND).</summary>
    TxSoftware = 1 << 1,
    RxHardware = 1 << 2,
    RxSoftware = 1 << 3,
    /// <summary>Report software timestamps (the SCM_TIMESTAMPING control message carries them).</summary>
    Software = 1 << 4,
    SysHardware = 1 << 5,
    RawHardware = 1 << 6,
    /// <summary>Every timestamp carries a key (ee_data): for TCP the byte offset of the timestamped byte.</summary>
    OptId = 1 << 7,
    /// <summary>Generate a timestamp when the packet enters the device layer (SCM_TSTAMP_SCHED).</summary>
    TxSched = 1 << 8,
    /// <summary>Generate a timestamp when the peer acknowledges the byte (SCM_TSTAMP_ACK, TCP only).</summary>
    TxAck = 1 << 9,
    OptCmsg = 1 << 10,
    /// <summary>The error-queue message carries no copy of the packet.</summary>
    OptTsonly = 1 << 11,
    OptStats = 1 << 12,
    OptPktinfo = 1 << 13,
    OptTxSwhw = 1 << 14,
    BindPhc = 1 << 15,
    /// <summary>TCP's key counts from write_seq at the time of the setsockopt rather than snd_una.</summary>
    OptIdTcp = 1 << 16,
    OptRxFilter = 1 << 17,
    TxCompletion = 1 << 18,

    /// <summary>SOF_TIMESTAMPING_MASK: every flag this kernel knows.</summary>
    Mask = (TxCompletion << 1) - 1,
    /// <summary>SOF_TIMESTAMPING_TX_RECORD_MASK: the flags that make a send record timestamps.</summary>
    TxRecordMask = TxHardware | TxSoftware | TxSched | TxAck | TxCompletion,
}
