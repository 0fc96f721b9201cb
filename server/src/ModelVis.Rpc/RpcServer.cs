using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace ModelVis.Rpc;

/// <summary>
/// JSON-RPC 2.0 over LSP framing, served by StreamJsonRpc. Handlers register one params record each, and a
/// <see cref="RequestKind"/>: requests run concurrently, a bounded number per kind (<see cref="RequestPools"/>);
/// <c>$/cancelRequest</c> cancels a handler whether it runs or still waits; handlers report <c>$/progress</c> against
/// the <c>workDoneToken</c> the client sent. Nothing a client sends can stop the server except <c>exit</c> or the end
/// of its input, and either ends it at once whatever its handlers are doing (they get <see cref="ExitGrace"/> to stop).
/// </summary>
public sealed class RpcServer
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // Tokens such as "▁Once" and "<s>" stay readable; the output is JSON for programs, never inlined into HTML.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>How long <c>exit</c> or the end of input waits for cancelled handlers before the server returns anyway.</summary>
    public static readonly TimeSpan ExitGrace = TimeSpan.FromMilliseconds(250);

    readonly HostJsonRpc _rpc;
    readonly InboundRequests _inbound = new();
    readonly RequestPools _pools = new();
    readonly TextWriter _log;
    readonly SortedSet<string> _methods = new(StringComparer.Ordinal);
    /// <summary>Cancelled by <c>exit</c>: every running handler stops.</summary>
    readonly CancellationTokenSource _lifetime = new();
    readonly TaskCompletionSource _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    volatile bool _shutdownRequested;

    public RpcServer(Stream input, Stream output, TextWriter log)
    {
        _log = log;
        var formatter = new HostFormatter(_methods.Contains, () => string.Join(", ", _methods)) { JsonSerializerOptions = Json };
        _rpc = new HostJsonRpc(LspMessageHandler.Create(input, output, formatter, _inbound, log), log)
        {
            CancellationStrategy = _inbound,
            CancelLocallyInvokedMethodsWhenConnectionIsClosed = true,
            // Every request on the thread pool as soon as it arrives (StreamJsonRpc's default runs one handler's
            // synchronous part at a time, so a forward pass before its first await would hold up every other request).
            SynchronizationContext = new SynchronizationContext(),
            // StreamJsonRpc's own trace (every request, every exception with its stack) stays off; the host logs its own.
            TraceSource = new TraceSource("ModelVis.Rpc", SourceLevels.Off),
        };
        _rpc.Disconnected += (_, e) =>
        {
            if (e.Reason is not (DisconnectedReason.RemotePartyTerminated or DisconnectedReason.LocallyDisposed))
                log.WriteLine($"[rpc] connection lost ({e.Reason}): {e.Description}");
        };
        // LSP: after shutdown only exit is served. Running handlers are cancelled now, so the reply comes at once.
        Register<JsonElement?, object?>("shutdown", (_, _) =>
        {
            _shutdownRequested = true;
            _lifetime.Cancel();
            return null;
        });
        AddMethod("exit", new Action(() => _exit.TrySetResult()), singleObject: false);
    }

    /// <summary>Registers a request (or notification) handler whose params deserialize to <typeparamref name="TParams"/>.</summary>
    public void RegisterAsync<TParams, TResult>(string method, Func<TParams, RequestContext, Task<TResult>> handler, RequestKind kind = RequestKind.Quick)
    {
        var endpoint = new Endpoint<TParams, TResult>(this, method, kind, handler);
        AddMethod(method, endpoint.InvokeAsync, singleObject: true);
    }

    /// <summary>Registers a synchronous handler (it runs on the thread pool, so it may block).</summary>
    public void Register<TParams, TResult>(string method, Func<TParams, RequestContext, TResult> handler, RequestKind kind = RequestKind.Quick) =>
        RegisterAsync<TParams, TResult>(method, (p, c) => Task.FromResult(handler(p, c)), kind);

    void AddMethod(string method, Delegate target, bool singleObject)
    {
        _rpc.AddLocalRpcMethod(target.Method, target.Target, new JsonRpcMethodAttribute(method) { UseSingleObjectParameterDeserialization = singleObject });
        _methods.Add(method);
    }

    /// <summary>Sends a notification to the client (params serialized as the protocol's JSON, camelCase).</summary>
    public Task NotifyAsync(string method, object? @params) => _rpc.NotifyWithParameterObjectAsync(method, RawJson.From(@params));

    /// <summary>Serves until <c>exit</c> or end of input. Returns the process exit code (0 after a clean shutdown).</summary>
    public async Task<int> RunAsync()
    {
        _rpc.StartListening();
        await Task.WhenAny(_rpc.Completion, _exit.Task);
        _lifetime.Cancel();
        // Handlers that watch their token end now; one that does not (a blocking call, a long kernel) is left behind.
        if (await Task.WhenAny(_rpc.DispatchCompletion, Task.Delay(ExitGrace)) != _rpc.DispatchCompletion)
            _log.WriteLine($"[rpc] {_inbound.Open} request(s) still running at exit; ending without them");
        // Not awaited: a read still pending on stdin completes only when the client closes it, and the process ends now.
        _ = Task.Run(_rpc.Dispose);
        return _shutdownRequested ? 0 : 1;
    }

    /// <summary>One registered method: params → <typeparamref name="TParams"/> (-32602 with the reason when they do not fit), then the handler.</summary>
    sealed class Endpoint<TParams, TResult>(RpcServer server, string method, RequestKind kind, Func<TParams, RequestContext, Task<TResult>> handler)
    {
        // StreamJsonRpc passes the request's whole params as the first argument (UseSingleObjectParameterDeserialization).
        public async Task<RawJson> InvokeAsync(JsonElement? @params = null, CancellationToken cancellation = default)
        {
            if (server._shutdownRequested && method != "shutdown")
                throw new RpcException(RpcErrorCodes.InvalidRequest, $"the host is shutting down: {method} is not served after shutdown, only exit");
            var args = Parse(@params);
            var progressToken = @params is { ValueKind: JsonValueKind.Object } po && po.TryGetProperty("workDoneToken", out var tok) ? tok : (JsonElement?)null;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellation, server._lifetime.Token);
            using var slot = await server._pools.EnterAsync(kind, cts.Token);
            return RawJson.From(await handler(args, new RequestContext(server, method, cts.Token, progressToken)));
        }

        TParams Parse(JsonElement? @params)
        {
            TParams args;
            try
            {
                args = @params is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } el
                    ? el.Deserialize<TParams>(Json)!
                    : default!;
            }
            catch (JsonException e)
            {
                throw new RpcException(RpcErrorCodes.InvalidParams, $"invalid params for {method}: {HostFormatter.DescribeJsonError(e)}");
            }
            if (args == null && typeof(TParams) != typeof(JsonElement?) && default(TParams) == null)
                throw new RpcException(RpcErrorCodes.InvalidParams, $"{method} needs params");
            if (args is IValidatable v) v.Validate(method);
            return args;
        }
    }
}

