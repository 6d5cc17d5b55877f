using System.IO.Pipelines;

namespace Xmit.Applications;

/// <summary>
/// System.IO.Pipelines over a <see cref="TcpStream"/>. <see cref="PipeReader.Create(Stream, StreamPipeReaderOptions?)"/>
/// and <see cref="PipeWriter.Create(Stream, StreamPipeWriterOptions?)"/> already work on it (they call the stream's
/// ValueTask overloads inline, with no scheduler of their own, so they stay on the host's loop); this joins the
/// two into the <see cref="IDuplexPipe"/> that connection-oriented code (Kestrel's transports, protocol
/// handlers) takes.
/// </summary>
public static class StreamPipes
{
    /// <summary>A reader and a writer over <paramref name="stream"/>; completing both disposes the stream unless <paramref name="leaveOpen"/>.</summary>
    public static IDuplexPipe AsDuplexPipe(this TcpStream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new DuplexPipe(
            PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)),
            PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true)),
            leaveOpen ? null : stream);
    }
}
