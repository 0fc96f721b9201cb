using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace ModelVis.Rpc;

/// <summary>
/// StreamJsonRpc's LSP framing (<see cref="HeaderDelimitedMessageHandler"/>), made to survive a bad message. StreamJsonRpc
/// drops the connection on any frame or message it cannot read; the host instead answers such a message with a
/// JSON-RPC error (-32700 bad frame or JSON, -32600 not a request, -32601 unknown method) and reads the next one.
/// </summary>
sealed class LspMessageHandler : HeaderDelimitedMessageHandler
{
    readonly ResyncPipeReader _input;
    readonly TextWriter _log;

    LspMessageHandler(PipeWriter output, ResyncPipeReader input, HostFormatter formatter, TextWriter log)
        : base(output, input, formatter)
    {
        _input = input;
        _log = log;
    }

    public static LspMessageHandler Create(Stream input, Stream output, HostFormatter formatter, TextWriter log) =>
        new(PipeWriter.Create(output), new ResyncPipeReader(PipeReader.Create(input)), formatter, log);

    protected override async ValueTask<JsonRpcMessage?> ReadCoreAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            RejectedMessageException rejected;
            try
            {
                return await base.ReadCoreAsync(cancellationToken);
            }
            catch (BadRpcHeaderException e)
            {
                // The header's bytes may still be unread: drop them up to the blank line that ends the header.
                await _input.SkipPendingHeaderAsync(cancellationToken);
                rejected = new RejectedMessageException(RpcErrorCodes.ParseError, $"bad message frame: {e.Message}");
            }
            catch (ArgumentOutOfRangeException e) when (e.ParamName == "contentLength")
            {
                rejected = new RejectedMessageException(RpcErrorCodes.ParseError, "bad message frame: Content-Length must be positive");
            }
            catch (RejectedMessageException e)
            {
                rejected = e;
            }
            _log.WriteLine($"[rpc] rejected a message: {rejected.Message}");
            if (rejected.Id is { } id) await ReplyAsync(id, rejected, cancellationToken);
        }
    }

    async Task ReplyAsync(RequestId id, RejectedMessageException rejected, CancellationToken cancellationToken)
    {
        var error = new JsonRpcError
        {
            Version = "2.0",
            RequestId = id,
            Error = new JsonRpcError.ErrorDetail { Code = (JsonRpcErrorCode)rejected.Code, Message = rejected.Message },
        };
        try { await WriteAsync(error, cancellationToken); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            _log.WriteLine($"[rpc] could not send the error: {e.Message}");
        }
    }
}

/// <summary>A message the host answers with an error instead of dispatching it; <see cref="Id"/> null: no reply (a notification).</summary>
sealed class RejectedMessageException(int code, string message, RequestId? id) : Exception(message)
{
    public RejectedMessageException(int code, string message) : this(code, message, RequestId.Null) { }

    public int Code { get; } = code;
    public RequestId? Id { get; } = id;
}

