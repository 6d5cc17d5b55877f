using Xmit.Packetdrill;

namespace Xmit.Tests.Packetdrill;

public class ScriptParserTests
{
    /// <summary>The corpus lives beside the repository (../shared/packetdrill), as on the CI machine.</summary>
    public static string CorpusDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Xmit.slnx"))) dir = dir.Parent;
        Assert.True(dir is not null, "repository root (Xmit.slnx) not found above " + AppContext.BaseDirectory);
        var corpus = Path.GetFullPath(Path.Combine(dir!.FullName, "..", "shared", "packetdrill"));
        Assert.True(Directory.Exists(corpus), $"the packetdrill corpus is expected beside the repository at {corpus}");
        return corpus;
    }

    [Fact]
    public void Every_script_of_the_corpus_parses()
    {
        var scripts = Directory.GetFiles(CorpusDirectory(), "*.pkt", SearchOption.AllDirectories);
        Assert.True(scripts.Length > 100, $"{scripts.Length} scripts found");
        var failures = new List<string>();
        int events = 0;
        foreach (var path in scripts)
        {
            var (script, error) = ScriptParser.ParseFile(path);
            if (error is not null) failures.Add(error.ToString());
            else events += script!.Events.Count;
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {scripts.Length} scripts did not parse:\n" + string.Join("\n", failures));
        Assert.True(events > 3000, $"{events} events");
    }

    [Fact]
    public void Times_packets_syscalls_commands_and_code_parse_into_what_they_mean()
    {
        const string text = """
            --tolerance_usecs=10000
            --strict_segments
            `../common/defaults.sh`
            0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
            +0 setsockopt(3, SOL_SOCKET, SO_SNDBUF, [4096], 4) = 0
            +.1~+.2 > udp (100)
            +0...0.010 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1
            * < . 1:1(0) ack 1 win 257 <nop,nop,TS val 100 ecr 200>
            0.5 sendto(3, ..., 1000, MSG_DONTWAIT, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)
            +0 sendmsg(3, {msg_name(...)=..., msg_iov(1)=[{..., 100}], msg_flags=0}, MSG_MORE) = 100
            +0 connect(3, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("192.0.2.1")}, 16) = 0
            +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
            +0 %{ assert tcpi_rto == 1000000 }%
            +0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]
            `tc qdisc show`
            """;
        var (script, error) = ScriptParser.Parse("t.pkt", text);
        Assert.Null(error);
        var s = script!;
        Assert.Equal([new ScriptOption("tolerance_usecs", "10000", 1), new ScriptOption("strict_segments", null, 2)], s.Options);
        var e = s.Events;
        Assert.Equal(13, e.Count);
        Assert.Equal(new CommandAction("../common/defaults.sh"), e[0].Action);
        var socket = Assert.IsType<SyscallAction>(e[1].Action);
        Assert.Equal("socket", socket.Name);
        Assert.Equal(new IntExpr(3), socket.Result);
        Assert.IsType<EllipsisExpr>(socket.Arguments[0]);
        var sockopt = Assert.IsType<SyscallAction>(e[2].Action);
        Assert.Equal(new IntExpr(4096), Assert.IsType<ArrayExpr>(sockopt.Arguments[3]).Items[0]);
        Assert.Equal(new EventTime(TimeKind.Relative, 0.1, 0.2, true), e[3].Time);
        var udp = Assert.IsType<PacketAction>(e[3].Action);
        Assert.Equal(('>', "udp"), (udp.Direction, udp.Protocol));
        Assert.Equal(new EventTime(TimeKind.Relative, 0, null, false, 0.010, false), e[4].Time);
        var ev = Assert.IsType<StructExpr>(Assert.IsType<SyscallAction>(e[4].Action).Arguments[1]);
        Assert.Equal(new AssignExpr(new WordExpr("events"), new WordExpr("EPOLLOUT")), ev.Fields[0]);
        Assert.Equal(TimeKind.Any, e[5].Time.Kind);
        Assert.Equal("tcp", Assert.IsType<PacketAction>(e[5].Action).Protocol);
        var sendto = Assert.IsType<SyscallAction>(e[6].Action);
        Assert.Equal((new IntExpr(-1) as Expr, "EAGAIN", "Resource temporarily unavailable"), (sendto.Result, sendto.Errno, sendto.Note));
        Assert.Equal(new EventTime(TimeKind.Absolute, 0.5), e[6].Time);
        var msg = Assert.IsType<StructExpr>(Assert.IsType<SyscallAction>(e[7].Action).Arguments[1]);
        var msgName = Assert.IsType<AssignExpr>(msg.Fields[0]);
        var msgNameCall = Assert.IsType<CallExpr>(msgName.Target);
        Assert.Equal("msg_name", msgNameCall.Name);
        Assert.IsType<EllipsisExpr>(Assert.Single(msgNameCall.Arguments));
        Assert.IsType<EllipsisExpr>(msgName.Value);
        var iov = Assert.IsType<AssignExpr>(msg.Fields[1]);
        Assert.Equal(new IntExpr(1), Assert.Single(Assert.IsType<CallExpr>(iov.Target).Arguments));
        Assert.Equal(new IntExpr(100), Assert.IsType<StructExpr>(Assert.Single(Assert.IsType<ArrayExpr>(iov.Value).Items)).Fields[1]);
        var addr = Assert.IsType<StructExpr>(Assert.IsType<SyscallAction>(e[8].Action).Arguments[1]);
        var sinAddr = Assert.IsType<AssignExpr>(addr.Fields[2]);
        Assert.Equal(new WordExpr("sin_addr"), sinAddr.Target);
        var inet = Assert.IsType<CallExpr>(sinAddr.Value);
        Assert.Equal(("inet_addr", new StringExpr("192.0.2.1", false) as Expr), (inet.Name, Assert.Single(inet.Arguments)));
        var flags = Assert.IsType<OrExpr>(Assert.IsType<SyscallAction>(e[9].Action).Arguments[2]);
        Assert.Equal(2, flags.Terms.Count);
        Assert.IsType<CodeAction>(e[10].Action);
        Assert.Equal("icmp", Assert.IsType<PacketAction>(e[11].Action).Protocol);
        Assert.Equal(new CommandAction("tc qdisc show"), e[12].Action);
    }

    [Theory]
    [InlineData("0 socket(..., SOCK_DGRAM", 1, "expected ')'")]
    [InlineData("0 socket()\n", 2, "expected '='")]
    [InlineData("zero socket() = 3", 1, "expected a time")]
    [InlineData("+0 frobnicate", 1, "expected a packet, a system call")]
    [InlineData("0 `unterminated", 1, "unterminated")]
    public void Syntax_errors_name_the_line_and_what_was_expected(string text, int line, string message)
    {
        var (script, error) = ScriptParser.Parse("bad.pkt", text);
        Assert.Null(script);
        Assert.Equal(line, error!.Line);
        Assert.Contains(message, error.Message);
    }
}

