using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace ModelVis.Rpc.Tests;

/// <summary>
/// A client that does what a well-behaved one never would, against a real RpcServer over pipes: cancellations that
/// arrive before their request starts, a hundred long requests queued ahead of quick ones, ids used twice, and
/// shutdown, exit or a closed input while handlers block — including one that never looks at its cancellation token.
/// </summary>
public sealed class ProtocolAbuseTests : IAsyncLifetime
{
    readonly TestClient _client = new();
    /// <summary>Never set while a test runs: the "stubborn" handler waits on it and ignores cancellation.</summary>
    readonly ManualResetEventSlim _never = new();
    int _forwardsStarted, _forwardsRunning, _mostForwardsAtOnce, _stubbornStarted;

    public ProtocolAbuseTests()
    {
        var server = _client.Server;
        server.Register<DispatchTests.AddParams, int>("add", (p, _) => p.A + p.B);
        // A forward pass: blocks its thread, watching its token, until cancelled.
        server.Register<JsonElement?, int>("forward", (_, ctx) =>
        {
            Interlocked.Increment(ref _forwardsStarted);
            int now = Interlocked.Increment(ref _forwardsRunning);
            for (int seen = _mostForwardsAtOnce; now > seen; seen = _mostForwardsAtOnce) Interlocked.CompareExchange(ref _mostForwardsAtOnce, now, seen);
            try
            {
                while (true) { ctx.Cancellation.ThrowIfCancellationRequested(); Thread.Sleep(5); }
            }
            finally { Interlocked.Decrement(ref _forwardsRunning); }
        }, RequestKind.Model);
        // A handler that blocks and never looks at its token (a read that cannot be interrupted, a kernel without checks).
        server.Register<JsonElement?, int>("stubborn", (_, _) =>
        {
            Interlocked.Increment(ref _stubbornStarted);
            _never.Wait();
            return 0;
        }, RequestKind.Model);
    }

    public Task InitializeAsync() { _client.Start(); return Task.CompletedTask; }

    public async Task DisposeAsync()
    {
        _never.Set();
        await _client.DisposeAsync();
    }

