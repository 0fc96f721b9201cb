using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace ModelVis.Rpc.Tests;

/// <summary>Drives a real RpcServer (StreamJsonRpc underneath) over in-memory pipes, as a client would.</summary>
public sealed class DispatchTests : IAsyncLifetime
{
    readonly TestClient _client = new();
    readonly TaskCompletionSource _slowStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly ManualResetEventSlim _release = new();

    public sealed record AddParams(int A, int B);
    public sealed record CheckedParams(string Path) : IValidatable
    {
        public void Validate(string method) { if (Path.Length == 0) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: path is empty"); }
    }
    public sealed class DemoUserError(string m) : Exception(m);

    public DispatchTests()
    {
        var server = _client.Server;
        server.Register<AddParams, int>("add", (p, _) => p.A + p.B);
        server.Register<CheckedParams, string>("checked", (p, _) => p.Path);
        server.Register<JsonElement?, int>("crash", Crash);
        server.Register<JsonElement?, int>("userError", UserError);
        server.Register<JsonElement?, int>("tooLong", (_, _) =>
            throw new RpcException(RpcErrorCodes.UserError, "The selection is 900 tokens", new JsonObject { ["tokens"] = 900, ["limit"] = 512 }));
        server.RegisterAsync<JsonElement?, int>("slow", async (_, ctx) =>
        {
            ctx.Progress("begin", title: "slow work");
            _slowStarted.TrySetResult();
            await Task.Delay(Timeout.Infinite, ctx.Cancellation);
            return 0;
        });
        // A synchronous handler that blocks its thread, as a forward pass does.
        server.Register<JsonElement?, int>("blocking", (_, ctx) =>
        {
            _slowStarted.TrySetResult();
            while (!_release.Wait(10)) ctx.Cancellation.ThrowIfCancellationRequested();
            return 1;
        });
        server.Register<JsonElement?, string>("notifyMe", (_, ctx) =>
        {
            ctx.Server.NotifyAsync("demo/layerDone", new { runId = "run1", layer = 3, layers = 12 }).Wait();
            return "sent";
        });
    }

    static int Crash(JsonElement? _, RequestContext __) => throw new NullReferenceException("boom");
    static int UserError(JsonElement? _, RequestContext __) => throw new DemoUserError("model.safetensors: tensor `x` ends past the file");

    public Task InitializeAsync() { _client.Start(); return Task.CompletedTask; }

    public async Task DisposeAsync()
    {
        _release.Set();
        await _client.DisposeAsync();
    }

    [Fact]
    public async Task Request_gets_its_result()
    {
        var r = await _client.Call(1, "add", "{\"a\":2,\"b\":40}");
        Assert.Equal("2.0", (string)r["jsonrpc"]!);
        Assert.Equal(1, (int)r["id"]!);
        Assert.Equal(42, (int)r["result"]!);
    }

    [Fact]
    public async Task String_ids_are_answered_with_the_same_id()
    {
        await _client.Send("{\"jsonrpc\":\"2.0\",\"id\":\"req-9\",\"method\":\"add\",\"params\":{\"a\":1,\"b\":1}}");
        var r = await _client.Receive();
        Assert.Equal("req-9", (string)r["id"]!);
        Assert.Equal(2, (int)r["result"]!);
    }

    [Fact]
    public async Task Unknown_method_lists_the_known_ones_and_the_server_goes_on()
    {
        var r = await _client.Call(1, "nope");
        Assert.Equal(1, (int)r["id"]!);
        Assert.Equal(RpcErrorCodes.MethodNotFound, (int)r["error"]!["code"]!);
        Assert.Equal("unknown method \"nope\" (known: add, blocking, checked, crash, exit, notifyMe, shutdown, slow, tooLong, userError)", (string)r["error"]!["message"]!);
        Assert.Equal(3, (int)(await _client.Call(2, "add", "{\"a\":1,\"b\":2}"))["result"]!);
    }

    [Fact]
    public async Task Unknown_notification_is_ignored()
    {
        await _client.Send("{\"jsonrpc\":\"2.0\",\"method\":\"$/setTrace\",\"params\":{\"value\":\"off\"}}");
        var r = await _client.Call(2, "add", "{\"a\":1,\"b\":2}");
        Assert.Equal(2, (int)r["id"]!);
        Assert.Equal(3, (int)r["result"]!);
    }

