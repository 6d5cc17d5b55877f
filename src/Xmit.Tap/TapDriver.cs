using System.Buffers.Binary;
using Xmit.Buffers;
using Xmit.Link;

namespace Xmit.Tap;

/// <summary>
/// The device driver for a TAP file descriptor. Transmit writes the frame behind a virtio-net header; a
/// completed write is the TX completion, so the skb is freed and its memory returns to its socket at once.
/// A write the kernel cannot take yet (EAGAIN) answers BUSY and stops the queue until the fd is writable.
/// Receive reads frames in batches and hands them to the stack, finishing checksums the kernel left partial.
/// With offload a TCP GSO skb crosses whole (VIRTIO_NET_HDR_GSO_TCPV4: the kernel segments it, or forwards it as
/// one), and a TSO frame from the kernel goes up whole, as from a NIC with LRO/GRO: TCP takes segments of any size.
/// </summary>
/// <remarks>Linux: drivers/net/tun.c (the peer side); include/uapi/linux/virtio_net.h struct virtio_net_hdr</remarks>
public sealed class TapDriver : INetDeviceDriver
{
    private const byte NeedsCsum = 1;
    /// <summary>VIRTIO_NET_HDR_GSO_TCPV4 and VIRTIO_NET_HDR_GSO_UDP_L4.</summary>
    private const byte GsoTcpV4 = 1, GsoUdpL4 = 5;
    private readonly List<SkBuff> _segments = [];
    private const int ReadBatch = 64;
    // A GSO frame is up to 64 KiB of IP packet (tot_len is 16 bits) behind an Ethernet header.
    private const int MaxFrame = 65535 + Wire.EthernetFrame.HeaderLength;
    // Pinned, so that the write and read per frame pass an address (PinnedArray: no marshalling stub).
    private readonly PinnedArray<byte> _txBuffer = new(TunFd.VnetHeaderLength + MaxFrame);
    private readonly PinnedArray<byte> _rxBuffer = new(TunFd.VnetHeaderLength + MaxFrame);
    private readonly byte[] _tx, _rx; // their arrays

    public TapDriver(NetDevice device, TunFd tun, RealTimeLoop loop, bool checksumOffload = false)
    {
        Device = device;
        Tun = tun;
        (_tx, _rx) = (_txBuffer.Array, _rxBuffer.Array);
        // With offload the kernel finishes checksums and segments UDP GSO frames itself: one write, many datagrams.
        Features = DeviceFeatures.ScatterGather | (checksumOffload ? DeviceFeatures.HwChecksum | DeviceFeatures.Tso | DeviceFeatures.GsoUdpL4 : DeviceFeatures.None);
        Source = new PollSource(tun.Fd, OnReadable, OnWritable);
        loop.Add(Source);
        device.AttachDriver(this);
    }

    public NetDevice Device { get; }
    public TunFd Tun { get; }
    public PollSource Source { get; }
    public DeviceFeatures Features { get; }

    public long Writes { get; private set; }
    public long WriteBlocked { get; private set; }
    public long Reads { get; private set; }
    public long ReadBatches { get; private set; }
    public long GsoDropped { get; private set; }

    /// <summary>GSO frames written (one write, many segments) and received (segmented here).</summary>
    public long GsoWrites { get; private set; }
    public long GsoReads { get; private set; }

