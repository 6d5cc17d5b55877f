using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Xmit.Sockets.Api;
using Xmit.Transport.Tcp;
using Xunit.Abstractions;

namespace Xmit.Tests.Interop;

/// <summary>The bulk transfer runs alone: its rate is a measurement, and it should not starve timed tests of CPU.</summary>
[CollectionDefinition(nameof(KernelBulkCollection), DisableParallelization = true)]
public sealed class KernelBulkCollection;

/// <summary>
/// Bulk TCP from the real kernel to Xmit on a TAP device: 300 MB, byte-exact, closed cleanly. The rate is
/// measured and printed, never asserted (it depends on the machine); the receive windows Xmit announced and the
/// kernel's view of the connection (ss -tmi, sampled once mid-transfer) are printed with it, to show what bounds it.
/// </summary>
[Collection(nameof(KernelBulkCollection))]
public class KernelBulkTests(ITestOutputHelper output)
{
    private const long Size = 300_000_000;

    /// <summary>The content's period: a prime, so it lines up with no segment, skb or read size.</summary>
    private const int Period = Xmit.Tap.TapTcp.BlockLength;

    /// <summary>Wall-clock bound on the transfer and the close; past it the test fails and the sender is killed.</summary>
    private const int TimeLimitMs = 60_000;

    private const ushort Port = 9200;

    /// <summary>The stream is xmit tap tcp-connect's source block, repeated.</summary>
    private static byte[] Block() => Xmit.Tap.TapTcp.Block();

