using System.Net;
using System.Threading;
using Xmit.Applications;

namespace Xmit.AspNetCore;

/// <summary>
/// A <see cref="TcpStream"/> as a <see cref="Stream"/> any thread may use: each call is posted to the thread that
/// runs the stack and completes on the thread pool, so Kestrel's and HttpClient's code never runs on (or holds up)
/// that thread. One read and one write may be pending at a time, as on the stream underneath. A synchronous call
/// blocks the calling thread while the stack's thread does the work (and throws there, where it would deadlock).
/// </summary>
internal sealed class XmitStream : Stream
{
    private readonly TcpStream _inner;
    private readonly StackThread _thread;
    private int _disposed;

    public XmitStream(TcpStream inner, StackThread thread, IPEndPoint local, IPEndPoint remote)
    {
        _inner = inner;
        _thread = thread;
        LocalEndPoint = local;
        RemoteEndPoint = remote;
    }

    /// <summary>Connects from the host's stack to <paramref name="remote"/> and wraps the stream.</summary>
    public static async Task<XmitStream> ConnectAsync(Xmit.Hosting.Host host, StackThread thread, IPEndPoint remote, CancellationToken cancellationToken)
    {
        var stream = await thread.Run(async ct =>
        {
            var s = await TcpStream.ConnectAsync(host, remote, ct).ConfigureAwait(false);
            s.NoDelay = true; // as Kestrel's and HttpClient's own sockets are
            return new XmitStream(s, thread, s.LocalEndPoint, s.RemoteEndPoint);
        }, cancellationToken).ConfigureAwait(false);
        return stream;
    }

    public IPEndPoint LocalEndPoint { get; }
    public IPEndPoint RemoteEndPoint { get; }

    public override bool CanRead => _disposed == 0;
    public override bool CanWrite => _disposed == 0;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;

#pragma warning disable CA2012 // the ValueTask is awaited once, on the stack's thread
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return new ValueTask<int>(_thread.Run(ct => _inner.ReadAsync(buffer, ct), cancellationToken));
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (buffer.IsEmpty) return default;
        return new ValueTask(_thread.Run(async ct =>
        {
            await _inner.WriteAsync(buffer, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken));
    }
#pragma warning restore CA2012

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        EnsureNotStackThread();
        return ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        EnsureNotStackThread();
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }

    public override IAsyncResult BeginRead(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(ReadAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override int EndRead(IAsyncResult asyncResult) => TaskToAsyncResult.End<int>(asyncResult);

    public override IAsyncResult BeginWrite(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(WriteAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override void EndWrite(IAsyncResult asyncResult) => TaskToAsyncResult.End(asyncResult);

    /// <summary>shutdown(SHUT_WR) on the stack's thread: a FIN once the queued data is out.</summary>
    public Task ShutdownWriteAsync() => _thread.Invoke(() => { _inner.ShutdownWrite(); return true; });

    /// <summary>close() on the stack's thread: pending calls fail with EBADF, the kernel goes on with the FIN (or a RST).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try { _thread.Post(_inner.Dispose); }
            catch (InvalidOperationException) { } // the stack's thread has stopped: its owner shuts the host down
        }
        base.Dispose(disposing);
    }

    private void EnsureNotStackThread()
    {
        if (_thread.IsCurrent)
            throw new InvalidOperationException("a blocking call on the stack's own thread would wait for itself; use the async calls there");
    }
}
