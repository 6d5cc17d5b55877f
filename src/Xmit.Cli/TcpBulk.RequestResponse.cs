using Xmit.Sockets.Api;
using Xmit.Time;

namespace Xmit.Cli;

/// <summary>
/// `--app rr`: a closed loop with one transaction outstanding, as netperf's TCP_RR — A writes a request of
/// <see cref="TcpBulkConfig.RequestSize"/> bytes (in writes of at most the write size, corked with --cork), B reads
/// all of it and writes a response of <see cref="TcpBulkConfig.ResponseSize"/> bytes (in one write() as far as its send
/// buffer takes it, the rest at its EPOLLOUT), A reads all of that and
/// writes the next request at once. A transaction's latency runs from its request's first write() to the read()
/// that completes its response.
/// </summary>
public sealed partial class TcpBulk
{
    private Timer? _responder, _clientReader;
    private bool _requestInProgress, _awaitingResponse, _responderWaiting;
    /// <summary>Bytes of A's current message (a request, or a stream's write) not yet taken by the socket.</summary>
    private int _messageLeft;
    private Instant _transactionStart;
    private long _transactions, _responsesStarted, _responseLeft, _responseBytesWritten, _responseBytesRead, _responderEagain;
    private readonly List<long> _transactionNs = [];
    /// <summary>B's response, written with as few write() calls as the socket allows (a server writes its reply whole).</summary>
    private byte[] _responseBuffer = [];

    private void StartRequestResponse()
    {
        _responseBuffer = new byte[Math.Min(_c.ResponseSize, 1 << 20)];
        _responder = new Timer(_sim.Scheduler, WriteResponse, "responder");
        _clientReader = new Timer(_sim.Scheduler, ReadResponse, "client reader");
        _skb!.StreamWriteSpace += _ => { if (_responderWaiting) { _responderWaiting = false; Soon(_responder); } };
        _ska!.DataReady += _ => Soon(_clientReader);
        _writer!.Arm(_start);
    }

    /// <summary>A: starts a request when none is under way, then writes what is left of it (again at each EPOLLOUT).</summary>
    private void WriteRequest()
    {
        if (_ended) return;
        if (!_requestInProgress && !_awaitingResponse)
        {
            _transactionStart = _sim.Now;
            BeginMessage(_c.RequestSize);
            _requestInProgress = true;
        }
        if (!_requestInProgress || !WriteMessage()) return;
        _requestInProgress = false;
        _awaitingResponse = true;
    }

    /// <summary>A new application message: with --cork, TCP_CORK goes on before its first byte.</summary>
    private void BeginMessage(int bytes)
    {
        _messageLeft = bytes;
        if (_c.Cork) Cork(true);
    }

    /// <summary>Writes the rest of the current message in writes of at most the write size; true once the socket took all of it (and the cork, if any, is cleared).</summary>
    private bool WriteMessage()
    {
        while (_messageLeft > 0)
        {
            int n = WriteOnce(Math.Min(_messageLeft, _c.WriteSize));
            if (n <= 0) return false;
            _messageLeft -= n;
        }
        if (_c.Cork) Cork(false);
        return true;
    }

    /// <summary>B: reads what arrived; each request read whole starts a response.</summary>
    private void ReadRequest()
    {
        if (_ended) return;
        while (true)
        {
            int rc = _sb.Read(_server, _readBuffer);
            if (rc <= 0) break;
            _received += rc;
        }
        while (_received >= (_responsesStarted + 1) * (long)_c.RequestSize)
        {
            _responsesStarted++;
            _responseLeft += _c.ResponseSize;
        }
        if (_responseLeft > 0) WriteResponse();
    }

    /// <summary>B: writes what is left of the response until EAGAIN, then again at B's write-space wake-up.</summary>
    private void WriteResponse()
    {
        if (_ended) return;
        while (_responseLeft > 0)
        {
            int rc = _sb.Write(_server, _responseBuffer.AsSpan(0, (int)Math.Min(_responseLeft, _responseBuffer.Length)));
            if (rc > 0)
            {
                _responseLeft -= rc;
                _responseBytesWritten += rc;
                continue;
            }
            if (rc == -(int)Errno.EAGAIN)
            {
                _responderEagain++;
                _responderWaiting = true;
                if (_skb!.StreamWriteable) Soon(_responder!);
                return;
            }
            var name = "B " + ((Errno)(-rc)).ToString();
            _errors[name] = _errors.GetValueOrDefault(name) + 1;
            return;
        }
    }

    /// <summary>A: reads the response; the read that completes it ends the transaction and the next request follows at once.</summary>
    private void ReadResponse()
    {
        if (_ended) return;
        while (true)
        {
            int rc = _sa.Read(_client, _readBuffer);
            if (rc <= 0) break;
            _responseBytesRead += rc;
        }
        if (!_awaitingResponse || _responseBytesRead < (_transactions + 1) * (long)_c.ResponseSize) return;
        _transactions++;
        _transactionNs.Add((_sim.Now - _transactionStart).Nanoseconds);
        _awaitingResponse = false;
        WriteRequest();
    }

    private TcpRequestResponse BuildRequestResponse(double seconds) => new(_c.RequestSize, _c.ResponseSize, _transactions, _transactions / seconds,
        _receivedAtEnd, _responseBytesWritten, _responseBytesRead, _responderEagain, TcpLatency.Of(_transactionNs));
}
