using System.Text.Json;
using System.Text.RegularExpressions;
using Xmit.Cli;
using Xmit.Cli.Commands;
using Xmit.Time;

namespace Xmit.Tests.Cli;

public class SimTcpCommandTests
{
    private static JsonElement RunJson(TcpBulkConfig c, out string text)
    {
        var t = new StringWriter();
        var j = new StringWriter();
        Assert.Equal(0, SimTcpCommand.Run(c, null, false, t, TextWriter.Null));
        Assert.Equal(0, SimTcpCommand.Run(c, null, true, j, TextWriter.Null));
        text = t.ToString();
        return JsonDocument.Parse(j.ToString()).RootElement;
    }

    [Fact]
    public void Default_run_completes_and_its_numbers_add_up()
    {
        var doc = RunJson(new TcpBulkConfig { Duration = Duration.FromSeconds(2) }, out var text);
        var g = doc.GetProperty("goodput");
        long received = g.GetProperty("bytesReceived").GetInt64();
        double seconds = (g.GetProperty("intervalEndMs").GetDouble() - g.GetProperty("intervalStartMs").GetDouble()) / 1000;
        Assert.Equal(2.0, seconds, 6);
        Assert.Equal(received * 8 / seconds, g.GetProperty("bitsPerSecond").GetDouble(), 3);
        Assert.True(g.GetProperty("bitsPerSecond").GetDouble() <= g.GetProperty("capacityBitsPerSecond").GetDouble() * 1.001);
        Assert.True(g.GetProperty("utilisation").GetDouble() > 0.9, text); // 100 Mbit/s, 100 µs RTT: the link is full

        // Every byte written is acknowledged-and-at-B, in flight, or not yet sent.
        var end = doc.GetProperty("atEnd");
        long written = doc.GetProperty("writes").GetProperty("bytesWritten").GetInt64();
        long atB = received + end.GetProperty("receiverQueue").GetInt64();
        long inFlight = end.GetProperty("inFlight").GetInt64(), notSent = end.GetProperty("notSent").GetInt64();
        Assert.InRange(written, atB + notSent, atB + notSent + inFlight);

        var samples = doc.GetProperty("samples").EnumerateArray().ToList();
        Assert.True(samples.Count >= 20, $"{samples.Count} samples");
        Assert.Equal(100, samples[1].GetProperty("atMs").GetDouble() - samples[0].GetProperty("atMs").GetDouble(), 6);
        Assert.Equal(received, samples[^1].GetProperty("bytesReceived").GetInt64());
        Assert.Contains(samples, s => s.GetProperty("cwnd").GetInt64() > 10 && s.GetProperty("srttUs").GetInt64() > 0);

        var eagain = doc.GetProperty("firstEagain");
        Assert.True(eagain.GetProperty("wmemQueued").GetInt64() >= eagain.GetProperty("sndBuf").GetInt64());
        Assert.Contains(eagain.GetProperty("text").GetString()!, text);
        Assert.Matches(@"wmem_queued \d+ >= sndbuf \d+: \d+ bytes not yet sent, \d+ in flight", text);
        var m = Regex.Match(text, @"goodput ([\d.]+) Mbit/s: (\d+) bytes read by B");
        Assert.True(m.Success, text);
        Assert.Equal(received, long.Parse(m.Groups[2].Value));
        Assert.Equal(0, doc.GetProperty("retransmissions").GetProperty("retransSegs").GetInt64());
        Assert.Equal(1, doc.GetProperty("senderCounters").GetProperty("ActiveOpens").GetInt64());
    }

    [Fact]
    public void Tbf_at_10mbit_gives_10mbit_of_goodput()
    {
        var (code, o, err) = SimPingCommandTests.Xmit("sim tcp --duration 2s --qdisc tbf --tbf-rate 10mbit --json");
        Assert.True(code == 0, err);
        var g = JsonDocument.Parse(o).RootElement.GetProperty("goodput");
        Assert.Equal("tbf", g.GetProperty("limit").GetString());
        Assert.InRange(g.GetProperty("bitsPerSecond").GetDouble(), 9e6, 11e6);
    }

    [Fact]
    public void Loss_retransmits_and_the_options_reach_the_sockets()
    {
        var doc = RunJson(new TcpBulkConfig
        {
            Duration = Duration.FromSeconds(1), LossRate = 0.01, CongestionControl = "reno", SndBuf = 100_000, RcvBuf = 100_000, NoDelay = true, WriteSize = 1000,
        }, out var text);
        Assert.Equal("reno", doc.GetProperty("congestionControl").GetString());
        Assert.True(doc.GetProperty("retransmissions").GetProperty("retransSegs").GetInt64() > 0, text);
        Assert.All(doc.GetProperty("samples").EnumerateArray(), s =>
        {
            Assert.Equal(200_000, s.GetProperty("sndBuf").GetInt32());
            Assert.Equal(200_000, s.GetProperty("receiverRcvBuf").GetInt32());
        });
    }

