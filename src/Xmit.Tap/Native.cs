using System.Runtime.InteropServices;

namespace Xmit.Tap;

/// <summary>The few libc calls a TAP device needs. Results are -errno on failure, like the stack's own.</summary>
internal static partial class Native
{
    public const int O_RDWR = 2;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int F_SETFL = 4;
    public const ulong TUNSETIFF = 0x400454ca;
    public const ulong TUNSETOFFLOAD = 0x400454d0;
    public const ulong TUNSETVNETHDRSZ = 0x400454d8;
    public const short IFF_TAP = 0x0002;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_VNET_HDR = 0x4000;
    public const uint TUN_F_CSUM = 0x01;
    public const uint TUN_F_TSO4 = 0x02;
    public const uint TUN_F_USO4 = 0x20;
    public const uint TUN_F_USO6 = 0x40;
    public const short POLLIN = 0x1;
    public const short POLLOUT = 0x4;
    public const int CLONE_NEWNET = 0x40000000;
    public const int EAGAIN = 11;
    public const int EINTR = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int SysOpen([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int SysClose(int fd);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int SysIoctl(int fd, ulong request, byte[] arg);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int SysIoctlValue(int fd, ulong request, ref int arg);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int SysIoctlULong(int fd, ulong request, nuint arg);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int SysFcntl(int fd, int cmd, int arg);

    // read, write and poll run once or more per frame. They leave errno alone (no SetLastError: no saving of the error
    // on every call; errno is read only when a call fails, with Marshal.GetLastSystemError, which the runtime keeps
    // intact across the return from native code, as the LibraryImport generator relies on). Given a PinnedArray they
    // take its address: every argument is blittable, so the JIT inlines the call with no IL stub; a plain array is
    // pinned by a stub (by ref), for the callers that are not per frame.
    [DllImport("libc", EntryPoint = "read")]
    private static extern nint SysRead(int fd, ref byte buffer, nint count);

    [DllImport("libc", EntryPoint = "read")]
    private static extern nint SysReadAt(int fd, nint buffer, nint count);

    [DllImport("libc", EntryPoint = "write")]
    private static extern nint SysWrite(int fd, ref byte buffer, nint count);

    [DllImport("libc", EntryPoint = "write")]
    private static extern nint SysWriteAt(int fd, nint buffer, nint count);

    [DllImport("libc", EntryPoint = "poll")]
    private static extern int SysPollAt(nint fds, nuint nfds, int timeout);

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SysSetns(int fd, int nstype);

    [DllImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static extern int SysEventfd(uint initval, int flags);

    /// <summary>EFD_NONBLOCK | EFD_CLOEXEC.</summary>
    private const int EfdFlags = 0x800 | 0x80000;

    /// <summary>An eventfd: a file descriptor another thread can make readable, to wake a poll.</summary>
    public static int EventFd() { int r = SysEventfd(0, EfdFlags); return r < 0 ? Err() : r; }

    [DllImport("libc", EntryPoint = "geteuid")]
    public static extern uint GetEuid();

    private static int Err() => -Marshal.GetLastPInvokeError();

    public static int Open(string path, int flags) { int r = SysOpen(path, flags); return r < 0 ? Err() : r; }
    public static int Close(int fd) => SysClose(fd) < 0 ? Err() : 0;
    public static int Ioctl(int fd, ulong request, byte[] arg) => SysIoctl(fd, request, arg) < 0 ? Err() : 0;
    public static int IoctlInt(int fd, ulong request, int value) { int v = value; return SysIoctlValue(fd, request, ref v) < 0 ? Err() : 0; }
    public static int IoctlValue(int fd, ulong request, ulong value) => SysIoctlULong(fd, request, (nuint)value) < 0 ? Err() : 0;
    public static int SetNonBlocking(int fd) => SysFcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK) < 0 ? Err() : 0;
    private static int LastErrno() => -Marshal.GetLastSystemError();

    public static int Read(int fd, byte[] buffer) { nint n = SysRead(fd, ref MemoryMarshal.GetArrayDataReference(buffer), buffer.Length); return n < 0 ? LastErrno() : (int)n; }

    public static int Write(int fd, byte[] buffer, int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)buffer.Length, nameof(count));
        nint n = SysWrite(fd, ref MemoryMarshal.GetArrayDataReference(buffer), count);
        return n < 0 ? LastErrno() : (int)n;
    }

    public static int Read(int fd, PinnedArray<byte> buffer) { nint n = SysReadAt(fd, buffer.Address, buffer.Length); return n < 0 ? LastErrno() : (int)n; }

    public static int Write(int fd, PinnedArray<byte> buffer, int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)buffer.Length, nameof(count));
        nint n = SysWriteAt(fd, buffer.Address, count);
        return n < 0 ? LastErrno() : (int)n;
    }

    /// <summary>poll(2) on the first <paramref name="count"/> entries (none: it just sleeps for the timeout).</summary>
    public static int Poll(PinnedArray<PollFd> fds, int count, int timeoutMs)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)fds.Length, nameof(count));
        int r = SysPollAt(count == 0 ? 0 : fds.Address, (nuint)count, timeoutMs);
        return r < 0 ? LastErrno() : r;
    }
    public static int Setns(int fd, int nstype) => SysSetns(fd, nstype) < 0 ? Err() : 0;
}
