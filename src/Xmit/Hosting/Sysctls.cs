using System.Globalization;

namespace Xmit.Hosting;

/// <summary>
/// The host's tunables, named and defaulted as in stock Linux (/proc/sys): what `sysctl -w` and
/// packetdrill's set_sysctls.py set. Unknown names are refused, so a script never silently runs with a
/// setting the stack does not have.
/// </summary>
/// <remarks>Linux: net/core/sysctl_net_core.c (wmem_default, wmem_max, rmem_default, rmem_max); net/ipv4/sysctl_net_ipv4.c (ip_default_ttl, ip_local_port_range)</remarks>
public sealed class Sysctls
{
    /// <summary>net.core.wmem_default: sndbuf of a new socket.</summary>
    public int WmemDefault { get; set; } = Sockets.Sock.DefaultBufferMax;
    /// <summary>net.core.wmem_max: the cap on SO_SNDBUF (before doubling).</summary>
    public int WmemMax { get; set; } = Sockets.Sock.DefaultBufferMax;
    public int RmemDefault { get; set; } = Sockets.Sock.DefaultBufferMax;
    public int RmemMax { get; set; } = Sockets.Sock.DefaultBufferMax;
    /// <summary>net.ipv4.ip_default_ttl.</summary>
    public int IpDefaultTtl { get; set; } = 64;
    /// <summary>net.ipv4.ip_local_port_range.</summary>
    public (ushort Low, ushort High) LocalPortRange { get; set; } = (32768, 60999);

    /// <summary>Sets <paramref name="name"/> (dotted, like net.core.wmem_max) to <paramref name="value"/>; false with a reason if unknown or invalid.</summary>
    public bool TrySet(string name, string value, out string error)
    {
        error = "";
        bool Int(out int v) => int.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out v) && v >= 0;
        switch (name)
        {
            case "net.core.wmem_default" when Int(out var v): WmemDefault = v; return true;
            case "net.core.wmem_max" when Int(out var v): WmemMax = v; return true;
            case "net.core.rmem_default" when Int(out var v): RmemDefault = v; return true;
            case "net.core.rmem_max" when Int(out var v): RmemMax = v; return true;
            case "net.ipv4.ip_default_ttl" when Int(out var v) && v is >= 1 and <= 255: IpDefaultTtl = v; return true;
            case "net.ipv4.ip_local_port_range":
                var parts = value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && ushort.TryParse(parts[0], out var lo) && ushort.TryParse(parts[1], out var hi) && lo > 0 && lo <= hi)
                {
                    LocalPortRange = (lo, hi);
                    return true;
                }
                break;
            case "net.core.wmem_default" or "net.core.wmem_max" or "net.core.rmem_default" or "net.core.rmem_max" or "net.ipv4.ip_default_ttl":
                break;
            default:
                error = $"sysctl {name} is not modelled";
                return false;
        }
        error = $"invalid value '{value}' for {name}";
        return false;
    }
}
