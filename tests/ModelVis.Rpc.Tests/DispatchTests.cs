using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelVis.Rpc;
using Xunit;

namespace ModelVis.Rpc.Tests;

/// <summary>Drives a real RpcServer over in-memory pipes, as a client would.</summary>
public sealed class DispatchTests : IAsyncLifetime
{
    readonly Pipe _toServer = new(), _fromServer = new();
    readonly RpcServer _server;
    readonly MessageReader _reader;
    readonly MessageWriter _writer;
    readonly StringWriter _log = new();
    Task<int>? _run;
    readonly TaskCompletionSource _slowStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public sealed record AddParams(int A, int B);
    public sealed record CheckedParams(string Path) : IValidatable
    {
        public void Validate(string method) { if (Path.Length == 0) throw new RpcException(RpcErrorCodes.InvalidParams, $"{method}: path is empty"); }
    }
    public sealed class DemoUserError(string m) : Exception(m);

    public DispatchTests()
    {
        _server = new RpcServer(_toServer.Reader.AsStream(), _fromServer.Writer.AsStream(), TextWriter.Synchronized(_log));
        _server.Register<AddParams, int>("add", (p, _) => p.A + p.B);
        _server.Register<CheckedParams, string>("checked", (p, _) => p.Path);
        _server.Register<JsonElement?, int>("crash", Crash);
        _server.Register<JsonElement?, int>("userError", UserError);
        _server.RegisterAsync<JsonElement?, int>("slow", async (_, ctx) =>
        {
            ctx.Progress("begin", title: "slow work");
            _slowStarted.TrySetResult();
            await Task.Delay(Timeout.Infinite, ctx.Cancellation);
            return 0;
        });
        _reader = new MessageReader(_fromServer.Reader.AsStream());
        _writer = new MessageWriter(_toServer.Writer.AsStream());
    }

    static int Crash(JsonElement? _, RequestContext __) => throw new NullReferenceException("boom");
    static int UserError(JsonElement? _, RequestContext __) => throw new DemoUserError("model.safetensors: tensor `x` ends past the file");

    public Task InitializeAsync() { _run = _server.RunAsync(); return Task.CompletedTask; }

    public async Task DisposeAsync()
    {
        await SendRaw("{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}");
        await _run!.WaitAsync(TimeSpan.FromSeconds(10));
    }

    Task SendRaw(string json) => _writer.WriteAsync(Encoding.UTF8.GetBytes(json));

    async Task<JsonObject> Receive()
    {
        var body = await _reader.ReadAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return JsonNode.Parse(body!)!.AsObject();
    }

    async Task<JsonObject> Call(int id, string method, string paramsJson = "null")
    {
        await SendRaw($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"{method}\",\"params\":{paramsJson}}}");
        return await Receive();
    }

    [Fact]
    public async Task Request_gets_its_result()
    {
        var r = await Call(1, "add", "{\"a\":2,\"b\":40}");
        Assert.Equal(1, (int)r["id"]!);
        Assert.Equal(42, (int)r["result"]!);
    }

    [Fact]
    public async Task Unknown_method_lists_the_known_ones_and_the_server_goes_on()
    {
        var r = await Call(1, "nope");
        Assert.Equal(RpcErrorCodes.MethodNotFound, (int)r["error"]!["code"]!);
        Assert.Contains("add", (string)r["error"]!["message"]!);
        Assert.Equal(3, (int)(await Call(2, "add", "{\"a\":1,\"b\":2}"))["result"]!);
    }

    [Fact]
    public async Task Wrong_params_are_invalid_params_with_the_reason()
    {
        var r = await Call(1, "add", "{\"a\":\"two\",\"b\":2}");
        Assert.Equal(RpcErrorCodes.InvalidParams, (int)r["error"]!["code"]!);
        Assert.Contains("$.a", (string)r["error"]!["message"]!);
        var v = await Call(2, "checked", "{\"path\":\"\"}");
        Assert.Equal(RpcErrorCodes.InvalidParams, (int)v["error"]!["code"]!);
        Assert.Contains("path is empty", (string)v["error"]!["message"]!);
        var missing = await Call(3, "checked");
        Assert.Equal(RpcErrorCodes.InvalidParams, (int)missing["error"]!["code"]!);
    }