/// <summary>
/// A value serialized with <see cref="RpcServer.Json"/> ahead of time, written into the message as it is. StreamJsonRpc's
/// formatter writes user data through its own writer, whose default encoder escapes every non-ASCII character and
/// the '+' of base64 (6 bytes each); results and notifications keep the protocol's bytes this way.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(Converter))]
sealed class RawJson(byte[] utf8)
{
    // The runtime type, not TResult: a handler declared to return a base type still sends every property.
    public static RawJson From(object? value) => new(JsonSerializer.SerializeToUtf8Bytes(value, value?.GetType() ?? typeof(object), RpcServer.Json));

    sealed class Converter : System.Text.Json.Serialization.JsonConverter<RawJson>
    {
        public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();
        public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) => writer.WriteRawValue(value.Utf8, skipInputValidation: true);
    }

    byte[] Utf8 { get; } = utf8;
}

/// <summary>StreamJsonRpc with the host's error replies: a code and a message for a person, never a stack trace (that goes to the log).</summary>
sealed class HostJsonRpc(IJsonRpcMessageHandler handler, TextWriter log) : JsonRpc(handler)
{
    protected override JsonRpcError.ErrorDetail CreateErrorDetails(JsonRpcRequest request, Exception exception)
    {
        var method = request.Method;
        var (code, message, data) = exception switch
        {
            RpcException e => (e.Code, e.Message, e.Data_),
            OperationCanceledException => (RpcErrorCodes.RequestCancelled, Cancelled(method), null),
            _ when ErrorTranslation.TryUserError(exception, out var userMessage) => (RpcErrorCodes.UserError, userMessage, null),
            _ => (RpcErrorCodes.InternalError,
                $"{method} failed inside the host: {exception.GetType().Name}: {exception.Message} (details in the ModelVis output channel)",
                (JsonNode?)null),
        };
        if (code == RpcErrorCodes.InternalError) log.WriteLine($"[rpc] {method} crashed: {exception}");
        else if (code != RpcErrorCodes.RequestCancelled) log.WriteLine($"[rpc] {method}: {message}");
        return new JsonRpcError.ErrorDetail { Code = (JsonRpcErrorCode)code, Message = message, Data = data };
    }

