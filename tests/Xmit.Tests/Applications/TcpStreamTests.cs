using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using Xmit.Applications;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using TcpListener = Xmit.Applications.TcpListener;

namespace Xmit.Tests.Applications;

/// <summary>
/// TcpStream and TcpListener between two simulated hosts, written as ordinary async .NET code: the awaits
/// resume as the simulation processes the wake-ups, so a run is a function of its seed.
/// </summary>
public class TcpStreamTests
{
    private const int Megabyte = 1 << 20;
    private static readonly IPEndPoint Server = new(IPAddress.Parse("198.18.0.2"), 5000);

    private static readonly LinkConfig Clean = new() { RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMilliseconds(2) };

    private static readonly LinkConfig Lossy = new()
    {
        RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMilliseconds(2), LossRate = 0.02,
        Faults = new LinkFaults { ReorderRate = 0.02, ReorderDelay = Duration.FromMilliseconds(1), DuplicateRate = 0.01 },
    };

    private static byte[] Data(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Writes all of <paramref name="data"/> in pieces of varied size, then the FIN.</summary>
    private static async Task SendAllAsync(TcpStream stream, byte[] data)
    {
        int at = 0, piece = 1000;
        while (at < data.Length)
        {
            int n = Math.Min(piece, data.Length - at);
            await stream.WriteAsync(data.AsMemory(at, n));
            at += n;
            piece = piece * 7 % 60_000 + 1; // 1 B … 60 kB, so partial writes and EAGAIN both happen
        }
        stream.ShutdownWrite();
    }

    /// <summary>Reads to the end of the stream; the SHA-256 of what came.</summary>
    private static async Task<byte[]> ReceiveAllAsync(TcpStream stream)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[16384];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0) hash.AppendData(buffer, 0, n);
        return hash.GetHashAndReset();
    }

    /// <summary>A task the simulation has run to completion: its exception (an app's failed assertion), if any.</summary>
    private static void Rethrow(Task task)
    {
        Assert.True(task.IsCompleted);
        task.GetAwaiter().GetResult();
    }

    private static T Result<T>(Task<T> task)
    {
        Assert.True(task.IsCompleted);
        return task.GetAwaiter().GetResult();
    }

    internal sealed record Exchange(Instant Done, TcpSock Client, TcpSock Server, TcpInfo ClientInfo);

    /// <summary>
    /// A sends 1 MB to B while B sends 1 MB to A, both through TcpStream, byte-exact both ways; then both close and
    /// TIME-WAIT runs out. Returns when the last byte was read, in virtual time.
    /// </summary>
    internal static Exchange RunExchange(LinkConfig link, ulong seed)
    {
        using var net = new TwoHosts(link, seed: seed, trackAllocations: false);
        net.WarmUp();
        var toServer = Data(1, Megabyte);
        var toClient = Data(2, Megabyte);
        using var listener = new TcpListener(net.B);
        listener.Bind(Server);
        listener.Listen();
        TcpSock? clientSock = null, serverSock = null;
        TcpInfo clientInfo = default;

        async Task ServerAsync()
        {
            using var s = await listener.AcceptAsync();
            serverSock = s.Kernel;
            var receiving = ReceiveAllAsync(s);
            await SendAllAsync(s, toClient);
            Assert.Equal(SHA256.HashData(toServer), await receiving);
        }

        async Task ClientAsync()
        {
            using var c = await TcpStream.ConnectAsync(net.A, Server);
            clientSock = c.Kernel;
            var receiving = ReceiveAllAsync(c);
            await SendAllAsync(c, toServer);
            Assert.Equal(SHA256.HashData(toClient), await receiving);
            clientInfo = c.Info;
        }

        var both = Task.WhenAll(net.Sim.Start(ServerAsync), net.Sim.Start(ClientAsync));
        bool finished = net.Sim.RunUntilCompleted(both, Duration.FromSeconds(120));
        Assert.True(finished, $"the exchange did not finish at {net.Sim.Now}: {string.Join(" | ", net.Sim.Hosts.SelectMany(h => h.Tcp.Sockets).Select(k => $"{k} rq {k.ReadableBytes} wq {k.WmemQueued} una {k.SndUna - k.Iss} nxt {k.SndNxt - k.Iss} pending {k.PendingTimer}"))} armed {net.Sim.Scheduler.Armed}");
        Rethrow(both); // an assertion inside the apps fails here
        var done = net.Sim.Now;
        net.RunFor(Duration.FromSeconds(63)); // the FINs, then TIME-WAIT (60 s on the wheel's level 3: 2.048 s granules at HZ=250)
        return new Exchange(done, clientSock!, serverSock!, clientInfo);
    }

    [Fact]
    public void A_megabyte_each_way_arrives_byte_exact_and_every_byte_of_socket_memory_comes_back()
    {
        var run = RunExchange(Clean, seed: 1);
        foreach (var sk in new[] { run.Client, run.Server })
        {
            Assert.Equal(TcpState.Close, sk.State);
            Assert.Equal(0, sk.WmemAlloc);
            Assert.Equal(0, sk.WmemQueued);
            Assert.Equal(0, sk.RmemAlloc);
        }
        Assert.Contains(run.ClientInfo.State, new[] { TcpState.FinWait1, TcpState.FinWait2, TcpState.Closing, TcpState.TimeWait }); // after its FIN
        Assert.Equal(1448, run.ClientInfo.SendMss);
        Assert.InRange(run.ClientInfo.SmoothedRtt, TimeSpan.FromMilliseconds(4), TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void The_same_seed_gives_the_same_virtual_completion_time()
    {
        var first = RunExchange(Lossy, seed: 7);
        var second = RunExchange(Lossy, seed: 7);
        Assert.Equal(first.Done, second.Done);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Under_loss_reordering_and_duplication_the_exchange_is_still_byte_exact(ulong seed)
    {
        var run = RunExchange(Lossy, seed);
        Assert.Equal(0, run.Client.RmemAlloc + run.Server.RmemAlloc + run.Client.WmemQueued + run.Server.WmemQueued);
    }

    [Fact]
    public void Cancelling_a_pending_read_completes_it_and_the_stream_still_works()
    {
        using var net = new TwoHosts(Clean);
        net.WarmUp();
        using var listener = new TcpListener(net.B);
        listener.Bind(Server);
        listener.Listen();
        using var cts = new CancellationTokenSource();
        Instant cancelledAt = default, readAt = default;
        var cancel = new Xmit.Time.Timer(net.Sim.Scheduler, cts.Cancel, "cancel");

        async Task ServerAsync()
        {
            using var s = await listener.AcceptAsync();
            var buffer = new byte[100];
            cancel.ArmAfter(Duration.FromMilliseconds(50));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => s.ReadAsync(buffer, cts.Token).AsTask());
            cancelledAt = net.Sim.Now;
            int n = await s.ReadAsync(buffer); // the client writes at 100 ms
            readAt = net.Sim.Now;
            Assert.Equal("late", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        }

        async Task ClientAsync()
        {
            using var c = await TcpStream.ConnectAsync(net.A, Server);
            var wait = new TaskCompletionSource();
            new Xmit.Time.Timer(net.Sim.Scheduler, wait.SetResult, "later").ArmAfter(Duration.FromMilliseconds(100));
            await wait.Task;
            await c.WriteAsync("late"u8.ToArray());
        }

        var start = net.Sim.Now;
        var both = Task.WhenAll(net.Sim.Start(ServerAsync), net.Sim.Start(ClientAsync));
        Assert.True(net.Sim.RunUntilCompleted(both, Duration.FromSeconds(5)));
        Rethrow(both);
        Assert.InRange((cancelledAt - start).TotalMilliseconds, 50, 60); // the handshake, then 50 ms
        Assert.True(readAt > cancelledAt + Duration.FromMilliseconds(40));
        net.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
    }

    [Fact]
    public void Shutdown_of_the_write_side_makes_the_peer_read_zero_and_it_can_still_answer()
    {
        using var net = new TwoHosts(Clean);
        net.WarmUp();
        using var listener = new TcpListener(net.B);
        listener.Bind(Server);
        listener.Listen();
        string? reply = null;

        async Task ServerAsync()
        {
            using var s = await listener.AcceptAsync();
            var buffer = new byte[64];
            int total = 0, n;
            while ((n = await s.ReadAsync(buffer.AsMemory(total))) > 0) total += n;
            Assert.Equal(0, await s.ReadAsync(buffer)); // still 0: the end of the stream stays the end
            await s.WriteAsync(buffer.AsMemory(0, total)); // half-closed: the other direction still works
        }

        async Task ClientAsync()
        {
            using var c = await TcpStream.ConnectAsync(net.A, Server);
            await c.WriteAsync("hello"u8.ToArray());
            c.ShutdownWrite();
            var buffer = new byte[64];
            int n = await c.ReadAsync(buffer);
            reply = System.Text.Encoding.ASCII.GetString(buffer, 0, n);
            Assert.Throws<IOException>(() => c.Write("more"u8)); // EPIPE after SHUT_WR
        }

        var both = Task.WhenAll(net.Sim.Start(ServerAsync), net.Sim.Start(ClientAsync));
        Assert.True(net.Sim.RunUntilCompleted(both, Duration.FromSeconds(5)));
        Rethrow(both);
        Assert.Equal("hello", reply);
        net.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
    }

    [Fact]
    public void Connecting_to_a_port_nobody_listens_on_is_refused()
    {
        using var net = new TwoHosts(Clean);
        net.WarmUp();
        var connect = net.Sim.Start(async () => await TcpStream.ConnectAsync(net.A, new IPEndPoint(Server.Address, 5999)));
        Assert.True(net.Sim.RunUntilCompleted(connect, Duration.FromSeconds(5)));
        var e = Assert.IsType<XmitSocketException>(connect.Exception?.InnerException);
        Assert.Equal(Errno.ECONNREFUSED, e.Errno);
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
        Assert.Equal("connect: ECONNREFUSED", e.Message);
        Assert.Empty(net.A.Tcp.Sockets); // the failed connect closed its socket
    }

    [Fact]
    public void Synchronous_reads_and_writes_block_in_virtual_time()
    {
        using var net = new TwoHosts(Clean);
        net.WarmUp();
        using var listener = new TcpListener(net.B);
        listener.Bind(Server);
        listener.Listen();
        var accept = listener.AcceptAsync();
        var connect = net.Sim.Start(async () => (await TcpStream.ConnectAsync(net.A, Server)).Dispose());
        var data = Data(3, 300_000);
        using var c = ConnectSync(net);
        Assert.True(net.Sim.RunUntilCompleted(accept.AsTask(), Duration.FromSeconds(1)));
        using var s = Result(accept.AsTask());
        var reading = net.Sim.Start(async () => Assert.Equal(SHA256.HashData(data), await ReceiveAllAsync(s)));
        var start = net.Sim.Now;
        c.Write(data); // blocks: the send buffer is far smaller, so the simulation runs while it waits
        Assert.True(net.Sim.Now > start);
        c.ShutdownWrite();
        Assert.True(net.Sim.RunUntilCompleted(reading, Duration.FromSeconds(5)));
        Rethrow(reading);
        var buffer = new byte[10];
        s.ShutdownWrite();
        Assert.Equal(0, c.Read(buffer)); // blocks until B's FIN arrives
        net.Sim.RunUntilCompleted(connect, Duration.FromSeconds(1));
        net.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
    }

    private static TcpStream ConnectSync(TwoHosts net)
    {
        var connect = TcpStream.ConnectAsync(net.A, Server).AsTask();
        Assert.True(net.Sim.RunUntilCompleted(connect, Duration.FromSeconds(1)));
        return Result(connect);
    }

    [Fact]
    public void An_accept_can_be_cancelled()
    {
        using var net = new TwoHosts(Clean);
        using var listener = new TcpListener(net.B);
        listener.Bind(Server);
        listener.Listen();
        using var cts = new CancellationTokenSource();
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        net.RunForMs(10);
        Assert.False(accept.IsCompleted);
        cts.Cancel();
        Assert.True(net.Sim.RunUntilCompleted(accept, Duration.FromMilliseconds(1)));
        Assert.True(accept.IsCanceled);
    }
}
