using System.Diagnostics.Tracing;
using Xmit.Diagnostics;

namespace Xmit.Cli;

/// <summary>
/// `--trace FILE`: listens to the Xmit EventSource and writes each event to the file as a line of ftrace's trace
/// (<see cref="FtraceFormat"/>). An EventListener is told of an event on the thread that wrote it, and a simulation
/// runs on the thread that started it, so only events written on the thread that opened the writer are kept: a
/// simulation elsewhere in the process (another test) is not this run's.
/// </summary>
public sealed class FtraceWriter : EventListener
{
    private readonly int _thread = Environment.CurrentManagedThreadId;
    private readonly System.Threading.Lock _gate = new();
    private TextWriter? _out;

    private FtraceWriter()
    {
    }

    /// <summary>Events written so far.</summary>
    public long Events { get; private set; }

    /// <summary>Creates (or truncates) <paramref name="file"/> and starts listening; throws IOException or UnauthorizedAccessException.</summary>
    public static FtraceWriter Open(FileInfo file)
    {
        var w = new StreamWriter(file.Create()) { NewLine = "\n" };
        w.WriteLine(FtraceFormat.Header);
        var writer = new FtraceWriter();
        lock (writer._gate) writer._out = w;
        return writer;
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == XmitEventSource.SourceName) EnableEvents(source, EventLevel.Verbose, EventKeywords.All);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (Environment.CurrentManagedThreadId != _thread || e.EventSource.Name != XmitEventSource.SourceName || e.PayloadNames is null) return;
        var fields = new Dictionary<string, object?>(e.PayloadNames.Count);
        for (int i = 0; i < e.PayloadNames.Count; i++) fields[e.PayloadNames[i]] = e.Payload![i];
        lock (_gate)
        {
            if (_out is null) return; // not open yet, or already closed
            _out.WriteLine(FtraceFormat.Line(e.EventName!, fields));
            Events++;
        }
    }

    public override void Dispose()
    {
        base.Dispose(); // stop listening first, then close the file
        lock (_gate)
        {
            _out?.Dispose();
            _out = null;
        }
        GC.SuppressFinalize(this);
    }
}