public class PacketSpecParserTests
{
    [Fact]
    public void Every_packet_line_of_the_corpus_parses_into_a_spec()
    {
        var failures = new List<string>();
        int tcp = 0, udp = 0, icmp = 0;
        foreach (var path in Directory.GetFiles(ScriptParserTests.CorpusDirectory(), "*.pkt", SearchOption.AllDirectories))
        {
            var (script, _) = ScriptParser.ParseFile(path);
            foreach (var e in script!.Events)
            {
                if (e.Action is not PacketAction p) continue;
                var (spec, error) = PacketSpecParser.Parse(p);
                if (spec is null) failures.Add($"{path}:{e.Line}: {error} in '{p}'");
                else if (spec is TcpSpec) tcp++;
                else if (spec is UdpSpec) udp++;
                else icmp++;
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} packet lines did not parse:\n" + string.Join("\n", failures.Take(30)));
        Assert.True(tcp > 1000, $"{tcp} tcp lines");
    }

    [Fact]
    public void A_tcp_line_gives_flags_sequence_ack_window_and_options_in_order()
    {
        var (script, _) = ScriptParser.Parse("t.pkt", "0 > [ect0] S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 7,nop,wscale 8,sack 1:2 3:4>\n");
        var (spec, error) = PacketSpecParser.Parse((PacketAction)script!.Events[0].Action);
        Assert.Null(error);
        var t = Assert.IsType<TcpSpec>(spec);
        Assert.Equal(("S.", 0L, 0L, 0, 1L, 65535), (t.Flags, t.Start, t.End, t.Length, t.Ack!.Value, t.Window!.Value));
        Assert.Equal("ect0", t.Ip!.Ecn);
        Assert.Equal(["mss", "sackOK", "TS", "nop", "wscale", "sack"], t.Options!.Select(o => o.Kind));
        Assert.Equal([100L, 7], t.Options![2].Values);
        Assert.Equal([1L, 2, 3, 4], t.Options![5].Values);
        var (bad, _) = ScriptParser.Parse("b.pkt", "0 > SX 0:0(0)\n");
        Assert.Contains("not TCP flags", PacketSpecParser.Parse((PacketAction)bad!.Events[0].Action).Error);
    }
}
