using System.Net;
using System.Security.Cryptography;
using System.Threading;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xmit.AspNetCore;
using Xmit.Tap;

namespace Xmit.Tests.Interop;

/// <summary>
/// Existing .NET applications against the real kernel over TAP (root and /dev/net/tun, like the other interop tests),
/// the host's loop on a thread of its own (TapLoopThread): curl in the kernel's namespace fetches from Kestrel on Xmit,
/// and HttpClient on Xmit fetches from Python's http.server in the namespace. Real time, so not deterministic: the
/// tests check the bytes, the status and a wall-clock bound.
/// </summary>
[Collection(nameof(KernelBulkCollection))]
public class TapHttpTests
{
    private const int FileLength = 4 * 1024 * 1024;

    private static byte[] FileBytes()
    {
        var data = new byte[FileLength];
        new Random(21).NextBytes(data);
        return data;
    }

    [Fact]
    public async Task Curl_in_the_kernels_namespace_downloads_from_kestrel_on_xmit()
    {
        using var net = new TapNet(offload: true, capture: false);
        var file = FileBytes();
        string output = Path.Combine(Path.GetTempPath(), $"xmit-curl-{Environment.ProcessId}.bin");
        using (var loop = new TapLoopThread(net.Host))
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseXmit(net.Host.Host, loop.Context, new IPEndPoint(IPAddress.Parse(net.Us.ToString()), 8080));
            await using var app = builder.Build();
            app.MapGet("/file", () => Results.Bytes(file, "application/octet-stream"));
            await app.StartAsync();
            try
            {
                using var curl = net.Ns.Start("curl", "-sS", "--max-time", "30", "-o", output, "-w", "%{http_code} %{size_download}", $"http://{net.Us}:8080/file");
                using var wall = new CancellationTokenSource(TimeSpan.FromSeconds(40));
                await curl.WaitForExitAsync(wall.Token);
                string result = await curl.StandardOutput.ReadToEndAsync();
                Assert.True(curl.ExitCode == 0, $"curl exit {curl.ExitCode}: {result} {await curl.StandardError.ReadToEndAsync()}");
                Assert.Equal($"200 {FileLength}", result.Trim());
                Assert.Equal(SHA256.HashData(file), SHA256.HashData(await File.ReadAllBytesAsync(output)));
            }
            finally
            {
                await app.StopAsync();
                File.Delete(output);
            }
            Assert.Null(loop.Failure);
        }
    }

    [Fact]
    public async Task HttpClient_on_xmit_downloads_from_pythons_http_server_in_the_namespace()
    {
        using var net = new TapNet(offload: true, capture: false);
        var file = FileBytes();
        string dir = Directory.CreateTempSubdirectory("xmit-http-").FullName;
        await File.WriteAllBytesAsync(Path.Combine(dir, "file"), file);
        using var server = net.Ns.Start("python3", "-m", "http.server", "8000", "--bind", net.Kernel.ToString(), "--directory", dir);
        try
        {
            using var loop = new TapLoopThread(net.Host);
            using var client = XmitHttp.CreateClient(net.Host.Host, loop.Context);
            client.Timeout = TimeSpan.FromSeconds(30);
            byte[]? body = null;
            for (int attempt = 0; attempt < 50 && body is null; attempt++) // http.server takes a moment to listen
            {
                try
                {
                    body = await client.GetByteArrayAsync($"http://{net.Kernel}:8000/file");
                }
                catch (HttpRequestException) when (attempt < 49)
                {
                    await Task.Delay(100);
                }
            }
            Assert.NotNull(body);
            Assert.Equal(FileLength, body!.Length);
            Assert.Equal(SHA256.HashData(file), SHA256.HashData(body));
            Assert.Null(loop.Failure);
        }
        finally
        {
            server.Kill();
            Directory.Delete(dir, recursive: true);
        }
    }
}
