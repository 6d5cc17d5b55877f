using System.IO.Pipelines;
using System.Net;
using System.Threading;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Xmit.Applications;
using Xmit.Hosting;
using TcpListener = Xmit.Applications.TcpListener;

namespace Xmit.AspNetCore;

/// <summary>
/// Kestrel's transport over an Xmit host: each endpoint Kestrel binds (an <see cref="IPEndPoint"/>) is a
/// <see cref="TcpListener"/> on <paramref name="host"/>, each accepted connection a <see cref="TcpStream"/> whose
/// pipes Kestrel reads and writes from the thread pool; every call into the stack runs on the thread of
/// <paramref name="stackContext"/> (the one that runs the host, e.g. a RealTimeSimulation's Context).
/// </summary>
public sealed class XmitConnectionListenerFactory(Host host, SynchronizationContext stackContext) : IConnectionListenerFactory
{
    private readonly StackThread _thread = new(stackContext);

    public Host Host { get; } = host ?? throw new ArgumentNullException(nameof(host));

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ip) throw new NotSupportedException($"Xmit listens on IPv4 endpoints, not {endpoint}");
        var host = Host;
        var listener = await _thread.Run(_ =>
        {
            var l = new TcpListener(host) { ReuseAddress = true };
            try
            {
                l.Bind(ip);
                l.Listen(512);
            }
            catch
            {
                l.Dispose();
                throw;
            }
            return new ValueTask<TcpListener>(l);
        }, cancellationToken).ConfigureAwait(false);
        var bound = await _thread.Invoke(() => listener.LocalEndPoint).ConfigureAwait(false);
        return new XmitConnectionListener(listener, _thread, bound);
    }
}

/// <summary>One bound <see cref="TcpListener"/>: <see cref="AcceptAsync"/> gives null once it is unbound.</summary>
internal sealed class XmitConnectionListener(TcpListener listener, StackThread thread, IPEndPoint bound) : IConnectionListener
{
    private int _closed;
    private long _connections;

    public EndPoint EndPoint => bound;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (Volatile.Read(ref _closed) != 0) return null;
            try
            {
                var stream = await thread.Run(async ct =>
                {
                    var s = await listener.AcceptAsync(ct).ConfigureAwait(false);
                    s.NoDelay = true; // Kestrel's socket transport sets TCP_NODELAY too
                    return new XmitStream(s, thread, s.LocalEndPoint, s.RemoteEndPoint);
                }, cancellationToken).ConfigureAwait(false);
                return new XmitConnection(stream, $"xmit-{bound.Port}-{Interlocked.Increment(ref _connections)}");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception e) when (e is IOException or XmitSocketException && Volatile.Read(ref _closed) != 0)
            {
                return null; // the listener was closed under the accept (EBADF)
            }
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => CloseAsync();

    public ValueTask DisposeAsync() => CloseAsync();

    private async ValueTask CloseAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try
        {
            await thread.Invoke(() => { listener.Dispose(); return true; }).ConfigureAwait(false);
        }
        catch (InvalidOperationException) { } // the stack's thread has stopped
    }
}

/// <summary>
/// An accepted connection as Kestrel sees it: the transport pipes over an <see cref="XmitStream"/>. Completing both
/// pipes (Kestrel does when it is done) or disposing the connection closes the socket.
/// </summary>
internal sealed class XmitConnection : ConnectionContext, IConnectionLifetimeFeature, IConnectionEndPointFeature
{
    /// <summary>Reads and writes in pieces of this size at least: each is one hop to the stack's thread.</summary>
    private const int BufferSize = 64 * 1024;

    private readonly XmitStream _stream;
    private readonly CancellationTokenSource _closed = new();
    private readonly FeatureCollection _features = new();

    public XmitConnection(XmitStream stream, string id)
    {
        _stream = stream;
        ConnectionId = id;
        LocalEndPoint = stream.LocalEndPoint;
        RemoteEndPoint = stream.RemoteEndPoint;
        Transport = new StreamDuplexPipe(
            PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: BufferSize, minimumReadSize: BufferSize / 4, leaveOpen: true)),
            PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: BufferSize, leaveOpen: true)));
        ConnectionClosed = _closed.Token;
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
        _features.Set<IConnectionIdFeature>(new IdFeature(this));
        _features.Set<IConnectionTransportFeature>(new TransportFeature(this));
        _features.Set<IConnectionItemsFeature>(new ItemsFeature(this));
    }

    public override string ConnectionId { get; set; }
    public override IFeatureCollection Features => _features;
    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
    public override IDuplexPipe Transport { get; set; }
    public override CancellationToken ConnectionClosed { get; set; }
    public override EndPoint? LocalEndPoint { get; set; }
    public override EndPoint? RemoteEndPoint { get; set; }

    /// <summary>Closes the socket at once (pending reads and writes fail) and signals <see cref="ConnectionClosed"/>.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        _stream.Dispose();
        SignalClosed();
    }

    public override ValueTask DisposeAsync()
    {
        Transport.Input.Complete();
        Transport.Output.Complete();
        _stream.Dispose();
        SignalClosed();
        return default;
    }

    private void SignalClosed()
    {
        // Cancel runs the callbacks inline; hand them to the thread pool, as Kestrel's socket transport does.
        ThreadPool.UnsafeQueueUserWorkItem(static c =>
        {
            try { c.Cancel(); }
            catch (ObjectDisposedException) { }
        }, _closed, preferLocal: false);
    }

    private sealed class IdFeature(XmitConnection c) : IConnectionIdFeature
    {
        public string ConnectionId { get => c.ConnectionId; set => c.ConnectionId = value; }
    }

    private sealed class TransportFeature(XmitConnection c) : IConnectionTransportFeature
    {
        public IDuplexPipe Transport { get => c.Transport; set => c.Transport = value; }
    }

    private sealed class ItemsFeature(XmitConnection c) : IConnectionItemsFeature
    {
        public IDictionary<object, object?> Items { get => c.Items; set => c.Items = value; }
    }

    private sealed class StreamDuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
