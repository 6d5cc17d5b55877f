using Xmit.Packetdrill;

namespace Xmit.Tests.Packetdrill;

/// <summary>
/// The runner's ECN: inbound [ect0] / [ect1] / [ce] / [noecn] set the IP ECN field, outbound ones check it ([ect01]
/// takes either ECT), a line without one checks nothing (packetdrill's TOS_CHECK_NONE), and the E and W flags go
/// both ways. The script is the runner's test, written to Linux 6.18's tcp_ecn_* functions (not a linux-truth capture).
/// </summary>
public class EcnScriptTests
{
    private const string Script = @"// ECN at a passive end: the CE echo until CWR, ECT(0) on new data, CWR after an ECE.
`../common/defaults.sh
sysctl -q net.ipv4.tcp_ecn=2
`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0

  +.1 < SEW 0:0(0) win 32792 <mss 1000,nop,nop,sackOK,nop,wscale 7>
   +0 > SE. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
  +.1 < [ect1] . 1:1(0) ack 1 win 320
   +0 accept(3, ..., ...) = 4

// A CE mark is ACKed at once with ECE, and ECE goes on until CWR comes.
   +0 < [ce] P. 1:101(100) ack 1 win 320
   +0 > [noecn] E. 1:1(0) ack 101
   +0 < [ect0] P. 101:201(100) ack 1 win 320
   +0 > E. 1:1(0) ack 201
   +0 < [ect0] PW. 201:301(100) ack 1 win 320
   +0 > [noecn] . 1:1(0) ack 301

// New data goes ECT(0); an ECE puts the sender in CWR and its next new data carries CWR.
   +0 write(4, ..., 1000) = 1000
   +0 > [ect0] P. 1:1001(1000) ack 301
+.01 < [ect0] E. 301:301(0) ack 1001 win 320
   +0 %{
assert tcpi_ca_state == TCP_CA_CWR, tcpi_ca_state
assert tcpi_delivered_ce == 1, tcpi_delivered_ce
}%
   +0 write(4, ..., 1000) = 1000
   +0 > [ect01] PW. 1001:2001(1000) ack 301
   +0 write(4, ..., 1000) = 1000
   +0 > [ect0] P. 2001:3001(1000) ack 301
";

    private static ScriptResult Run(string text)
    {
        var (script, error) = ScriptParser.Parse("ecn.pkt", text);
        Assert.True(error is null, error?.ToString());
        return ScriptRunner.Run(script!, null);
    }

    [Fact]
    public void The_ce_echo_ect0_data_and_cwr_after_ece_pass()
    {
        var result = Run(Script);
        Assert.True(result.Status == ScriptStatus.Pass, result.ToString());
    }

    [Theory]
    // The ECN field of outbound data is checked when the line gives one...
    [InlineData("> [ect0] P. 1:1001(1000) ack 301", "> [noecn] P. 1:1001(1000) ack 301", "ECN")]
    [InlineData("> [ect0] P. 1:1001(1000) ack 301", "> [ce] P. 1:1001(1000) ack 301", "ECN")]
    [InlineData("> [noecn] . 1:1(0) ack 301", "> [ect0] . 1:1(0) ack 301", "ECN")]
    // ...and ECE / CWR are flags like any other.
    [InlineData("> [noecn] E. 1:1(0) ack 101", "> [noecn] . 1:1(0) ack 101", "flags")]
    [InlineData("> [ect01] PW. 1001:2001(1000) ack 301", "> [ect01] P. 1001:2001(1000) ack 301", "flags")]
    // An inbound segment without the CE mark starts no echo, and without CWR does not end it.
    [InlineData("< [ce] P. 1:101(100) ack 1 win 320", "< [ect0] P. 1:101(100) ack 1 win 320", "")]
    [InlineData("< [ect0] PW. 201:301(100) ack 1 win 320", "< [ect0] P. 201:301(100) ack 1 win 320", "flags")]
    public void A_changed_ecn_line_fails(string original, string changed, string reason)
    {
        Assert.Contains(original, Script, StringComparison.Ordinal);
        var result = Run(Script.Replace(original, changed, StringComparison.Ordinal));
        Assert.Equal(ScriptStatus.Fail, result.Status);
        Assert.Contains(reason, result.Reason + result.Expected + result.Actual, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void An_outbound_line_without_an_ecn_marking_does_not_check_it()
    {
        var result = Run(Script.Replace("> [ect0] P. 2001:3001(1000) ack 301", "> P. 2001:3001(1000) ack 301", StringComparison.Ordinal));
        Assert.True(result.Status == ScriptStatus.Pass, result.ToString());
    }

    [Fact]
    public void Accecn_and_urgent_data_stay_unsupported()
    {
        Assert.Equal(ScriptStatus.Unsupported, Run(Script.Replace("tcp_ecn=2", "tcp_ecn=3", StringComparison.Ordinal)).Status);
        Assert.Equal(ScriptStatus.Unsupported, Run(Script.Replace("< [ect0] P. 101:201(100)", "< [ect0] PU. 101:201(100)", StringComparison.Ordinal)).Status);
    }
}
