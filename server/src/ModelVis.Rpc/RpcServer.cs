using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelVis.Rpc;

/// <summary>
/// JSON-RPC 2.0 over LSP framing. Requests run concurrently; <c>$/cancelRequest</c> cancels a running
/// handler's token; handlers report <c>$/progress</c> against the <c>workDoneToken</c> the client sent.
/// Nothing a client sends can stop the server except <c>exit</c> or the end of its input.
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

    delegate Task<object?> Handler(JsonElement? @params, RequestContext context);

    readonly MessageReader _reader;
    readonly MessageWriter _writer;
    readonly TextWriter _log;
    readonly Dictionary<string, Handler> _handlers = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new();
    readonly CancellationTokenSource _lifetime = new();
    bool _shutdownRequested;

    public RpcServer(Stream input, Stream output, TextWriter log)
    {
        _reader = new MessageReader(input);
        _writer = new MessageWriter(output);
        _log = log;
        Register<JsonElement?, object?>("shutdown", (_, _) => { _shutdownRequested = true; return null; });
    }

    public TextWriter Log => _log;

    /// <summary>Registers a request (or notification) handler whose params deserialize to <typeparamref name="TParams"/>.</summary>
    public void RegisterAsync<TParams, TResult>(string method, Func<TParams, RequestContext, Task<TResult>> handler)
    {
        _handlers[method] = async (p, ctx) =>
        {
            TParams args;
            try
            {
                args = p is { } el && el.ValueKind != JsonValueKind.Undefined
                    ? el.Deserialize<TParams>(Json)!
                    : default!;
            }
            catch (JsonException e)
            {
                throw new RpcException(RpcErrorCodes.InvalidParams, $"invalid params for {method}: {DescribeJsonError(e)}");
            }
            if (args == null && typeof(TParams) != typeof(JsonElement?) && default(TParams) == null)
                throw new RpcException(RpcErrorCodes.InvalidParams, $"{method} needs params");
            if (args is IValidatable v) v.Validate(method);
            return await handler(args, ctx);
        };
    }

    /// <summary>Registers a synchronous handler (it runs on the thread pool, so it may block).</summary>
    public void Register<TParams, TResult>(string method, Func<TParams, RequestContext, TResult> handler) =>
        RegisterAsync<TParams, TResult>(method, (p, c) => Task.FromResult(handler(p, c)));

    static string DescribeJsonError(JsonException e)
    {
        var path = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" at {e.Path}";
        var msg = e.Message;
        int cut = msg.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0) msg = msg[..cut];
        return msg + path;
    }

    /// <summary>Sends a notification to the client.</summary>
    public Task NotifyAsync(string method, object? @params)
    {
        var msg = new JsonObject { ["jsonrpc"] = "2.0", ["method"] = method, ["params"] = JsonSerializer.SerializeToNode(@params, Json) };
        return SendAsync(msg);
    }

    Task SendAsync(JsonNode message) => _writer.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(message, Json));

    /// <summary>Serves until <c>exit</c> or end of input. Returns the process exit code (0 after a clean shutdown).</summary>
    public async Task<int> RunAsync()
    {
        var inflight = new ConcurrentDictionary<Task, byte>();
        while (!_lifetime.IsCancellationRequested)
        {
            byte[]? body;
            try
            {
                body = await _reader.ReadAsync(_lifetime.Token);
            }
            catch (FramingException e)
            {
                _log.WriteLine($"[rpc] bad frame: {e.Message}");
                await SendErrorAsync(null, RpcErrorCodes.ParseError, $"bad message frame: {e.Message}");
                continue;
            }
            catch (OperationCanceledException) { break; }
            if (body == null) break;

            JsonNode? node;
            try { node = JsonNode.Parse(body); }
            catch (JsonException e)
            {
                await SendErrorAsync(null, RpcErrorCodes.ParseError, $"message is not valid JSON: {DescribeJsonError(e)}");
                continue;
            }

            if (node is JsonArray batch)
            {
                // Batches are legal JSON-RPC 2.0: answer each element on its own.
                foreach (var item in batch) Start(item, inflight);
                continue;
            }
            if (Start(node, inflight) == "exit") break;
        }
        foreach (var cts in _running.Values) cts.Cancel();
        await Task.WhenAll(inflight.Keys.ToArray());
        return _shutdownRequested ? 0 : 1;
    }

    string? Start(JsonNode? node, ConcurrentDictionary<Task, byte> inflight)
    {
        if (node is not JsonObject msg)
        {
            _ = SendErrorAsync(null, RpcErrorCodes.InvalidRequest, "a JSON-RPC message must be an object");
            return null;
        }
        JsonNode? id = msg["id"]?.DeepClone();
        var method = msg["method"] is JsonValue mv && mv.TryGetValue<string>(out var m) ? m : null;
        if (method == null)
        {
            if (msg.ContainsKey("result") || msg.ContainsKey("error")) return null; // a response to us; we send no requests
            _ = SendErrorAsync(id, RpcErrorCodes.InvalidRequest, "message has no \"method\" string");
            return null;
        }
        if (msg["jsonrpc"]?.GetValue<string>() != "2.0")
        {
            if (id != null) _ = SendErrorAsync(id, RpcErrorCodes.InvalidRequest, "\"jsonrpc\" must be \"2.0\"");
            return null;
        }
        if (method == "exit") { _lifetime.Cancel(); return "exit"; }
        if (method == "$/cancelRequest")
        {
            var target = msg["params"]?["id"]?.ToJsonString();
            if (target != null && _running.TryGetValue(target, out var c)) c.Cancel();
            return method;
        }

        var paramsElement = msg["params"] is { } p ? JsonSerializer.Deserialize<JsonElement>(p.ToJsonString()) : (JsonElement?)null;
        var task = Task.Run(() => DispatchAsync(id, method, paramsElement));
        inflight[task] = 0;
        task.ContinueWith(t => inflight.TryRemove(t, out _), TaskScheduler.Default);
        return method;
    }

    async Task DispatchAsync(JsonNode? id, string method, JsonElement? @params)
    {
        string? key = id?.ToJsonString();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
        if (key != null) _running[key] = cts;
        try
        {
            if (!_handlers.TryGetValue(method, out var handler))
            {
                if (id == null) return; // unknown notifications are ignored, as LSP says for "$/" ones
                throw new RpcException(RpcErrorCodes.MethodNotFound, $"unknown method \"{method}\" (known: {string.Join(", ", _handlers.Keys.Order())})");
            }
            var progressToken = @params is { ValueKind: JsonValueKind.Object } po && po.TryGetProperty("workDoneToken", out var tok) ? tok.Clone() : (JsonElement?)null;
            var ctx = new RequestContext(this, method, cts.Token, progressToken);
            var result = await handler(@params, ctx);
            if (id != null)
                await SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["result"] = JsonSerializer.SerializeToNode(result, Json) });
        }
        catch (Exception e) when (id == null)
        {
            _log.WriteLine($"[rpc] notification {method} failed: {e}");
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            await SendErrorAsync(id, RpcErrorCodes.RequestCancelled, $"{method} was cancelled");
        }
        catch (RpcException e)
        {
            await SendErrorAsync(id, e.Code, e.Message, e.Data_);
        }
        catch (Exception e) when (ErrorTranslation.TryUserError(e, out var message))
        {
            _log.WriteLine($"[rpc] {method}: {message}");
            await SendErrorAsync(id, RpcErrorCodes.UserError, message);
        }
        catch (Exception e)
        {
            _log.WriteLine($"[rpc] {method} crashed: {e}");
            await SendErrorAsync(id, RpcErrorCodes.InternalError, $"{method} failed inside the host: {e.GetType().Name}: {e.Message} (details in the ModelVis output channel)");
        }
        finally
        {
            if (key != null) _running.TryRemove(key, out _);
        }
    }

    async Task SendErrorAsync(JsonNode? id, int code, string message, JsonNode? data = null)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message };
        if (data != null) error["data"] = data;
        try { await SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id?.DeepClone(), ["error"] = error }); }
        catch (Exception e) { _log.WriteLine($"[rpc] could not send error: {e.Message}"); }
    }
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
        _ = Server.NotifyAsync("$/progress", new JsonObject { ["token"] = JsonNode.Parse(token.GetRawText()), ["value"] = value });
    }

    /// <summary>Adapts progress to an engine-level callback (fraction 0..1 and a message).</summary>
    public IProgress<(double Fraction, string Message)> AsProgress(string title)
    {
        Progress("begin", title: title, percentage: 0);
        return new Progress<(double Fraction, string Message)>(p => Progress("report", p.Message, (int)Math.Round(p.Fraction * 100)));
    }
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
