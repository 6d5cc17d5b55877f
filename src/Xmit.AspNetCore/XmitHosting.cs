using System.Net;
using System.Threading;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xmit.Hosting;

namespace Xmit.AspNetCore;

/// <summary>Kestrel over Xmit.</summary>
public static class XmitWebHostBuilderExtensions
{
    /// <summary>
    /// Kestrel listens on <paramref name="endPoint"/> of <paramref name="host"/> — an Xmit stack, not the machine's:
    /// the <see cref="XmitConnectionListenerFactory"/> replaces every other transport, so no real socket is opened.
    /// <paramref name="stackContext"/> is the SynchronizationContext of the thread that runs the host (a
    /// RealTimeSimulation's <c>Context</c>); every call into the stack is posted to it.
    /// </summary>
    public static IWebHostBuilder UseXmit(this IWebHostBuilder builder, Host host, SynchronizationContext stackContext, IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(stackContext);
        ArgumentNullException.ThrowIfNull(endPoint);
        var factory = new XmitConnectionListenerFactory(host, stackContext);
        builder.ConfigureServices(services =>
        {
            services.RemoveAll<IConnectionListenerFactory>();
            services.AddSingleton<IConnectionListenerFactory>(factory);
        });
        return builder.ConfigureKestrel(options => options.Listen(endPoint));
    }
}

/// <summary>HttpClient over Xmit.</summary>
public static class XmitHttp
{
    /// <summary>
    /// A <see cref="SocketsHttpHandler"/> whose connections are TCP connections of <paramref name="host"/>: its
    /// ConnectCallback opens a TcpStream over Xmit to the request's host (an IPv4 literal, or what
    /// <paramref name="resolve"/> gives for a name) and port, on the thread of <paramref name="stackContext"/>. No proxy.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(Host host, SynchronizationContext stackContext, Func<DnsEndPoint, IPEndPoint>? resolve = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        var thread = new StackThread(stackContext);
        return new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var dns = context.DnsEndPoint;
                var remote = resolve?.Invoke(dns)
                    ?? (IPAddress.TryParse(dns.Host, out var address)
                        ? new IPEndPoint(address, dns.Port)
                        : throw new HttpRequestException($"{dns.Host} is not an IPv4 address, and no resolver was given"));
                return await XmitStream.ConnectAsync(host, thread, remote, cancellationToken).ConfigureAwait(false);
            },
        };
    }

    /// <summary>An <see cref="HttpClient"/> over <see cref="CreateHandler"/>.</summary>
    public static HttpClient CreateClient(Host host, SynchronizationContext stackContext, Func<DnsEndPoint, IPEndPoint>? resolve = null) =>
        new(CreateHandler(host, stackContext, resolve), disposeHandler: true);
}