    private static byte[] StreamHash(byte[] block, long size)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long off = 0; off < size; off += block.Length) h.AppendData(block, 0, (int)Math.Min(block.Length, size - off));
        return h.GetHashAndReset();
    }

    /// <summary>
    /// The kernel connects, sends 300 MB (the block, repeated) and shuts down its side; we read through the
    /// syscall API to end of file and close; the kernel then sees our FIN and exits. The SHA-256 of what we read
    /// is the stream's, our side is gone without a reset, and the rate is printed.
    /// </summary>
    [Fact]
    public void The_kernel_sends_300_MB_and_we_read_it_byte_exact_and_close_cleanly()
    {
        var block = Block();
        var expected = StreamHash(block, Size);
        using var net = new TapNet(capture: false);
        var sys = new Syscalls(net.Host.Host);
        int listener = sys.Socket(Af.AF_INET, SockType.SOCK_STREAM | SockType.SOCK_NONBLOCK, 0);
        Assert.Equal(0, sys.Bind(listener, new SockAddrIn(net.Us, Port)));
        Assert.Equal(0, sys.Listen(listener, 4));
        // The sender reads the block from stdin and sends it cyclically; alarm() bounds it even if we are gone.
        var script = "import socket,sys,signal\nsignal.alarm(120)\n" +
                     "blk=sys.stdin.buffer.read(); P=len(blk); n=int(sys.argv[2]); CH=262144\n" +
                     "buf=memoryview(blk+blk[:CH])\n" +
                     $"s=socket.create_connection((sys.argv[1],{Port}),timeout=30)\n" +
                     "off=0; left=n\n" +
                     "while left:\n k=min(CH,left); s.sendall(buf[off:off+k]); off=(off+k)%P; left-=k\n" +
                     "s.shutdown(socket.SHUT_WR)\n" +
                     "while s.recv(65536): pass\n" +
                     "s.close(); print(n,flush=True)\n";
        using var sender = net.Ns.Start("python3", "-c", script, net.Us.ToString(), Size.ToString(CultureInfo.InvariantCulture));
        Process? ss = null;
        try
        {
            sender.StandardInput.BaseStream.Write(block);
            sender.StandardInput.Close();

            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buf = new byte[1 << 20];
            int fd = -1;
            long received = 0, firstMismatch = -1, sampleAt = Size / 2;
            bool eof = false, closed = false;
            TcpSock? sk = null;
            var wall = Stopwatch.StartNew();
            var transfer = new Stopwatch();
            var windows = new List<(double Ms, long Received, uint RcvWnd, uint Free, uint RcvSsthresh, uint Clamp, int RcvBuf, long Rmem)>();
            string? ourSample = null;
            Task<string>? ssOut = null;
            double nextSampleMs = 0;
            net.RunUntil(() =>
            {
                if (fd < 0)
                {
                    fd = sys.Accept(listener, out _);
                    if (fd < 0) return sender.HasExited; // a sender that died before connecting ends the wait
                    transfer.Start();
                    sys.Fcntl(fd, Fcntl.F_SETFL, Fcntl.O_RDWR | Fcntl.O_NONBLOCK);
                    sk = ((TcpSocketFile)sys.File(fd)!).Sk;
                }
                while (!eof)
                {
                    int r = sys.Read(fd, buf);
                    if (r == 0)
                    {
                        eof = true;
                        transfer.Stop();
                    }
                    if (r <= 0) break;
                    if (firstMismatch < 0) firstMismatch = Mismatch(block, received, buf.AsSpan(0, r));
                    hash.AppendData(buf, 0, r);
                    received += r;
                }
                double ms = transfer.Elapsed.TotalMilliseconds;
                if (!eof && ms >= nextSampleMs)
                {
                    nextSampleMs = ms + 100;
                    windows.Add((ms, received, sk!.RcvWnd, TcpProtocol.ReceiveWindow(sk), sk.RcvSsthresh, sk.WindowClamp, sk.RcvBuf, sk.RmemAlloc));
                }
                if (ss is null && received >= sampleAt)
                {
                    // Started, not waited for: the stack keeps running while ss looks at the kernel's socket.
                    ss = net.Ns.Start("ss", "-tmi", "dst", net.Us.ToString());
                    ssOut = ss.StandardOutput.ReadToEndAsync();
                    ourSample = $"Xmit at {received / 1e6:F0} MB: rcv_wnd {sk!.RcvWnd} (wscale {sk.RcvWscale}), free window {TcpProtocol.ReceiveWindow(sk)}, " +
                                $"rcv_ssthresh {sk.RcvSsthresh}, window_clamp {sk.WindowClamp}, rcvbuf {sk.RcvBuf}, rmem_alloc {sk.RmemAlloc}, " +
                                $"readable {sk.ReadableBytes}, srtt {sk.SmoothedRttUs} us";
                }
                if (eof && !closed)
                {
                    Assert.Equal(0, sys.Close(fd));
                    closed = true;
                }
                return closed && sender.HasExited;
            }, TimeLimitMs);
            wall.Stop();

            double seconds = transfer.Elapsed.TotalSeconds;
            output.WriteLine($"{received} bytes in {seconds:F3} s: {received * 8 / seconds / 1e9:F3} Gbit/s ({received / seconds / 1e6:F1} MB/s); " +
                             $"with connect and close {wall.Elapsed.TotalSeconds:F3} s");
            Report(net, sk, windows, ourSample, ss, ssOut);

            Assert.True(sender.HasExited, $"the transfer did not finish in {TimeLimitMs / 1000} s: received {received} of {Size} bytes, eof {eof}");
            Assert.True(sender.ExitCode == 0, $"the kernel's sender failed ({sender.ExitCode}): {sender.StandardError.ReadToEnd()}");
            Assert.Equal(Size.ToString(CultureInfo.InvariantCulture), sender.StandardOutput.ReadToEnd().Trim());
            Assert.Equal(Size, received);
            Assert.True(firstMismatch < 0, $"the stream differs from byte {firstMismatch} on");
            Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(hash.GetHashAndReset()));
            // Our side had the kernel's FIN, sent its own and had it acknowledged: only the listener is left.
            net.RunUntil(() => net.Host.Host.Tcp.Sockets.All(s => s.State is TcpState.TimeWait or TcpState.Listen), 3_000);
            Assert.All(net.Host.Host.Tcp.Sockets, s => Assert.True(s.State is TcpState.TimeWait or TcpState.Listen, s.ToString()));
            Assert.Equal(0, net.Host.Host.Tcp.Mib.OutRsts);
            Assert.Equal(0, net.Host.Host.Tcp.Mib.EstabResets);
        }
        finally
        {
            // Before the namespace goes: nothing of the test may outlive it.
            foreach (var p in new[] { sender, ss })
            {
                if (p is null) continue;
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.WaitForExit(5_000);
            }
            ss?.Dispose();
            sys.CloseAll();
        }
    }

    /// <summary>The first offset in <paramref name="got"/> (as a stream offset) that is not the block's, or -1.</summary>
    private static long Mismatch(byte[] block, long at, ReadOnlySpan<byte> got)
    {
        int off = (int)(at % block.Length), i = 0;
        while (i < got.Length)
        {
            int n = Math.Min(got.Length - i, block.Length - off);
            int d = got.Slice(i, n).CommonPrefixLength(block.AsSpan(off, n));
            if (d < n) return at + i + d;
            i += n;
            off = 0;
        }
        return -1;
    }

    private void Report(TapNet net, TcpSock? sk, List<(double Ms, long Received, uint RcvWnd, uint Free, uint RcvSsthresh, uint Clamp, int RcvBuf, long Rmem)> windows,
        string? ourSample, Process? ss, Task<string>? ssOut)
    {
        if (windows.Count > 0)
        {
            var wnd = windows.Select(w => w.RcvWnd).Order().ToArray();
            output.WriteLine($"Xmit's rcv_wnd over {windows.Count} samples (every 100 ms): min {wnd[0]}, median {wnd[wnd.Length / 2]}, max {wnd[^1]}");
            var sb = new StringBuilder("  ms    MB   rcv_wnd   free  rcv_ssthresh  clamp   rcvbuf  rmem_alloc\n");
            foreach (var w in windows.Where((_, i) => i < 8 || i % Math.Max(1, windows.Count / 12) == 0))
                sb.Append(CultureInfo.InvariantCulture, $"{w.Ms,6:F0} {w.Received / 1e6,5:F0} {w.RcvWnd,9} {w.Free,8} {w.RcvSsthresh,9} {w.Clamp,9} {w.RcvBuf,9} {w.Rmem,9}\n");
            output.WriteLine(sb.ToString().TrimEnd());
        }
        if (ourSample is not null) output.WriteLine(ourSample);
        if (ss is not null && ss.WaitForExit(5_000) && ssOut is not null) output.WriteLine("kernel, ss -tmi mid-transfer:\n" + ssOut.Result.TrimEnd());
        var d = net.Host.Driver;
        var mib = net.Host.Host.Tcp.Mib;
        output.WriteLine($"TAP: {d.Reads} frames read in {d.ReadBatches} batches, {d.Writes} frames written; loop {net.Loop.Iterations} iterations, {net.Loop.TimersRun} timers");
        output.WriteLine($"TCP: InSegs {mib.InSegs} OutSegs {mib.OutSegs} DelayedACKs {mib.DelayedAcks} RcvQDrop {mib.RcvQDrop} ZeroWindowDrop {mib.ZeroWindowDrop} " +
                         $"OFOQueue {mib.OfoQueue} PruneCalled {mib.PruneCalled} ToZeroWindowAdv {mib.ToZeroWindowAdv}");
        if (sk is not null) output.WriteLine($"at the end: rcvbuf {sk.RcvBuf}, window_clamp {sk.WindowClamp}, rcv_ssthresh {sk.RcvSsthresh}, srtt {sk.SmoothedRttUs} us");
    }
}