    public NetdevTx StartXmit(SkBuff skb, NetdevQueue txq)
    {
        int len = skb.Len;
        Array.Clear(_tx, 0, TunFd.VnetHeaderLength);
        if (skb.IpSummed == ChecksumState.Partial)
        {
            // Leave the checksum to the kernel, as a NIC with offload would.
            _tx[0] = NeedsCsum;
            BinaryPrimitives.WriteUInt16LittleEndian(_tx.AsSpan(6), (ushort)(skb.CsumStart - skb.DataOffset));
            BinaryPrimitives.WriteUInt16LittleEndian(_tx.AsSpan(8), (ushort)skb.CsumOffset);
            if (skb.GsoType == GsoType.UdpL4)
            {
                _tx[1] = GsoUdpL4;
                BinaryPrimitives.WriteUInt16LittleEndian(_tx.AsSpan(2), (ushort)(skb.TransportHeader - skb.DataOffset + Wire.UdpDatagram.HeaderLength));
                BinaryPrimitives.WriteUInt16LittleEndian(_tx.AsSpan(4), (ushort)skb.GsoSize);
            }
            else if (skb.GsoType == GsoType.TcpV4)
            {
                // hdr_len: everything up to the payload, the TCP header with its options included (virtio_net_hdr_from_skb).
                _tx[1] = GsoTcpV4;
                int tcpHeader = (skb.TransportHeaderSpan[12] >> 4) * 4;
                BinaryPrimitives.WriteUInt16LittleEndian(_tx.AsSpan(2), (ushort)(skb.TransportHeader - skb.DataOffset + tcpHeader));
                BinaryPrimitives.WriteUInt16LittleEndian(_tx.AsSpan(4), (ushort)skb.GsoSize);
            }
        }
        skb.CopyBits(0, _tx.AsSpan(TunFd.VnetHeaderLength, len));
        int n = Native.Write(Tun.Fd, _txBuffer, TunFd.VnetHeaderLength + len);
        if (n == -Native.EAGAIN)
        {
            WriteBlocked++;
            txq.Stop();
            Source.WantWrite = true;
            return NetdevTx.Busy;
        }
        if (n < 0)
        {
            Device.Stats.TxErrors++;
            skb.Free(SkbDropReason.DevReady);
            return NetdevTx.Ok;
        }
        Writes++;
        if (skb.IsGso) GsoWrites++;
        Device.Stats.TxPackets++;
        Device.Stats.TxBytes += len;
        skb.Consume(); // the write completed: this is the TX completion
        return NetdevTx.Ok;
    }

    private void OnWritable()
    {
        Source.WantWrite = false;
        foreach (var txq in Device.TxQueues) txq.Wake();
    }

    private void OnReadable()
    {
        ReadBatches++;
        for (int i = 0; i < ReadBatch; i++)
        {
            int n = Native.Read(Tun.Fd, _rxBuffer);
            if (n < 0) return; // EAGAIN: drained
            Reads++;
            if (n <= TunFd.VnetHeaderLength) continue;
            byte gsoType = (byte)(_rx[1] & 0x7F); // without VIRTIO_NET_HDR_GSO_ECN
            if (gsoType is not (0 or GsoTcpV4 or GsoUdpL4))
            {
                GsoDropped++; // not negotiated (TCPv6, UDP fragmentation offload): the kernel should never send it
                Device.Stats.RxDropped++;
                continue;
            }
            int len = n - TunFd.VnetHeaderLength;
            var skb = Device.Pool.AllocNetdev(len);
            _rx.AsSpan(TunFd.VnetHeaderLength, len).CopyTo(skb.Put(len));
            if (gsoType == GsoUdpL4)
            {
                // A UDP GSO frame: cut it into its datagrams (with full checksums), as GRO-less hardware would.
                GsoReads++;
                skb.MacHeader = skb.DataOffset;
                skb.NetworkHeader = skb.DataOffset + Wire.EthernetFrame.HeaderLength;
                skb.TransportHeader = skb.DataOffset + BinaryPrimitives.ReadUInt16LittleEndian(_rx.AsSpan(6));
                skb.GsoSize = BinaryPrimitives.ReadUInt16LittleEndian(_rx.AsSpan(4));
                skb.GsoType = GsoType.UdpL4;
                _segments.Clear();
                SkbGso.SegmentUdp(skb, Device.Pool, hardwareChecksum: false, _segments);
                foreach (var seg in _segments) Device.Receive(seg);
                _segments.Clear();
                continue;
            }
            if (gsoType == GsoTcpV4)
            {
                // A TSO frame goes up whole, as LRO/GRO would hand it: its GSO size is the sender's MSS.
                GsoReads++;
                skb.GsoSize = BinaryPrimitives.ReadUInt16LittleEndian(_rx.AsSpan(4));
                skb.GsoType = GsoType.TcpV4;
            }
            if ((_rx[0] & NeedsCsum) != 0)
            {
                skb.IpSummed = ChecksumState.Partial;
                skb.CsumStart = skb.DataOffset + BinaryPrimitives.ReadUInt16LittleEndian(_rx.AsSpan(6));
                skb.CsumOffset = BinaryPrimitives.ReadUInt16LittleEndian(_rx.AsSpan(8));
                SkbChecksum.Help(skb); // the kernel left it to "hardware": finish it so the input path can verify
            }
            Device.Receive(skb);
        }
    }
}
