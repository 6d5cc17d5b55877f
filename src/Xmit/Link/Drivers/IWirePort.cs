using Xmit.Buffers;
using Xmit.Time;

namespace Xmit.Link.Drivers;

/// <summary>The medium a NIC's transmitter drives: a simulated wire, or a TAP file descriptor.</summary>
public interface IWirePort
{
    /// <summary>
    /// Starts putting <paramref name="frame"/> on the medium no earlier than <paramref name="start"/> and returns
    /// when its last bit has left. The port copies what it needs now; the caller keeps the skb.
    /// </summary>
    Instant Transmit(SkBuff frame, Instant start);
}
