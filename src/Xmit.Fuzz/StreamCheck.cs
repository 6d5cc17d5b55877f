using Xmit.Network.Ipv4;
using Xmit.Sockets.Api;

namespace Xmit.Fuzz;

/// <summary>
/// One direction of a TCP byte stream whose every byte is a function of its position: the reader checks each
/// byte it gets, so a corrupted, lost, duplicated or reordered byte is caught at once.
/// </summary>
public sealed class StreamCheck
{
    private readonly byte[] _buffer = new byte[16384];

    public long Written { get; private set; }
    public long Read { get; private set; }

    /// <summary>The first byte that did not match, or -1.</summary>
    public long FirstMismatch { get; private set; } = -1;

    public static byte At(long i) => (byte)(i * 131 + (i >> 9) * 7 + 29);

    /// <summary>Writes up to <paramref name="max"/> bytes without blocking; returns what send() returned.</summary>
    public int Write(Syscalls s, int fd, int max)
    {
        int n = Math.Min(max, _buffer.Length);
        for (int i = 0; i < n; i++) _buffer[i] = At(Written + i);
        int rc = s.Send(fd, _buffer.AsSpan(0, n), MsgFlags.DontWait);
        if (rc > 0) Written += rc;
        return rc;
    }

    /// <summary>Reads what is there without blocking and checks it; returns the bytes read this call.</summary>
    public long Drain(Syscalls s, int fd)
    {
        long total = 0;
        int rc;
        while ((rc = s.Recv(fd, _buffer, MsgFlags.DontWait)) > 0)
        {
            for (int i = 0; i < rc; i++)
                if (_buffer[i] != At(Read + i) && FirstMismatch < 0) FirstMismatch = Read + i;
            Read += rc;
            total += rc;
        }
        return total;
    }

    public bool Complete => Read == Written && FirstMismatch < 0;
}
