// Kestrel on simulated host "server", HttpClient on simulated host "client", a lossy, rate-limited link between
// them, the simulation in real time (its clock follows the wall clock). Nothing touches the machine's network.
//
//   dotnet run --project samples/KestrelOverXmit -c Release -- [megabytes=10] [loss=0.01] [mbit/s=100] [one-way delay ms=2] [seed=1]
//
// Real time is NOT deterministic: the thread pool decides when Kestrel's and HttpClient's calls reach the stack,
// so two runs with the same seed differ (Xmit's default, virtual time, is the deterministic mode).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xmit.AspNetCore;
using Xmit.Simulation;
using Xmit.Time;
using Xmit.Wire;

double Arg(int i, double fallback) => args.Length > i ? double.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
int megabytes = (int)Arg(0, 10);
double loss = Arg(1, 0.01);
double mbits = Arg(2, 100);
double delayMs = Arg(3, 2);
ulong seed = (ulong)Arg(4, 1);

using var sim = new Simulation(seed);
var clientHost = sim.AddHost("client");
var serverHost = sim.AddHost("server");
var link = new LinkConfig
{
    RateBitsPerSecond = (long)(mbits * 1e6),
    Propagation = Duration.FromNanoseconds((long)(delayMs * 1e6)),
    LossRate = loss,
};
var connection = sim.Connect(clientHost, new Ipv4Address(198, 18, 0, 1), serverHost, new Ipv4Address(198, 18, 0, 2), 24, link);
var server = new IPEndPoint(IPAddress.Parse("198.18.0.2"), 80);

var file = new byte[megabytes * 1024 * 1024];
new Random(42).NextBytes(file);

using var realTime = new RealTimeSimulation(sim);

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseXmit(serverHost, realTime.Context, server);
await using var app = builder.Build();
app.MapGet("/file", () => Results.Bytes(file, "application/octet-stream"));
await app.StartAsync();

Console.WriteLine($"GET http://{server}/file: {megabytes} MB over {mbits} Mbit/s, {delayMs} ms each way, {loss:P1} loss (seed {seed}), real time");
var clock = Stopwatch.StartNew();
byte[] received;
using (var client = XmitHttp.CreateClient(clientHost, realTime.Context))
{
    client.Timeout = TimeSpan.FromMinutes(5);
    received = await client.GetByteArrayAsync(new Uri($"http://{server}/file"));
}
clock.Stop();
await app.StopAsync();

bool exact = SHA256.HashData(received).AsSpan().SequenceEqual(SHA256.HashData(file));
var stats = await realTime.InvokeAsync(() =>
    (Lost: connection.Link.A.Lost + connection.Link.B.Lost,
     Retrans: serverHost.Tcp.Mib.RetransSegs));
realTime.Stop();
Console.WriteLine($"{received.Length} bytes in {clock.Elapsed.TotalSeconds:F2} s: {received.Length * 8 / clock.Elapsed.TotalSeconds / 1e6:F1} Mbit/s goodput, " +
    $"{(exact ? "byte-exact" : "CORRUPT")}; {stats.Lost} frames lost on the link, {stats.Retrans} segments retransmitted by the server");
if (realTime.Failure is { } failure) Console.WriteLine($"the simulation failed: {failure}");
return exact && realTime.Failure is null ? 0 : 1;