    [Theory]
    [InlineData("--cc vegas", "--cc must be one of cubic, reno, not vegas")]
    [InlineData("--qdisc fq_codel", "fq_codel")]
    [InlineData("--rate abc", "--rate")]
    [InlineData("--write-size 0", "--write-size must be between")]
    [InlineData("--sndbuf -5", "--sndbuf must be a number of bytes")]
    [InlineData("--rcvbuf lots", "--rcvbuf must be a number of bytes")]
    [InlineData("--qdisc tbf --burst lots", "--burst")]
    [InlineData("--duration 0s", "duration must be positive")]
    [InlineData("--loss 2", "--loss must be between 0 and 1, not 2")]
    [InlineData("--app chat", "--app must be one of bulk, rr, stream, not chat")]
    [InlineData("--request 100", "--request applies to --app rr only")]
    [InlineData("--app stream --response 5", "--response applies to --app rr only")]
    [InlineData("--stream-rate 10mbit", "--stream-rate applies to --app stream only")]
    [InlineData("--app rr --request 0", "--request must be between 1 and")]
    [InlineData("--app stream --stream-rate fast", "--stream-rate must be a rate")]
    [InlineData("--app stream -w 1 --stream-rate 1gbit", "come less than 1us apart")]
    [InlineData("--autocorking 2", "--autocorking must be between 0 and 1, not 2")]
    [InlineData("--tso maybe", "--tso must be one of on, off, not maybe")]
    [InlineData("--bql off --bql-limit-max 3000", "--bql-limit-max needs --bql on")]
    [InlineData("--ring 8", "--ring must be between 32 and 65536, not 8")]
    [InlineData("--txqueuelen -1", "--txqueuelen must be between 0 and 1000000, not -1")]
    [InlineData("--tx-frames 0", "--tx-frames must be between 1 and 65536, not 0")]
    public void Bad_values_fail_with_one_error_line(string args, string message)
    {
        var (code, output, err) = CliErrorTests.Run("sim tcp " + args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Single(lines);
        Assert.Contains(message, lines[0]);
        Assert.DoesNotContain("Exception", err);
    }
}

public class SimMultiQueueCommandTests
{
    [Theory]
    [InlineData("sim tcp --duration 500ms --tx-queues 4 --json")]
    [InlineData("sim --duration 200ms --tx-queues 4 --json")]
    public void Tx_queues_give_mq_with_a_child_per_queue_whose_counts_add_up(string args)
    {
        var (code, o, err) = SimPingCommandTests.Xmit(args);
        Assert.True(code == 0, err);
        var show = JsonDocument.Parse(o).RootElement.GetProperty("tcQdiscShow").EnumerateArray().Select(x => x.GetString()!).ToList();
        var heads = show.Where(l => l.StartsWith("qdisc", StringComparison.Ordinal)).ToList();
        Assert.Equal(["qdisc mq 0: root", .. new[] { 4, 3, 2, 1 }.Select(i => $"qdisc pfifo_fast 0: parent :{i} bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1")], heads);
        var sent = show.Where(l => l.StartsWith(" Sent", StringComparison.Ordinal))
            .Select(l => long.Parse(Regex.Match(l, @"Sent \d+ bytes (\d+) pkt").Groups[1].Value)).ToList();
        Assert.Equal(sent[0], sent.Skip(1).Sum());
        // One flow: its data all took one queue (the others carry at most the ARP exchange).
        Assert.Single(sent.Skip(1), n => n > 10);
    }

    [Theory]
    [InlineData("sim --qdisc mq", "mq needs a multi-queue device")]
    [InlineData("sim tcp --tx-queues 65", "--tx-queues must be between 1 and 64")]
    [InlineData("sim --tx-queues 4 --qdisc mq --limit 10", "--limit does not apply to mq")]
    public void Bad_multi_queue_options_are_refused_with_one_line(string args, string message)
    {
        var (code, o, err) = SimPingCommandTests.Xmit(args);
        Assert.Equal(2, code);
        Assert.Equal("", o);
        Assert.Contains(message, err);
        Assert.Single(err.Trim().Split('\n'));
    }

    /// <summary>
    /// `--ecn 1 --ce-mark P`: ECN on both hosts and CE marks on the wire — the report counts the marks and A's CWR
    /// episodes, and nothing is resent for them; without ECN (the default) the same marks find no ECT frame.
    /// </summary>
    [Fact]
    public void Ecn_with_ce_marks_cuts_cwnd_without_retransmitting()
    {
        var o = new StringWriter();
        Assert.Equal(0, XmitCli.Run(["sim", "tcp", "--duration", "500ms", "--ecn", "1", "--ce-mark", "0.01"], o, TextWriter.Null));
        var text = o.ToString();
        Assert.Matches(@"wire a->b: .*, [1-9]\d* CE-marked", text);
        Assert.Matches(@"RetransSegs 0, .*; CWR entered [1-9]\d* times", text);
        o = new StringWriter();
        Assert.Equal(0, XmitCli.Run(["sim", "tcp", "--duration", "500ms", "--ce-mark", "0.01"], o, TextWriter.Null));
        Assert.DoesNotContain("CE-marked", o.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("CWR entered", o.ToString(), StringComparison.Ordinal);
        Assert.NotEqual(0, XmitCli.Run(["sim", "tcp", "--ecn", "3"], TextWriter.Null, TextWriter.Null));
    }
}
