using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Threading;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xmit.AspNetCore;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Transport.Tcp;
using Xunit.Abstractions;

namespace Xmit.Tests.AspNetCore;

/// <summary>
/// An ASP.NET Core app (Kestrel through XmitConnectionListenerFactory) on simulated host B and an HttpClient
/// (SocketsHttpHandler.ConnectCallback over Xmit) on host A, across a lossy, rate-limited simulated link, with
/// the simulation in real time (RealTimeSimulation). Not deterministic — the thread pool decides the
/// interleaving — so the tests check what must hold on every run: the bytes, the status, the headers, a wall-clock
/// bound, and that every byte of socket memory and every skb comes back.
/// </summary>
public class KestrelOverXmitTests(ITestOutputHelper output)
{
    private const int FileLength = 10 * 1024 * 1024;
    private static readonly IPEndPoint Server = new(IPAddress.Parse("198.18.0.2"), 80);
    private static readonly TimeSpan WallLimit = TimeSpan.FromSeconds(60);

    /// <summary>100 Mbit/s, 2 ms each way, 1 % of frames lost in each direction (drawn from the link's seeded generator).</summary>
    private static readonly LinkConfig Lossy = new()
    {
        RateBitsPerSecond = 100_000_000, Propagation = Duration.FromMilliseconds(2), LossRate = 0.01,
    };

    private static byte[] FileBytes()
    {
        var data = new byte[FileLength];
        new Random(14).NextBytes(data);
        return data;
    }

    /// <summary>Kestrel on B, an HttpClient on A, the simulation in real time; <paramref name="body"/> runs the client side.</summary>
    private async Task WithAppAsync(LinkConfig link, ulong seed, Func<HttpClient, Task> body)
    {
        using var net = new TwoHosts(link, seed: seed, trackAllocations: false);
        net.WarmUp(); // ARP in virtual time, before the clock follows the wall
        var file = FileBytes();
        List<TcpSock> sockets;
        using (var realTime = new RealTimeSimulation(net.Sim))
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseXmit(net.B, realTime.Context, Server);
            await using var app = builder.Build();
            app.MapGet("/file", () => Results.Bytes(file, "application/octet-stream"));
            app.MapGet("/hello", (HttpContext context) =>
            {
                context.Response.Headers["X-Served-By"] = "kestrel-over-xmit";
                return Results.Text($"hello from {context.Connection.LocalIpAddress}:{context.Connection.LocalPort} to {context.Connection.RemoteIpAddress}");
            });
            await app.StartAsync();
            try
            {
                using var client = XmitHttp.CreateClient(net.A, realTime.Context);
                client.BaseAddress = new Uri($"http://{Server}/");
                client.Timeout = WallLimit;
                await body(client);
            }
            finally
            {
                await app.StopAsync();
            }
            // The sockets both stacks made, taken on the simulation's thread before it stops.
            sockets = await realTime.InvokeAsync(() => net.Sim.Hosts.SelectMany(h => h.Tcp.Sockets).ToList());
            Assert.NotEmpty(sockets);
            realTime.Stop();
            Assert.Null(realTime.Failure);
            output.WriteLine($"events ran at most {realTime.MaxLag.TotalMilliseconds:F1} ms behind the wall clock; simulation stopped at {net.Sim.Now}");
        }
        // The simulation is this thread's again, in virtual time: the FINs, then TIME-WAIT, then nothing is held.
        // (TIME-WAIT answers a retransmitted FIN, so a lost last ACK costs one retransmission, not a minute.)
        net.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
        foreach (var sk in sockets)
        {
            Assert.True(sk.State == TcpState.Close, $"61 s after the apps closed, {sk} is still {sk.State} (snd_una {sk.SndUna - sk.Iss}, snd_nxt {sk.SndNxt - sk.Iss}, timer {sk.PendingTimer})");
            Assert.True(sk.WmemQueued == 0 && sk.WmemAlloc == 0 && sk.RmemAlloc == 0,
                $"{sk}: wmem_queued {sk.WmemQueued}, wmem_alloc {sk.WmemAlloc}, rmem_alloc {sk.RmemAlloc}");
        }
        // TwoHosts.Dispose: no skb, buffer or page outstanding.
    }

    [Fact]
    public async Task A_10_MB_download_with_1_percent_loss_arrives_byte_exact_in_real_time()
    {
        var expected = SHA256.HashData(FileBytes());
        await WithAppAsync(Lossy, seed: 14, async client =>
        {
            var clock = Stopwatch.StartNew();
            using var cts = new CancellationTokenSource(WallLimit);
            long length = 0;
            byte[] hash;
            try
            {
                using var response = await client.GetAsync("file", HttpCompletionOption.ResponseHeadersRead, cts.Token);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(FileLength, response.Content.Headers.ContentLength);
                await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[81920];
                int n;
                while ((n = await body.ReadAsync(buffer, cts.Token)) > 0)
                {
                    sha.AppendData(buffer, 0, n);
                    length += n;
                }
                hash = sha.GetHashAndReset();
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                Assert.Fail($"the 10 MB download did not finish within {WallLimit.TotalSeconds} s of wall time ({length} bytes came)");
                throw;
            }
            clock.Stop();
            Assert.Equal(FileLength, length);
            Assert.Equal(expected, hash);
            output.WriteLine($"10 MB over 100 Mbit/s, 2 ms, 1 % loss: {clock.Elapsed.TotalSeconds:F2} s wall, " +
                $"goodput {length * 8 / clock.Elapsed.TotalSeconds / 1e6:F1} Mbit/s");
        });
    }

    [Fact]
    public async Task A_small_GET_has_the_status_headers_and_body_Kestrel_sent()
    {
        await WithAppAsync(Lossy, seed: 15, async client =>
        {
            using var cts = new CancellationTokenSource(WallLimit);
            using var response = await client.GetAsync("hello", cts.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(new Version(1, 1), response.Version);
            Assert.Equal("kestrel-over-xmit", Assert.Single(response.Headers.GetValues("X-Served-By")));
            Assert.Equal("Kestrel", Assert.Single(response.Headers.Server).Product?.Name);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("hello from 198.18.0.2:80 to 198.18.0.1", await response.Content.ReadAsStringAsync(cts.Token));

            using var missing = await client.GetAsync("nothing-here", cts.Token);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode); // the same keep-alive connection, a second request
        });
    }
}
