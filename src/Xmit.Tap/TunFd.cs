namespace Xmit.Tap;

/// <summary>An open TAP file descriptor (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), created in a network namespace if asked.</summary>
public sealed class TunFd : IDisposable
{
    /// <summary>sizeof(struct virtio_net_hdr).</summary>
    public const int VnetHeaderLength = 10;

    private TunFd(int fd, string name)
    {
        Fd = fd;
        Name = name;
    }

    public int Fd { get; private set; }
    public string Name { get; }

    /// <summary>
    /// Opens /dev/net/tun and creates (or attaches to) TAP device <paramref name="name"/>. With
    /// <paramref name="netns"/>, a short-lived thread enters that namespace first (setns works per thread), so
    /// the device is born there and never appears in the caller's namespace. Returns the fd or an error text.
    /// </summary>
    public static (TunFd? Tun, string? Error) Open(string name, string? netns, bool checksumOffload = false)
    {
        if (name.Length is 0 or > 15) return (null, $"device name '{name}' must be 1 to 15 characters");
        if (Native.GetEuid() != 0) return (null, "xmit tap needs root (CAP_NET_ADMIN) to create TAP devices and namespaces");
        if (!File.Exists("/dev/net/tun")) return (null, "/dev/net/tun is missing: this kernel or container has no TUN/TAP support");
        (TunFd?, string?) result = (null, "not run");
        var thread = new System.Threading.Thread(() => result = OpenHere(name, netns, checksumOffload)) { IsBackground = true, Name = "tap-open" };
        thread.Start();
        thread.Join();
        return result;
    }

    private static (TunFd?, string?) OpenHere(string name, string? netns, bool checksumOffload)
    {
        if (netns is not null)
        {
            int ns = Native.Open($"/var/run/netns/{netns}", Native.O_CLOEXEC);
            if (ns < 0) return (null, $"network namespace '{netns}' not found (ip netns add {netns}): {(Errno)(-ns)}");
            int rc = Native.Setns(ns, Native.CLONE_NEWNET);
            Native.Close(ns);
            if (rc < 0) return (null, $"cannot enter network namespace '{netns}': {(Errno)(-rc)}");
        }
        int fd = Native.Open("/dev/net/tun", Native.O_RDWR | Native.O_CLOEXEC);
        if (fd < 0) return (null, $"cannot open /dev/net/tun: {(Errno)(-fd)}");
        var ifr = new byte[40];
        System.Text.Encoding.ASCII.GetBytes(name).CopyTo(ifr, 0);
        BitConverter.GetBytes((short)(Native.IFF_TAP | Native.IFF_NO_PI | Native.IFF_VNET_HDR)).CopyTo(ifr, 16);
        int r = Native.Ioctl(fd, Native.TUNSETIFF, ifr);
        if (r < 0)
        {
            Native.Close(fd);
            return (null, r == -(int)Errno.EBUSY || r == -(int)Errno.EINVAL || r == -(int)Errno.EEXIST
                ? $"device {name} already exists{(netns is null ? "" : $" in {netns}")} and is not a free TAP device; choose another --dev"
                : $"TUNSETIFF {name}: {(Errno)(-r)}");
        }
        // With offload, the kernel may leave checksums to us and hand us TCP (TSO4) and UDP GSO frames (USO needs
        // both the v4 and v6 bits); kernels before 6.2 lack USO, so fall back to checksum offload and TSO alone.
        if ((r = Native.IoctlInt(fd, Native.TUNSETVNETHDRSZ, VnetHeaderLength)) < 0 ||
            checksumOffload && (r = Native.IoctlValue(fd, Native.TUNSETOFFLOAD, Native.TUN_F_CSUM | Native.TUN_F_TSO4 | Native.TUN_F_USO4 | Native.TUN_F_USO6)) < 0 &&
                (r = Native.IoctlValue(fd, Native.TUNSETOFFLOAD, Native.TUN_F_CSUM | Native.TUN_F_TSO4)) < 0 ||
            !checksumOffload && (r = Native.IoctlValue(fd, Native.TUNSETOFFLOAD, 0)) < 0 ||
            (r = Native.SetNonBlocking(fd)) < 0)
        {
            Native.Close(fd);
            return (null, $"configuring {name}: {(Errno)(-r)}");
        }
        return (new TunFd(fd, name), null);
    }

    public void Dispose()
    {
        if (Fd >= 0) Native.Close(Fd);
        Fd = -1;
    }
}
