using System.Threading;
using System.IO.Pipelines;

namespace Xmit.Applications;

/// <summary>
/// A reader and a writer as one <see cref="IDuplexPipe"/>. Both sides leave the stream open, since each would
/// otherwise close it while the other still uses it; the stream is disposed when both are completed.
/// </summary>
internal sealed class DuplexPipe : IDuplexPipe
{
    private readonly Stream? _owned;
    private int _completed;

    public DuplexPipe(PipeReader reader, PipeWriter writer, Stream? owned)
    {
        _owned = owned;
        Input = new CompletionReader(reader, this);
        Output = new CompletionWriter(writer, this);
    }

    public PipeReader Input { get; }
    public PipeWriter Output { get; }

    private void SideCompleted()
    {
        if (++_completed == 2) _owned?.Dispose();
    }

    /// <summary>Passes everything through and counts the completion.</summary>
    private sealed class CompletionReader(PipeReader inner, DuplexPipe owner) : PipeReader
    {
        private bool _done;
        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);
        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);
        public override void CancelPendingRead() => inner.CancelPendingRead();
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);
        public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

        public override void Complete(Exception? exception = null)
        {
            inner.Complete(exception);
            if (_done) return;
            _done = true;
            owner.SideCompleted();
        }
    }

    /// <summary>Passes everything through and counts the completion.</summary>
    private sealed class CompletionWriter(PipeWriter inner, DuplexPipe owner) : PipeWriter
    {
        private bool _done;
        public override void Advance(int bytes) => inner.Advance(bytes);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();
        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;
        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Complete(Exception? exception = null)
        {
            inner.Complete(exception);
            if (_done) return;
            _done = true;
            owner.SideCompleted();
        }
    }
}
