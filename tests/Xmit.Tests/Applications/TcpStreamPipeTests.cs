using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Xmit.Applications;
using Xmit.Simulation;
using Xmit.Tests.Support;
using Xmit.Time;
using TcpListener = Xmit.Applications.TcpListener;

namespace Xmit.Tests.Applications;

/// <summary>System.IO.Pipelines over TcpStream: a line-echo server on the duplex pipe, a client on PipeReader/PipeWriter.Create.</summary>
public class TcpStreamPipeTests
{
    private static readonly IPEndPoint Server = new(IPAddress.Parse("198.18.0.2"), 7);

    /// <summary>Reads newline-terminated lines and answers each in upper case, until the client's FIN.</summary>
    private static async Task EchoUpperAsync(IDuplexPipe pipe)
    {
        while (true)
        {
            var result = await pipe.Input.ReadAsync();
            var buffer = result.Buffer;
            while (buffer.PositionOf((byte)'\n') is { } end)
            {
                var line = Encoding.ASCII.GetString(buffer.Slice(0, end).ToArray());
                await pipe.Output.WriteAsync(Encoding.ASCII.GetBytes(line.ToUpperInvariant() + "\n"));
                buffer = buffer.Slice(buffer.GetPosition(1, end));
            }
            pipe.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted) break;
        }
        await pipe.Input.CompleteAsync();
        await pipe.Output.CompleteAsync();
    }

    [Fact]
    public void Lines_cross_both_ways_through_pipe_readers_and_writers()
    {
        using var net = new TwoHosts(new LinkConfig { RateBitsPerSecond = 10_000_000, Propagation = Duration.FromMilliseconds(5) });
        net.WarmUp();
        using var listener = new TcpListener(net.B);
        listener.Bind(Server);
        listener.Listen();
        var lines = Enumerable.Range(0, 2000).Select(i => $"line {i} of the test").ToArray();
        string? answer = null;

        async Task ServerAsync()
        {
            var stream = await listener.AcceptAsync();
            await EchoUpperAsync(stream.AsDuplexPipe()); // completing both sides disposes the stream
            Assert.False(stream.CanRead);
        }

        async Task ClientAsync()
        {
            using var stream = await TcpStream.ConnectAsync(net.A, Server);
            var writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
            var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
            var reading = ReadToEndAsync(reader);
            foreach (var line in lines) await writer.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"));
            await writer.CompleteAsync();
            stream.ShutdownWrite();
            answer = await reading;
        }

        var both = Task.WhenAll(net.Sim.Start(ServerAsync), net.Sim.Start(ClientAsync));
        Assert.True(net.Sim.RunUntilCompleted(both, Duration.FromSeconds(30)));
        Assert.Null(both.Exception);
        Assert.Equal(string.Concat(lines.Select(l => l.ToUpperInvariant() + "\n")), answer);
        net.RunFor(Duration.FromSeconds(63)); // TIME-WAIT: 60 s, on the wheel's level 3 (2.048 s granules at HZ=250)
    }

    private static async Task<string> ReadToEndAsync(PipeReader reader)
    {
        var text = new StringBuilder();
        while (true)
        {
            var result = await reader.ReadAsync();
            foreach (var segment in result.Buffer) text.Append(Encoding.ASCII.GetString(segment.Span));
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted) break;
        }
        await reader.CompleteAsync();
        return text.ToString();
    }
}