    [Fact]
    public async Task Wrong_params_are_invalid_params_with_the_reason()
    {
        var r = await _client.Call(1, "add", "{\"a\":\"two\",\"b\":2}");
        Assert.Equal(RpcErrorCodes.InvalidParams, (int)r["error"]!["code"]!);
        Assert.Contains("$.a", (string)r["error"]!["message"]!);
        Assert.StartsWith("invalid params for add: ", (string)r["error"]!["message"]!);
        var v = await _client.Call(2, "checked", "{\"path\":\"\"}");
        Assert.Equal(RpcErrorCodes.InvalidParams, (int)v["error"]!["code"]!);
        Assert.Equal("checked: path is empty", (string)v["error"]!["message"]!);
        var missing = await _client.Call(3, "checked");
        Assert.Equal(RpcErrorCodes.InvalidParams, (int)missing["error"]!["code"]!);
        Assert.Equal("checked needs params", (string)missing["error"]!["message"]!);
        await _client.Send("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"checked\"}");
        Assert.Equal(RpcErrorCodes.InvalidParams, (int)(await _client.Receive())["error"]!["code"]!);
    }

    [Fact]
    public async Task Invalid_json_is_a_parse_error_and_the_server_goes_on()
    {
        await _client.Send("{\"jsonrpc\":\"2.0\",\"id\":1,");
        var r = await _client.Receive();
        Assert.Equal(RpcErrorCodes.ParseError, (int)r["error"]!["code"]!);
        Assert.StartsWith("message is not valid JSON", (string)r["error"]!["message"]!);
        Assert.True(r.ContainsKey("id"));
        Assert.Null(r["id"]);
        Assert.Equal(5, (int)(await _client.Call(2, "add", "{\"a\":2,\"b\":3}"))["result"]!);
    }

