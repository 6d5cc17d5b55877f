using System.Net.Sockets;

namespace Xmit.Applications;

/// <summary>
/// A <see cref="SocketException"/> that also carries the errno Xmit's kernel returned, since the errno is what
/// the model is measured against (Linux's names, not Winsock's). The message names the call and the errno,
/// e.g. <c>connect: ECONNREFUSED</c>.
/// </summary>
public sealed class XmitSocketException : SocketException
{
    public XmitSocketException(Errno errno, string operation)
        : base((int)ToSocketError(errno), $"{operation}: {errno}")
    {
        Errno = errno;
        Operation = operation;
    }

    /// <summary>The errno the system call returned.</summary>
    public Errno Errno { get; }

    /// <summary>The system call that failed (connect, accept, read, write, …).</summary>
    public string Operation { get; }

    /// <summary>The <see cref="SocketError"/> .NET's own sockets report for the same errno on Linux.</summary>
    public static SocketError ToSocketError(Errno errno) => errno switch
    {
        Errno.ECONNREFUSED => SocketError.ConnectionRefused,
        Errno.ECONNRESET => SocketError.ConnectionReset,
        Errno.ECONNABORTED => SocketError.ConnectionAborted,
        Errno.ETIMEDOUT => SocketError.TimedOut,
        Errno.EPIPE => SocketError.Shutdown,
        Errno.ENOTCONN => SocketError.NotConnected,
        Errno.EISCONN => SocketError.IsConnected,
        Errno.EHOSTUNREACH => SocketError.HostUnreachable,
        Errno.ENETUNREACH => SocketError.NetworkUnreachable,
        Errno.ENETDOWN => SocketError.NetworkDown,
        Errno.EADDRINUSE => SocketError.AddressAlreadyInUse,
        Errno.EADDRNOTAVAIL => SocketError.AddressNotAvailable,
        Errno.EAGAIN => SocketError.WouldBlock,
        Errno.EINPROGRESS => SocketError.InProgress,
        Errno.EALREADY => SocketError.AlreadyInProgress,
        Errno.EMSGSIZE => SocketError.MessageSize,
        Errno.ENOBUFS or Errno.ENOMEM => SocketError.NoBufferSpaceAvailable,
        Errno.EINVAL => SocketError.InvalidArgument,
        Errno.EAFNOSUPPORT => SocketError.AddressFamilyNotSupported,
        Errno.EOPNOTSUPP => SocketError.OperationNotSupported,
        Errno.EBADF => SocketError.OperationAborted,
        _ => SocketError.SocketError,
    };

    /// <summary>
    /// A stream's read or write failure as NetworkStream reports it: an <see cref="IOException"/> whose inner
    /// exception is the socket error.
    /// </summary>
    internal static IOException Io(Errno errno, string operation) =>
        new($"Unable to {operation} data on the transport connection: {errno}.", new XmitSocketException(errno, operation));

    /// <summary>Throws for a negative system-call result; returns a non-negative one.</summary>
    internal static int Check(int rc, string operation) => rc >= 0 ? rc : throw new XmitSocketException((Errno)(-rc), operation);
}