    /// <summary>A handler that ends cancelled is answered by StreamJsonRpc itself: say which request was cancelled.</summary>
    protected override async ValueTask<JsonRpcMessage> DispatchRequestAsync(JsonRpcRequest request, TargetMethod targetMethod, CancellationToken cancellationToken)
    {
        var response = await base.DispatchRequestAsync(request, targetMethod, cancellationToken);
        if (response is JsonRpcError { Error: { Code: JsonRpcErrorCode.RequestCanceled } error }) error.Message = Cancelled(request.Method);
        return response;
    }

    static string Cancelled(string? method) => $"{method} was cancelled";
}

/// <summary>What a handler gets besides its params: cancellation and progress.</summary>
public sealed class RequestContext(RpcServer server, string method, CancellationToken cancellation, JsonElement? progressToken)
{
    public string Method { get; } = method;
    public CancellationToken Cancellation { get; } = cancellation;
    public RpcServer Server { get; } = server;

    /// <summary>Reports LSP work-done progress (begin/report/end) when the client asked for it with a workDoneToken.</summary>
    public void Progress(string kind, string? message = null, int? percentage = null, string? title = null)
    {
        if (progressToken is not { } token) return;
        var value = new JsonObject { ["kind"] = kind };
        if (title != null) value["title"] = title;
        if (message != null) value["message"] = message;
        if (percentage != null) value["percentage"] = percentage;
        if (kind == "begin") value["cancellable"] = true;
        _ = Server.NotifyAsync("$/progress", new ProgressParams(token, value));
    }

    /// <summary>
    /// Adapts progress to an engine-level callback (fraction 0..1 and a message). Reports are sent on the reporting
    /// thread, in order: <see cref="Progress{T}"/> would post them to the thread pool, where one could go out after
    /// the handler's <c>end</c>.
    /// </summary>
    public IProgress<(double Fraction, string Message)> AsProgress(string title)
    {
        Progress("begin", title: title, percentage: 0);
        return new InlineProgress(p => Progress("report", p.Message, (int)Math.Round(p.Fraction * 100)));
    }

    sealed class InlineProgress(Action<(double Fraction, string Message)> report) : IProgress<(double Fraction, string Message)>
    {
        public void Report((double Fraction, string Message) value) => report(value);
    }

    sealed record ProgressParams(JsonElement Token, JsonObject Value);
}

public static class RpcErrorCodes
{
    public const int ParseError = -32700;
    public const int InvalidRequest = -32600;
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;
    public const int InternalError = -32603;
    /// <summary>LSP's RequestCancelled.</summary>
    public const int RequestCancelled = -32800;
    /// <summary>A problem with the user's input (bad checkpoint, unknown architecture, oversized selection): the message says what to do.</summary>
    public const int UserError = -32001;
}

public sealed class RpcException(int code, string message, JsonNode? data = null) : Exception(message)
{
    public int Code { get; } = code;
    public JsonNode? Data_ { get; } = data;
}

/// <summary>Params types that check themselves after deserialization.</summary>
public interface IValidatable
{
    void Validate(string method);
}