/// <summary>
/// StreamJsonRpc's System.Text.Json formatter, checking each incoming message before it is dispatched: valid JSON,
/// a JSON-RPC 2.0 object, a method the host serves. (It re-implements the formatter interfaces, whose methods
/// StreamJsonRpc does not let a subclass override, and calls the base implementation.)
/// </summary>
sealed class HostFormatter(Func<string, bool> serves, Func<string> knownMethods)
    : SystemTextJsonFormatter, IJsonRpcMessageFormatter, IJsonRpcMessageTextFormatter
{
    JsonRpcMessage IJsonRpcMessageFormatter.Deserialize(ReadOnlySequence<byte> contentBuffer) =>
        Check(contentBuffer, Encoding);

    JsonRpcMessage IJsonRpcMessageTextFormatter.Deserialize(ReadOnlySequence<byte> contentBuffer, Encoding encoding) =>
        Check(contentBuffer, encoding);

    JsonRpcMessage Check(ReadOnlySequence<byte> contentBuffer, Encoding encoding)
    {
        JsonRpcMessage message;
        try
        {
            message = base.Deserialize(contentBuffer, encoding);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw Explain(contentBuffer, e);
        }
        if (message is JsonRpcRequest request)
        {
            RequestId? replyTo = request.IsResponseExpected ? request.RequestId : null;
            if (message.Version != "2.0")
                throw new RejectedMessageException(RpcErrorCodes.InvalidRequest, "\"jsonrpc\" must be \"2.0\"", replyTo);
            // Unknown notifications are ignored (as LSP says for "$/" ones); StreamJsonRpc does that itself.
            if (request.IsResponseExpected && !serves(request.Method!))
                throw new RejectedMessageException(RpcErrorCodes.MethodNotFound, $"unknown method \"{request.Method}\" (known: {knownMethods()})", replyTo);
        }
        return message;
    }

    /// <summary>Why a message did not deserialize: not JSON (-32700), or JSON but not a request (-32600, with its id when it has one).</summary>
    static RejectedMessageException Explain(ReadOnlySequence<byte> body, Exception e)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(body); }
        catch (JsonException parse)
        {
            return new RejectedMessageException(RpcErrorCodes.ParseError, $"message is not valid JSON: {DescribeJsonError(parse)}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
                return new RejectedMessageException(RpcErrorCodes.InvalidRequest, "batches are not supported: send each JSON-RPC message on its own");
            if (root.ValueKind != JsonValueKind.Object)
                return new RejectedMessageException(RpcErrorCodes.InvalidRequest, "a JSON-RPC message must be an object");
            var id = root.TryGetProperty("id", out var idElement) ? ReadId(idElement) : RequestId.Null;
            if (!root.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String)
                return new RejectedMessageException(RpcErrorCodes.InvalidRequest, "message has no \"method\" string", id);
            return new RejectedMessageException(RpcErrorCodes.InvalidRequest, $"malformed request: {e.Message}", id);
        }
    }

    static RequestId ReadId(JsonElement id) => id.ValueKind switch
    {
        JsonValueKind.Number when id.TryGetInt64(out var n) => new RequestId(n),
        JsonValueKind.String => new RequestId(id.GetString()),
        _ => RequestId.Null,
    };

    /// <summary>System.Text.Json's message without its trailing "Path: … | LineNumber: …", and the path when there is one.</summary>
    internal static string DescribeJsonError(JsonException e)
    {
        var path = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" at {e.Path}";
        var msg = e.Message;
        int cut = msg.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0) cut = msg.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0) msg = msg[..cut];
        return msg + path;
    }
}

/// <summary>
/// A <see cref="PipeReader"/> that remembers a read its caller has not yet advanced past, so that after StreamJsonRpc
/// rejects a header mid-read the rest of that header can be skipped and the next message read.
/// </summary>
sealed class ResyncPipeReader(PipeReader inner) : PipeReader
{
    ReadResult? _pending;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await inner.ReadAsync(cancellationToken);
        _pending = result;
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result)) return false;
        _pending = result;
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed)
    {
        _pending = null;
        inner.AdvanceTo(consumed);
    }

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _pending = null;
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    /// <summary>
    /// When a read is still pending (the header was rejected before its lines were consumed), drops the input up to and
    /// including the next empty line. Nothing to do when the whole header was consumed before it was found wanting.
    /// </summary>
    public async ValueTask SkipPendingHeaderAsync(CancellationToken cancellationToken)
    {
        if (_pending is not { } result) return;
        while (true)
        {
            var (end, lastLine) = FindEmptyLine(result.Buffer);
            if (end is { } found) { AdvanceTo(found); return; }
            if (result.IsCompleted) { AdvanceTo(result.Buffer.End); return; }
            AdvanceTo(lastLine, result.Buffer.End);
            result = await ReadAsync(cancellationToken);
        }
    }

    /// <summary>The position after the first empty line (LF or CRLF), and the start of the last incomplete line.</summary>
    static (SequencePosition? End, SequencePosition LastLine) FindEmptyLine(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            if (line.Length == 0 || line.Length == 1 && line.FirstSpan[0] == (byte)'\r') return (reader.Position, reader.Position);
        }
        return (null, reader.Position);
    }
}
