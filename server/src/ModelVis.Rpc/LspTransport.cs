using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace ModelVis.Rpc;

/// <summary>
/// LSP framing for StreamJsonRpc, made to survive a bad message. StreamJsonRpc's <see cref="HeaderDelimitedMessageHandler"/>
/// drops the connection on a frame it cannot read and waits for any Content-Length it is given; here frames are read by
/// <see cref="FrameReader"/> (bounded, resynchronising) and each message is checked before dispatch: a bad frame or JSON
/// is answered -32700, a message that is not a request -32600, an unknown method -32601, a request id still in use
/// -32600; then the next message is read. <c>$/cancelRequest</c> is applied here, as it is read (see
/// <see cref="InboundRequests"/>). Writing is the base class's.
/// </summary>
sealed class LspMessageHandler(PipeWriter output, PipeReader input, HostFormatter formatter, InboundRequests inbound, TextWriter log)
    : HeaderDelimitedMessageHandler(output, input, formatter)
{
    readonly FrameReader _frames = new(input);

    public static LspMessageHandler Create(Stream input, Stream output, HostFormatter formatter, InboundRequests inbound, TextWriter log) =>
        new(PipeWriter.Create(output), PipeReader.Create(input), formatter, inbound, log);

    protected override async ValueTask<JsonRpcMessage?> ReadCoreAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var (body, frameError) = await _frames.ReadAsync(cancellationToken);
            if (frameError == null && body == null) return null;
            if (frameError?.Length == 0) continue; // the rest of a damaged stretch of input, already answered
            var (message, rejected) = frameError != null
                ? (null, new RejectedMessageException(RpcErrorCodes.ParseError, $"bad message frame: {frameError}"))
                : Accept(body!.Value);
            if (message != null) return message;
            if (rejected == null) continue;
            log.WriteLine($"[rpc] rejected a message: {rejected.Message}");
            if (rejected.Id is { } id) await ReplyAsync(id, rejected, cancellationToken);
        }
    }

    /// <summary>A frame's message to dispatch; or why it is refused; or neither (a cancellation, applied here).</summary>
    (JsonRpcMessage?, RejectedMessageException?) Accept(ReadOnlySequence<byte> body)
    {
        JsonRpcMessage message;
        try { message = ((IJsonRpcMessageFormatter)formatter).Deserialize(body); }
        catch (RejectedMessageException e)
        {
            if (e.Code == RpcErrorCodes.ParseError) _frames.Resync();
            return (null, e);
        }
        finally { _frames.Consume(); }
        if (message is not JsonRpcRequest request) return (message, null);
        if (request.Method == InboundRequests.CancelMethod)
        {
            inbound.Cancel(request);
            return (null, null);
        }
        if (!request.IsResponseExpected || inbound.Admit(request.RequestId)) return (message, null);
        return (null, new RejectedMessageException(RpcErrorCodes.InvalidRequest,
            $"request id {Show(request.RequestId)} is already in use by a request the host has not answered yet", request.RequestId));
    }

    static string Show(RequestId id) => id.String is { } s ? JsonSerializer.Serialize(s) : id.Number.ToString()!;

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
            log.WriteLine($"[rpc] could not send the error: {e.Message}");
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
        // System.Text.Json reads invalid UTF-8 inside a string and fails only when the string is decoded, which
        // StreamJsonRpc does after this method (for an id: in its read loop, ending the connection).
        if (InvalidUtf8At(contentBuffer) is long at and >= 0)
            throw new RejectedMessageException(RpcErrorCodes.ParseError, $"message is not valid UTF-8 (byte {at} of its body)");
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

    /// <summary>The offset of the first byte that is not UTF-8, or -1.</summary>
    static long InvalidUtf8At(ReadOnlySequence<byte> body)
    {
        // Segments valid one by one make a valid body, read in place; only when one is not (or a character straddles
        // two) is the body joined to find where.
        foreach (var segment in body)
            if (!System.Text.Unicode.Utf8.IsValid(segment.Span)) return InvalidUtf8At(body.ToArray());
        return -1;
    }

    static long InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return -1;
        int at = 0;
        while (Rune.DecodeFromUtf8(bytes[at..], out _, out int used) == OperationStatus.Done) at += used;
        return at;
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