    [Theory]   // # stands for the byte 0xFF, never UTF-8
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":\"a#\",\"method\":\"add\",\"params\":{\"a\":1,\"b\":1}}")] // StreamJsonRpc decodes the id in its read loop: this once ended the connection
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add#\",\"params\":{\"a\":1,\"b\":1}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":{\"a#\":1,\"b\":1}}")]
    public async Task Invalid_utf8_in_a_string_is_a_parse_error_and_the_server_goes_on(string message)
    {
        var body = System.Text.Encoding.ASCII.GetBytes(message).Select(b => b == (byte)'#' ? (byte)0xFF : b).ToArray();
        await _client.SendBytes([.. System.Text.Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n"), .. body]);
        var r = await _client.Receive();
        Assert.Equal(RpcErrorCodes.ParseError, (int)r["error"]!["code"]!);
        Assert.Equal($"message is not valid UTF-8 (byte {message.IndexOf('#')} of its body)", (string)r["error"]!["message"]!);
        Assert.Null(r["id"]);
        Assert.Equal(5, (int)(await _client.Call(2, "add", "{\"a\":2,\"b\":3}"))["result"]!);
    }

    [Fact]
    public async Task Handler_crash_is_an_internal_error_logged_with_its_stack_and_never_sent()
    {
        var r = await _client.Call(1, "crash");
        var error = r["error"]!.AsObject();
        Assert.Equal(RpcErrorCodes.InternalError, (int)error["code"]!);
        Assert.Equal("crash failed inside the host: NullReferenceException: boom (details in the ModelVis output channel)", (string)error["message"]!);
        Assert.False(error.ContainsKey("data"), $"no stack trace to the client, got {error.ToJsonString()}");
        Assert.Contains("NullReferenceException", _client.Log.ToString());
        Assert.Contains(nameof(Crash), _client.Log.ToString()); // the stack, in the log
        Assert.Equal(2, (int)(await _client.Call(2, "add", "{\"a\":1,\"b\":1}"))["result"]!);
    }

    [Fact]
    public async Task Project_exceptions_reach_the_user_as_they_are()
    {
        var r = await _client.Call(1, "userError");
        var error = r["error"]!.AsObject();
        Assert.Equal(RpcErrorCodes.UserError, (int)error["code"]!);
        Assert.Equal("model.safetensors: tensor `x` ends past the file", (string)error["message"]!);
        Assert.False(error.ContainsKey("data"));
    }

    [Fact]
    public async Task Rpc_exception_keeps_its_code_message_and_data()
    {
        var error = (await _client.Call(1, "tooLong"))["error"]!.AsObject();
        Assert.Equal(RpcErrorCodes.UserError, (int)error["code"]!);
        Assert.Equal("The selection is 900 tokens", (string)error["message"]!);
        Assert.Equal("{\"tokens\":900,\"limit\":512}", error["data"]!.ToJsonString());
    }

    [Fact]
    public async Task Cancel_request_stops_a_running_handler_while_others_are_served()
    {
        await _client.Send("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"slow\",\"params\":{\"workDoneToken\":\"tok-7\"}}");
        var progress = await _client.Receive();
        Assert.Equal("$/progress", (string)progress["method"]!);
        Assert.Equal("{\"token\":\"tok-7\",\"value\":{\"kind\":\"begin\",\"title\":\"slow work\",\"cancellable\":true}}", progress["params"]!.ToJsonString());
        await _slowStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // Concurrent: another request is answered while "slow" runs.
        Assert.Equal(9, (int)(await _client.Call(8, "add", "{\"a\":4,\"b\":5}"))["result"]!);
        await _client.Send("{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":7}}");
        var r = await _client.Receive();
        Assert.Equal(7, (int)r["id"]!);
        Assert.Equal(RpcErrorCodes.RequestCancelled, (int)r["error"]!["code"]!);
        Assert.Equal("slow was cancelled", (string)r["error"]!["message"]!);
    }

    [Fact]
    public async Task A_blocking_handler_does_not_hold_up_other_requests_or_its_cancel()
    {
        await _client.Send("{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"blocking\"}");
        await _slowStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, (int)(await _client.Call(2, "add", "{\"a\":1,\"b\":2}"))["result"]!);
        await _client.Send("{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":\"b\"}}");
        var r = await _client.Receive();
        Assert.Equal("b", (string)r["id"]!);
        Assert.Equal(RpcErrorCodes.RequestCancelled, (int)r["error"]!["code"]!);
    }

    [Fact]
    public async Task Notifications_from_the_host_carry_their_params_as_given()
    {
        await _client.Send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"notifyMe\"}");
        var n = await _client.Receive();
        Assert.Equal("demo/layerDone", (string)n["method"]!);
        Assert.False(n.ContainsKey("id"));
        Assert.Equal("{\"runId\":\"run1\",\"layer\":3,\"layers\":12}", n["params"]!.ToJsonString());
        Assert.Equal("sent", (string)(await _client.Receive())["result"]!);
    }

    [Fact]
    public async Task Shutdown_then_exit_ends_with_code_zero()
    {
        var r = await _client.Call(1, "shutdown");
        Assert.True(r.ContainsKey("result"));
        Assert.Null(r["result"]);
        Assert.Equal(0, await _client.Exit());
    }

    [Fact]
    public async Task Exit_without_shutdown_ends_with_code_one_and_cancels_running_handlers()
    {
        await _client.Send("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"slow\"}");
        await _slowStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, await _client.Exit());
    }

    [Fact]
    public async Task Not_an_object_and_missing_method_are_invalid_requests()
    {
        await _client.Send("42");
        Assert.Equal(RpcErrorCodes.InvalidRequest, (int)(await _client.Receive())["error"]!["code"]!);
        await _client.Send("[{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"add\",\"params\":{\"a\":1,\"b\":2}}]");
        Assert.Equal(RpcErrorCodes.InvalidRequest, (int)(await _client.Receive())["error"]!["code"]!);
        await _client.Send("{\"jsonrpc\":\"2.0\",\"id\":4}");
        var r = await _client.Receive();
        Assert.Equal(RpcErrorCodes.InvalidRequest, (int)r["error"]!["code"]!);
        Assert.Equal("message has no \"method\" string", (string)r["error"]!["message"]!);
        Assert.Equal(4, (int)r["id"]!);
        await _client.Send("{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"add\",\"params\":{\"a\":1,\"b\":2}}");
        var v = await _client.Receive();
        Assert.Equal(5, (int)v["id"]!);
        Assert.Equal(RpcErrorCodes.InvalidRequest, (int)v["error"]!["code"]!);
        Assert.Equal(3, (int)(await _client.Call(6, "add", "{\"a\":1,\"b\":2}"))["result"]!);
    }
}
