using Xmit.Packetdrill;
using Xmit.Tests.Cli;

namespace Xmit.Tests.Packetdrill;

/// <summary>
/// Scripts with values out of range (issue 11): a length no buffer can have, a window or MSS that does not fit its
/// 16-bit field, binary junk, a syntax error — each a clear message naming the line, never an exception.
/// </summary>
public class PacketdrillRangeTests
{
    private const string Handshake = """
        `../common/defaults.sh`
        0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
        +0 bind(3, ..., ...) = 0
        +0 listen(3, 1) = 0
        +0 < S 0:0(0) win 65535 <mss 1460,nop,wscale 7>
        +0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>
        +.010 < . 1:1(0) ack 1 win 512
        +0 accept(3, ..., ...) = 4

        """;

    [Theory]
    [InlineData("+0 write(4, ..., 99999999999) = 1", "write: length 99999999999 is out of range")]
    [InlineData("+0 read(4, ..., -5) = -1", "read: length -5 is out of range")]
    public void A_length_out_of_range_fails_the_script_at_its_line(string call, string reason)
    {
        var (script, error) = ScriptParser.Parse("t.pkt", Handshake + call + "\n");
        Assert.Null(error);
        var r = ScriptRunner.Run(script!);
        Assert.Equal(ScriptStatus.Fail, r.Status);
        Assert.Equal(10, r.Line);
        Assert.Contains(reason, r.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("+0 < . 1:1(0) ack 1 win 99999999999", "win 99999999999 is out of range for its 16-bit field")]
    [InlineData("+0 < S 0:0(0) win 65535 <mss 99999999>", "mss 99999999 is out of range for its 16-bit field")]
    [InlineData("+0 < . 1:1(0) ack 4294967296 win 1", "ack 4294967296 is out of range for its 32-bit field")]
    [InlineData("+0 < S 0:0(0) win 1 <wscale 256>", "wscale 256 is out of range for its 8-bit field")]
    [InlineData("+0 < . 1:1(0) ack 99999999999999999999999 win 1", "is not a number that fits 64 bits")]
    [InlineData("+0 write(4, ..., 99999999999999999999999) = 1", "is not a number that fits 64 bits")]
    public void A_field_out_of_range_is_a_parse_error_naming_the_line(string line, string message)
    {
        var (script, error) = ScriptParser.Parse("t.pkt", Handshake + line + "\n");
        Assert.Null(script);
        Assert.Equal(10, error!.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_endless_stream_of_zero_bytes_is_refused_after_a_bounded_read()
    {
        using var zeros = new EndlessZeros();
        Assert.Null(ScriptText.TryRead(zeros, out var error));
        Assert.Contains("larger than 1 MiB", error, StringComparison.Ordinal);
        Assert.True(zeros.Position <= ScriptText.MaxBytes + 1);
        Assert.Null(ScriptText.TryRead(new MemoryStream(new byte[100]), out error));
        Assert.Contains("binary data", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Zero_bytes_as_a_script_are_one_line_on_stderr_and_exit_2()
    {
        if (!File.Exists("/dev/zero")) return;
        var (code, output, err) = SimPingCommandTests.Xmit("packetdrill /dev/zero");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal("xmit packetdrill: /dev/zero: larger than 1 MiB: not a packetdrill script", err.TrimEnd());
    }

    [Fact]
    public void A_syntax_error_is_one_line_with_the_line_and_the_message()
    {
        var r = new ScriptResult("t.pkt", ScriptStatus.Fail, "syntax error: expected a packet", 2);
        Assert.Equal("FAIL t.pkt:2: syntax error: expected a packet", r.ToString());
    }

    [Fact]
    public void Under_corpus_bad_scripts_fail_one_by_one_and_the_run_goes_on()
    {
        var corpus = Directory.CreateTempSubdirectory("xmit-range-");
        try
        {
            File.WriteAllText(Path.Combine(corpus.FullName, "a-write.pkt"), Handshake + "+0 write(4, ..., 99999999999) = 1\n");
            File.WriteAllText(Path.Combine(corpus.FullName, "b-read.pkt"), Handshake + "+0 read(4, ..., -5) = -1\n");
            File.WriteAllBytes(Path.Combine(corpus.FullName, "c-zeros.pkt"), new byte[4096]);
            File.WriteAllText(Path.Combine(corpus.FullName, "d-syntax.pkt"), "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 foo bar (((\n");
            File.WriteAllText(Path.Combine(corpus.FullName, "e-win.pkt"), Handshake + "+0 < . 1:1(0) ack 1 win 99999999999\n");
            var (code, output, err) = SimPingCommandTests.Xmit($"packetdrill --corpus {corpus.FullName}");
            Assert.Equal(1, code);
            Assert.Equal("", err);
            Assert.Contains("a-write.pkt:10: write: length 99999999999 is out of range", output, StringComparison.Ordinal);
            Assert.Contains("b-read.pkt:10: read: length -5 is out of range", output, StringComparison.Ordinal);
            Assert.Contains("c-zeros.pkt:0: line 1: binary data", output, StringComparison.Ordinal);
            Assert.Contains("d-syntax.pkt:2: syntax error: expected a packet, a system call or a `command` but found 'foo'", output, StringComparison.Ordinal);
            Assert.Contains("e-win.pkt:10: syntax error: win 99999999999 is out of range", output, StringComparison.Ordinal);
            Assert.Contains("0 pass, 5 fail, 0 unsupported", output, StringComparison.Ordinal);
            Assert.DoesNotContain("expected: \n", output, StringComparison.Ordinal);
        }
        finally
        {
            corpus.Delete(recursive: true);
        }
    }

    /// <summary>/dev/zero as a stream: never ends.</summary>
    private sealed class EndlessZeros : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Clear(buffer, offset, count);
            _position += count;
            return count;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
