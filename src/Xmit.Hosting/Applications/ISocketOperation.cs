namespace Xmit.Applications;

/// <summary>An operation that waits on a socket's readiness: the wake-up asks it to try again.</summary>
internal interface ISocketOperation
{
    bool IsPending { get; }

    /// <summary>Tries the system call again (or completes as cancelled); runs on the host's loop.</summary>
    void Retry();

    /// <summary>Completes a pending operation with <paramref name="error"/> (the socket was closed under it).</summary>
    void Abort(Exception error);
}
