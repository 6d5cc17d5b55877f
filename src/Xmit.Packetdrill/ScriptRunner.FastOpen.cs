using System.Globalization;
using Xmit.Transport.Tcp;

namespace Xmit.Packetdrill;

public sealed partial class ScriptRunner
{
    /// <summary>
    /// The key packetdrill's common/defaults.sh writes to net.ipv4.tcp_fastopen_key (the tcp_fastopen_key line
    /// of <see cref="BuiltInDefaults"/>): the scripts' TFO_COOKIE is a cookie under it.
    /// </summary>
    private static readonly string DefaultsFastOpenKey =
        BuiltInDefaults.Single(l => l.Contains("tcp_fastopen_key=", StringComparison.Ordinal)).Split('=')[1];

    /// <summary>
    /// The cookie a Fast Open option names: hex digits as written, or one of the names packetdrill's runners
    /// define with -D for their addresses (run_all.py: -D TFO_COOKIE=3021b9d889017eeb for 192.0.2.1 → 192.168.0.1).
    /// Here they are computed the same way for this run's addresses: TFO_COOKIE the cookie of remote → local
    /// under the defaults.sh key, TFO_COOKIE_ZERO under the all-zero key. A request (no cookie) is empty.
    /// </summary>
    private byte[] CookieBytes(TcpOption o, int line)
    {
        switch (o.Cookie)
        {
            case null:
                return [];
            case "TFO_COOKIE":
                return FastOpenKeys.Parse(DefaultsFastOpenKey)!.Cookie(0, _remote, _local);
            case "TFO_COOKIE_ZERO":
                return FastOpenKeys.Parse("00000000-00000000-00000000-00000000")!.Cookie(0, _remote, _local);
        }
        var hex = o.Cookie;
        if (hex.Length % 2 != 0 || hex.Length > 72 || !hex.All(Uri.IsHexDigit)) // up to what fits 40 option bytes
            throw new UnsupportedException($"line {line}: Fast Open cookie '{hex}' is not hex bytes or a known name");
        return Convert.FromHexString(hex);
    }
}