    [Fact]
    public async Task Invalid_json_is_a_parse_error_and_the_server_goes_on()
    {
        await SendRaw("{\"jsonrpc\":\"2.0\",\"id\":1,");
        var r = await Receive();
        Assert.Equal(RpcErrorCodes.ParseError, (int)r["error"]!["code"]!);
        Assert.Null(r["id"]);
        Assert.Equal(5, (int)(await Call(2, "add", "{\"a\":2,\"b\":3}"))["result"]!);
    }

    [Fact]
    public async Task Malformed_frame_is_reported_and_the_server_goes_on()
    {
        await _toServer.Writer.WriteAsync(Encoding.ASCII.GetBytes("Content-Length: zz\r\n\r\n"));
        var r = await Receive();
        Assert.Equal(RpcErrorCodes.ParseError, (int)r["error"]!["code"]!);
        Assert.Contains("Content-Length", (string)r["error"]!["message"]!);
        Assert.Equal(7, (int)(await Call(2, "add", "{\"a\":3,\"b\":4}"))["result"]!);
    }

    [Fact]
    public async Task Handler_crash_is_an_internal_error_logged_with_its_stack()
    {
        var r = await Call(1, "crash");
        Assert.Equal(RpcErrorCodes.InternalError, (int)r["error"]!["code"]!);
        Assert.Contains("boom", (string)r["error"]!["message"]!);
        Assert.Contains("NullReferenceException", _log.ToString());
        Assert.Equal(2, (int)(await Call(2, "add", "{\"a\":1,\"b\":1}"))["result"]!);
    }

    [Fact]
    public async Task Project_exceptions_reach_the_user_as_they_are()
    {
        var r = await Call(1, "userError");
        Assert.Equal(RpcErrorCodes.UserError, (int)r["error"]!["code"]!);
        Assert.Equal("model.safetensors: tensor `x` ends past the file", (string)r["error"]!["message"]!);
    }

    [Fact]
    public async Task Cancel_request_stops_a_running_handler_while_others_are_served()
    {
        await SendRaw("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"slow\",\"params\":{\"workDoneToken\":\"tok-7\"}}");
        var progress = await Receive();
        Assert.Equal("$/progress", (string)progress["method"]!);
        Assert.Equal("tok-7", (string)progress["params"]!["token"]!);
        Assert.Equal("begin", (string)progress["params"]!["value"]!["kind"]!);
        await _slowStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // Concurrent: another request is answered while "slow" runs.
        Assert.Equal(9, (int)(await Call(8, "add", "{\"a\":4,\"b\":5}"))["result"]!);
        await SendRaw("{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":7}}");
        var r = await Receive();
        Assert.Equal(7, (int)r["id"]!);
        Assert.Equal(RpcErrorCodes.RequestCancelled, (int)r["error"]!["code"]!);
    }

    [Fact]
    public async Task Shutdown_then_exit_ends_with_code_zero()
    {
        var r = await Call(1, "shutdown");
        Assert.True(r.ContainsKey("result"));
        await SendRaw("{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}");
        Assert.Equal(0, await _run!.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Not_an_object_and_missing_method_are_invalid_requests()
    {
        await SendRaw("42");
        Assert.Equal(RpcErrorCodes.InvalidRequest, (int)(await Receive())["error"]!["code"]!);
        await SendRaw("{\"jsonrpc\":\"2.0\",\"id\":4}");
        var r = await Receive();
        Assert.Equal(RpcErrorCodes.InvalidRequest, (int)r["error"]!["code"]!);
        Assert.Equal(4, (int)r["id"]!);
    }
}
