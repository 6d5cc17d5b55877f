using Xmit.Applications;
using Xmit.Simulation;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Support;

/// <summary>
/// A run with every kind of traffic the foundation makes — ARP, small and fragmented pings, small and
/// 65507-byte UDP datagrams (fragmented both ways), a port unreachable — on a lossy link, captured on A.
/// </summary>
public static class MixedTraffic
{
    public static byte[] CapturePcap(ulong seed, double loss = 0.02)
    {
        var ms = new MemoryStream();
        using (var net = new TwoHosts(new LinkConfig { LossRate = loss }, seed: seed))
        {
            net.Sim.Capture(net.DevA, new NonClosingStream(ms));
            var sink = net.B.Udp.Bind(TwoHosts.AddrB, 9);
            var ping = new PingSession(net.A, TwoHosts.AddrB, 6, Duration.FromMilliseconds(100), 56);
            ping.Start();
            var bigPing = new PingSession(net.A, TwoHosts.AddrB, 3, Duration.FromMilliseconds(100), 4000, identifier: 0x4321);
            bigPing.Start();
            var rnd = new Random((int)seed);
            for (int i = 0; i < 10; i++)
            {
                var payload = new byte[i % 3 == 0 ? 65507 : 200 + i];
                rnd.NextBytes(payload);
                net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 9, payload);
                net.RunForMs(20);
            }
            net.A.Udp.SendDatagram(null, TwoHosts.AddrA, 7000, TwoHosts.AddrB, 10, new byte[33]); // nobody on port 10
            net.RunForMs(1000);
            var buf = new byte[65536];
            while (net.B.Udp.Receive(sink, buf) is not null) { }
        }
        return ms.ToArray();
    }

    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
    }
}