    static async Task Until(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException(what);
            await Task.Delay(5);
        }
    }

    /// <summary>Reads replies until <paramref name="count"/> have come; fails on a second reply to any id.</summary>
    async Task<Dictionary<string, JsonObject>> Replies(int count, TimeSpan within)
    {
        var byId = new Dictionary<string, JsonObject>();
        var clock = Stopwatch.StartNew();
        while (byId.Count < count)
        {
            var left = within - clock.Elapsed;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"{byId.Count} of {count} replies in {within.TotalSeconds} s");
            var r = await _client.Receive(left);
            var id = r["id"]!.ToJsonString();
            Assert.True(byId.TryAdd(id, r), $"id {id} answered twice: {byId.GetValueOrDefault(id)?.ToJsonString()} and {r.ToJsonString()}");
        }
        return byId;
    }

    [Fact]
    public async Task A_cancel_that_arrives_before_its_request_starts_cancels_it_when_it_starts()
    {
        await _client.Send(TestClient.Request(1, "forward"));
        await _client.Send(TestClient.Request(2, "forward"));
        await Until(() => _forwardsStarted == 2, "two forward passes running");
        // The model pool is full: these wait their turn, and their cancellations arrive while they wait.
        for (int id = 100; id < 200; id++) await _client.Send(TestClient.Request(id, "forward"));
        for (int id = 100; id < 200; id++) await _client.Send(TestClient.CancelRequest(id));
        var replies = await Replies(100, TimeSpan.FromSeconds(10));
        for (int id = 100; id < 200; id++)
        {
            var error = replies[id.ToString()]["error"]!;
            Assert.Equal(RpcErrorCodes.RequestCancelled, (int)error["code"]!);
            Assert.Equal("forward was cancelled", (string)error["message"]!);
        }
        Assert.Equal(2, _forwardsStarted);  // none of the cancelled ones ran
        await _client.Send(TestClient.CancelRequest(1));
        await _client.Send(TestClient.CancelRequest(2));
        var running = await Replies(2, TimeSpan.FromSeconds(10));
        Assert.All(running.Values, r => Assert.Equal(RpcErrorCodes.RequestCancelled, (int)r["error"]!["code"]!));
    }

    [Fact]
    public async Task Quick_requests_are_answered_while_a_hundred_model_requests_wait()
    {
        for (int id = 1000; id < 1100; id++) await _client.Send(TestClient.Request(id, "forward"));
        await Until(() => _forwardsStarted == 2, "forward passes running");
        var clock = Stopwatch.StartNew();
        for (int id = 0; id < 200; id++) await _client.Send(TestClient.Request(id, "add", $"{{\"a\":{id},\"b\":1}}"));
        var quick = await Replies(200, TimeSpan.FromSeconds(10));
        var elapsed = clock.Elapsed;
        for (int id = 0; id < 200; id++) Assert.Equal(id + 1, (int)quick[id.ToString()]["result"]!);
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"200 quick requests took {elapsed.TotalSeconds:0.0} s behind the model requests");
        // Half cancelled now, the rest after: each answered exactly once, and never more than the pool's two at a time.
        for (int id = 1000; id < 1100; id += 2) await _client.Send(TestClient.CancelRequest(id));
        var firstHalf = await Replies(50, TimeSpan.FromSeconds(10));
        Assert.All(firstHalf.Keys, id => Assert.Equal(0, int.Parse(id) % 2));
        for (int id = 1001; id < 1100; id += 2) await _client.Send(TestClient.CancelRequest(id));
        var secondHalf = await Replies(50, TimeSpan.FromSeconds(10));
        Assert.Empty(firstHalf.Keys.Intersect(secondHalf.Keys));
        Assert.All(firstHalf.Values.Concat(secondHalf.Values), r => Assert.Equal(RpcErrorCodes.RequestCancelled, (int)r["error"]!["code"]!));
        Assert.Equal(2, _mostForwardsAtOnce);
    }

    [Fact]
    public async Task An_id_still_in_use_is_refused_and_free_again_once_answered()
    {
        await _client.Send(TestClient.Request(7, "forward"));
        await Until(() => _forwardsStarted == 1, "forward running");
        await _client.Send(TestClient.Request(7, "add", "{\"a\":1,\"b\":2}"));
        var duplicate = await _client.Receive();
        Assert.Equal(7, (int)duplicate["id"]!);
        Assert.Equal(RpcErrorCodes.InvalidRequest, (int)duplicate["error"]!["code"]!);
        Assert.Equal("request id 7 is already in use by a request the host has not answered yet", (string)duplicate["error"]!["message"]!);
        await _client.Send(TestClient.Request("x", "forward"));
        await _client.Send(TestClient.Request("x", "forward"));
        Assert.Equal("request id \"x\" is already in use by a request the host has not answered yet", (string)(await _client.Receive())["error"]!["message"]!);
        await _client.Send(TestClient.CancelRequest(7));
        await _client.Send(TestClient.CancelRequest("x"));
        var first = await Replies(2, TimeSpan.FromSeconds(10));
        Assert.All(first.Values, r => Assert.Equal(RpcErrorCodes.RequestCancelled, (int)r["error"]!["code"]!));
        Assert.Equal(3, (int)(await _client.Call(7, "add", "{\"a\":1,\"b\":2}"))["result"]!);
    }

    [Fact]
    public async Task Exit_ends_the_server_within_a_second_while_a_handler_ignores_cancellation()
    {
        await _client.Send(TestClient.Request(1, "stubborn"));
        await _client.Send(TestClient.Request(2, "forward"));
        await Until(() => _stubbornStarted == 1 && _forwardsStarted == 1, "handlers running");
        var clock = Stopwatch.StartNew();
        await _client.Send("{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}");
        Assert.Equal(1, await _client.Run!.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"exit took {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Contains("still running at exit", _client.Log.ToString());
    }

    [Fact]
    public async Task End_of_input_ends_the_server_within_a_second_while_a_handler_ignores_cancellation()
    {
        await _client.Send(TestClient.Request(1, "stubborn"));
        await _client.Send(TestClient.Request(2, "forward"));
        await Until(() => _stubbornStarted == 1 && _forwardsStarted == 1, "handlers running");
        var clock = Stopwatch.StartNew();
        await _client.EndInput();
        Assert.Equal(1, await _client.Run!.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"end of input took {clock.Elapsed.TotalMilliseconds:0} ms to end the server");
    }

    [Fact]
    public async Task Shutdown_cancels_running_work_is_answered_at_once_and_then_only_exit_is_served()
    {
        await _client.Send(TestClient.Request(1, "forward"));
        await _client.Send(TestClient.Request(2, "stubborn"));
        await Until(() => _forwardsStarted == 1 && _stubbornStarted == 1, "handlers running");
        var clock = Stopwatch.StartNew();
        await _client.Send(TestClient.Request(3, "shutdown"));
        var replies = await Replies(2, TimeSpan.FromSeconds(2));
        Assert.Equal(RpcErrorCodes.RequestCancelled, (int)replies["1"]["error"]!["code"]!);
        Assert.True(replies["3"].ContainsKey("result"));
        Assert.Null(replies["3"]["result"]);
        var refused = await _client.Call(4, "add", "{\"a\":1,\"b\":2}");
        Assert.Equal(RpcErrorCodes.InvalidRequest, (int)refused["error"]!["code"]!);
        Assert.Equal("the host is shutting down: add is not served after shutdown, only exit", (string)refused["error"]!["message"]!);
        await _client.Send("{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}");
        Assert.Equal(0, await _client.Run!.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"shutdown and exit took {clock.Elapsed.TotalMilliseconds:0} ms");
    }
}
