using System.CommandLine;
using Xmit.Tap;

namespace Xmit.Cli;

/// <summary>`--mode`, `--bytes`, `--duration` and `--write-size` of `xmit tap tcp-connect` and `tcp-listen`.</summary>
public sealed class TcpAppCliOptions
{
    private static readonly string[] Modes = ["source", "sink", "echo"];
    private readonly Option<string> _mode;
    private readonly Option<long> _bytes = CliOptions.Long("--bytes", "-n", "source: bytes to send (0: until --duration or Ctrl-C); sink/echo: stop after this many (0: at the end of the stream)", 0, 0, long.MaxValue);
    private readonly Option<Time.Duration> _duration = CliOptions.Duration("--duration", "Stop after this long (0: no limit)", "0s");
    private readonly Option<int> _writeSize = CliOptions.Int("--write-size", "-w", "Bytes per write", 65536, 1, 16 << 20);

    public TcpAppCliOptions(Command command, TcpAppMode defaultMode)
    {
        _mode = new Option<string>("--mode") { Description = "source (send the test stream), sink (receive) or echo", DefaultValueFactory = _ => defaultMode.ToString().ToLowerInvariant() };
        CliOptions.OneOf(_mode, Modes);
        foreach (var o in new Option[] { _mode, _bytes, _duration, _writeSize }) command.Options.Add(o);
    }

    public TcpAppOptions Read(ParseResult r) => new(Enum.Parse<TcpAppMode>(r.GetValue(_mode)!, ignoreCase: true), r.GetValue(_bytes), r.GetValue(_duration), r.GetValue(_writeSize));
}
