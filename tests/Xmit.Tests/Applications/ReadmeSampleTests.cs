using System.Net;
using Xmit.Applications;
using Xmit.Simulation;
using Xmit.Time;
using Xmit.Wire;
using TcpListener = Xmit.Applications.TcpListener;

namespace Xmit.Tests.Applications;

/// <summary>The README's TcpStream sample, compiled and run; a second test keeps the README's copy identical to it.</summary>
public class ReadmeSampleTests
{
    private static (double Seconds, string Reply) Sample()
    {
        // README-SAMPLE-BEGIN
        using var sim = new Simulation.Simulation(seed: 1);
        var a = sim.AddHost("A");
        var b = sim.AddHost("B");
        sim.Connect(a, Ipv4Address.Parse("198.18.0.1"), b, Ipv4Address.Parse("198.18.0.2"), 24,
            new LinkConfig { RateBitsPerSecond = 10_000_000, Propagation = Duration.FromMilliseconds(5), LossRate = 0.01 });
        var server = new IPEndPoint(IPAddress.Parse("198.18.0.2"), 8080);

        using var listener = new TcpListener(b);
        listener.Bind(server);
        listener.Listen();
        var serving = sim.Start(async () =>
        {
            using var conn = await listener.AcceptAsync();
            var buffer = new byte[4096];
            int n;
            while ((n = await conn.ReadAsync(buffer)) > 0) await conn.WriteAsync(buffer.AsMemory(0, n)); // echo
        });

        var reply = "";
        var client = sim.Start(async () =>
        {
            using var conn = await TcpStream.ConnectAsync(a, server);
            await conn.WriteAsync("hello over Xmit"u8.ToArray());
            conn.ShutdownWrite(); // FIN: the server's read returns 0 and it stops echoing
            using var reader = new StreamReader(conn);
            reply = await reader.ReadToEndAsync();
        });

        // Virtual time runs only here, and only as far as the apps need: same seed, same bytes, same instant.
        sim.RunUntilCompleted(Task.WhenAll(client, serving), Duration.FromSeconds(10));
        Console.WriteLine($"'{reply}' after {sim.Now}");
        // README-SAMPLE-END
        return (sim.Now.Nanoseconds / 1e9, reply);
    }

    [Fact]
    public void The_sample_echoes_and_is_deterministic()
    {
        var first = Sample();
        Assert.Equal("hello over Xmit", first.Reply);
        Assert.Equal(first, Sample());
    }

    [Fact]
    public void The_readme_shows_the_sample_as_it_is_compiled()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Xmit.slnx"))) root = Path.GetDirectoryName(root)!;
        var source = File.ReadAllText(Path.Combine(root, "tests", "Xmit.Tests", "Applications", "ReadmeSampleTests.cs"));
        int begin = source.IndexOf("// README-SAMPLE-BEGIN", StringComparison.Ordinal), end = source.IndexOf("        // README-SAMPLE-END", StringComparison.Ordinal);
        var lines = source[(source.IndexOf('\n', begin) + 1)..end].Split('\n').Select(l => l.Length >= 8 ? l[8..] : l.TrimStart());
        var sample = string.Join('\n', lines).TrimEnd();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.True(readme.Contains(sample, StringComparison.Ordinal), "README.md's TcpStream sample differs from ReadmeSampleTests.Sample; copy it over:\n" + sample);
    }
}
