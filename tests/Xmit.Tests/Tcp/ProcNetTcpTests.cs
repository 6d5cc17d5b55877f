using System.Text.RegularExpressions;
using Xmit.Sockets.Api;
using Xmit.Tests.Support;
using Xmit.Transport.Tcp;

namespace Xmit.Tests.Tcp;

/// <summary>
/// /proc/net/tcp's lines as tcp4_seq_show() prints them. The layout is the one of this line, read off Linux 6.18 in a
/// packetdrill run (tests/scripts/tcp/tcp-md5-unexpected.pkt greps it):
/// <c>   2: 011412C6:1F90 011512C6:B8D5 01 00000000:00000000 00:00000000 00000000     0        0 2966817 1 000000003a591f1d 21 4 30 10 -1</c>.
/// </summary>
public class ProcNetTcpTests
{
    private static readonly Regex LinuxLine = new(
        @"^ +\d+: [0-9A-F]{8}:[0-9A-F]{4} [0-9A-F]{8}:[0-9A-F]{4} [0-9A-F]{2} [0-9A-F]{8}:[0-9A-F]{8} [0-9A-F]{2}:[0-9A-F]{8} [0-9A-F]{8} +\d+ +\d+ \d+ \d+ [0-9a-fA-F]{16} \d+ \d+ \d+ \d+ -?\d+ *$");

    [Fact]
    public void A_listener_and_both_ends_of_a_connection_are_listed_with_their_queues()
    {
        using var net = new TwoHosts();
        net.WarmUp();
        var tcp = TcpConnection.Open(net.Sim, net.A, net.B, TwoHosts.AddrB, port: 8080);
        var s = new Syscalls(net.B);
        int listener = s.Socket(Af.AF_INET, SockType.SOCK_STREAM, 0);
        Assert.Equal(0, s.Bind(listener, new SockAddrIn(TwoHosts.AddrB, 8081)));
        Assert.Equal(0, s.Listen(listener, 5));
        Assert.Equal(300, tcp.A.Write(tcp.Client, new byte[300])); // unacknowledged when the table is read
        var lines = ProcNetTcp.Format(net.B.Tcp, net.Sim.Now).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", lines[0]);
        Assert.All(lines, l => Assert.Equal(149, l.Length));
        Assert.All(lines.Skip(1), l => Assert.Matches(LinuxLine, l));
        // 198.18.0.2 is C6.12.00.02 on the wire, 020012C6 as the kernel prints a __be32; 8081 is 1F91.
        Assert.Single(lines, l => l.Contains(" 020012C6:1F91 00000000:0000 0A ", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains(" 020012C6:1F90 010012C6:", StringComparison.Ordinal) && l.Contains(" 01 ", StringComparison.Ordinal));
        var client = ProcNetTcp.Format(net.A.Tcp, net.Sim.Now).Split('\n', StringSplitOptions.RemoveEmptyEntries)[1];
        Assert.Contains(" 01 0000012C:00000000 01:", client, StringComparison.Ordinal); // 300 bytes out, the RTO armed
        s.CloseAll();
        tcp.Close();
    }
}
