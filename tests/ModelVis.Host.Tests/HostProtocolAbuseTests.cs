using System.Diagnostics;
using System.Text.Json.Nodes;
using ModelVis.Rpc;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Host.Tests;

/// <summary>
/// The real host process under protocol abuse while it trains a model (real long work, minutes if left alone): exit,
/// shutdown and a closed stdin end it within a second and leave no process behind; cancellations sent before their
/// requests start are honoured; quick requests are answered beside queued long ones; an id in use is refused.
/// </summary>
public sealed class HostProtocolAbuseTests(ITestOutputHelper output) : IDisposable
{
    readonly Fixtures.TempDir _dir = new();
    readonly HostProcess _host = new();

    public void Dispose()
    {
        _host.Dispose();
        _dir.Dispose();
    }

    static readonly string Text = string.Concat(Enumerable.Repeat("def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n", 40));

    JsonObject Training(string name) => new()
    {
        ["texts"] = new JsonArray(Text), ["steps"] = 100_000, ["seed"] = 1, ["out"] = _dir.File(name), ["workDoneToken"] = name,
    };

    /// <summary>Starts a training that would run for minutes, and waits until its steps have begun.</summary>
    async Task StartLongTraining(object id)
    {
        await _host.Send(HostProcess.Request(id, "train/start", Training($"long-{id}")));
        var clock = Stopwatch.StartNew();
        while (true)
        {
            lock (_host.Notifications)
                if (_host.Notifications.Any(n => (string?)n["method"] == "train/loss")) return;
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"training did not start: {_host.Stderr}");
            JsonObject? early = null;
            try { early = await _host.Reply(TimeSpan.FromMilliseconds(50)); }
            catch (OperationCanceledException) { }
            if (early != null) throw new Xunit.Sdk.XunitException($"training ended at once: {early.ToJsonString()}");
        }
    }

    void AssertEndedWithin(Stopwatch clock, TimeSpan limit, int code)
    {
        var took = _host.TimeToExit(clock, TimeSpan.FromSeconds(10));
        Assert.True(took != null, $"the host still runs 10 s later; log:\n{_host.Stderr}");
        output.WriteLine($"host process ended {took!.Value.TotalMilliseconds:0} ms after the message");
        Assert.True(took < limit, $"the host took {took.Value.TotalMilliseconds:0} ms to end");
        Assert.Equal(code, _host.ExitCode);
        Assert.False(Directory.Exists($"/proc/{_host.Id}"), "the host's process is still listed (a zombie)");
    }

    [Fact]
    public async Task Exit_while_training_ends_the_process_within_a_second()
    {
        await StartLongTraining(1);
        var clock = Stopwatch.StartNew();
        await _host.Send(HostProcess.Exit);
        AssertEndedWithin(clock, TimeSpan.FromSeconds(1), 1);
    }

    [Fact]
    public async Task Closed_stdin_while_training_ends_the_process_within_a_second()
    {
        await StartLongTraining(1);
        var clock = Stopwatch.StartNew();
        _host.CloseInput();
        AssertEndedWithin(clock, TimeSpan.FromSeconds(1), 1);
    }

    [Fact]
    public async Task Shutdown_while_training_is_answered_at_once_and_exit_ends_the_process()
    {
        await StartLongTraining(1);
        var clock = Stopwatch.StartNew();
        await _host.Send(HostProcess.Request(2, "shutdown"));
        var replies = await _host.Replies(2, TimeSpan.FromSeconds(2));
        Assert.Equal(RpcErrorCodes.RequestCancelled, (int)replies["1"]["error"]!["code"]!);
        Assert.Equal("train/start was cancelled", (string)replies["1"]["error"]!["message"]!);
        Assert.Null(replies["2"]["result"]);
        output.WriteLine($"shutdown answered after {clock.ElapsedMilliseconds} ms");
        Assert.False(Directory.Exists(_dir.File("long-1")), "a cancelled training left its folder");
        await _host.Send(HostProcess.Exit);
        AssertEndedWithin(clock, TimeSpan.FromSeconds(2), 0);
    }

    [Fact]
    public async Task Queued_requests_cancelled_before_they_start_never_run_and_quick_requests_are_answered_beside_them()
    {
        await StartLongTraining("running");
        // Trainings run one at a time: these wait their turn, and are cancelled while they wait.
        for (int i = 0; i < 20; i++) await _host.Send(HostProcess.Request(100 + i, "train/start", Training($"queued-{i}")));
        for (int i = 0; i < 20; i++) await _host.Send(HostProcess.Cancel(100 + i));
        var cancelled = await _host.Replies(20, TimeSpan.FromSeconds(10));
        Assert.All(cancelled.Values, r => Assert.Equal(RpcErrorCodes.RequestCancelled, (int)r["error"]!["code"]!));

        // Quick requests while the training runs and model work queues behind it.
        var model = Fixtures.Model("stories260K");
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 100; i++)
            await _host.Send(i % 2 == 0
                ? HostProcess.Request(i, "models/tree", new JsonObject { ["path"] = model })
                : HostProcess.Request(i, "builtin/status"));
        var quick = await _host.Replies(100, TimeSpan.FromSeconds(20));
        output.WriteLine($"100 quick requests answered in {clock.ElapsedMilliseconds} ms beside a training");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{clock.Elapsed.TotalSeconds:0.0} s for 100 quick requests");
        Assert.All(quick.Values, r => Assert.True(r.ContainsKey("result"), r.ToJsonString()));

        await _host.Send(HostProcess.Cancel("running"));
        var last = await _host.Reply(TimeSpan.FromSeconds(10));
        Assert.Equal("running", (string)last["id"]!);
        Assert.Equal(RpcErrorCodes.RequestCancelled, (int)last["error"]!["code"]!);
        for (int i = 0; i < 20; i++) Assert.False(Directory.Exists(_dir.File($"queued-{i}")));
        // Nothing more comes: every request was answered exactly once.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _host.Reply(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task An_id_in_use_is_refused_and_the_first_request_is_answered_once()
    {
        await StartLongTraining(5);
        var duplicate = await _host.Call(5, "builtin/status");
        Assert.Equal(5, (int)duplicate["id"]!);
        Assert.Equal(RpcErrorCodes.InvalidRequest, (int)duplicate["error"]!["code"]!);
        Assert.Contains("request id 5 is already in use", (string)duplicate["error"]!["message"]!);
        await _host.Send(HostProcess.Cancel(5));
        var first = await _host.Reply(TimeSpan.FromSeconds(10));
        Assert.Equal(RpcErrorCodes.RequestCancelled, (int)first["error"]!["code"]!);
        Assert.True((await _host.Call(5, "builtin/status")).ContainsKey("result"));
    }
}
