using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace ModelVis.Host.Tests;

/// <summary>
/// The real host process (<c>dotnet modelvis.dll serve</c>, as the extension starts it), driven over its stdin and
/// stdout with raw LSP frames, so a test can send what a well-behaved client never would and time how it ends.
/// </summary>
public sealed class HostProcess : IDisposable
{
    public static string Dll { get; } = typeof(HostProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "HostDll").Value!;

    readonly Process _process;
    readonly Stream _in, _out;
    readonly StringBuilder _stderr = new();
    readonly byte[] _one = new byte[1];
    readonly Channel<JsonObject> _replies = Channel.CreateUnbounded<JsonObject>();
    /// <summary>Notifications and progress from the host, as they came (lock it to read).</summary>
    public List<JsonObject> Notifications { get; } = [];

    public HostProcess()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Dll);
        start.ArgumentList.Add("serve");
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start the host");
        _process.ErrorDataReceived += (_, e) => { lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        _in = _process.StandardInput.BaseStream;
        _out = _process.StandardOutput.BaseStream;
        _ = Task.Run(Pump);
    }

    /// <summary>Reads the host's messages as they come: replies to the channel, the rest to <see cref="Notifications"/>.</summary>
    async Task Pump()
    {
        try
        {
            while (true)
            {
                var message = await Next();
                if (message.ContainsKey("id")) await _replies.Writer.WriteAsync(message);
                else lock (Notifications) Notifications.Add(message);
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ObjectDisposedException) { _replies.Writer.TryComplete(); }
    }

    public int Id => _process.Id;
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public async Task Send(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        await _in.WriteAsync(Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n"));
        await _in.WriteAsync(body);
        await _in.FlushAsync();
    }

    public static string Request(object id, string method, JsonNode? @params = null) =>
        new JsonObject { ["jsonrpc"] = "2.0", ["id"] = JsonValue.Create(id), ["method"] = method, ["params"] = @params }.ToJsonString();

    public static string Cancel(object id) =>
        new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "$/cancelRequest", ["params"] = new JsonObject { ["id"] = JsonValue.Create(id) } }.ToJsonString();

    public const string Exit = "{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}";

    /// <summary>The next reply (a message with an id); OperationCanceledException when none comes in time.</summary>
    public async Task<JsonObject> Reply(TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(30));
        return await _replies.Reader.ReadAsync(timeout.Token);
    }

    public async Task<JsonObject> Call(object id, string method, JsonNode? @params = null, TimeSpan? within = null)
    {
        await Send(Request(id, method, @params));
        return await Reply(within);
    }

    /// <summary>Reads replies until <paramref name="count"/> ids have been answered; fails on a second reply to one id.</summary>
    public async Task<Dictionary<string, JsonObject>> Replies(int count, TimeSpan within)
    {
        var byId = new Dictionary<string, JsonObject>();
        var clock = Stopwatch.StartNew();
        while (byId.Count < count)
        {
            var left = within - clock.Elapsed;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"{byId.Count} of {count} replies in {within.TotalSeconds} s");
            var r = await Reply(left);
            var id = r["id"]!.ToJsonString();
            if (!byId.TryAdd(id, r)) throw new Xunit.Sdk.XunitException($"id {id} answered twice: {byId[id].ToJsonString()} and {r.ToJsonString()}");
        }
        return byId;
    }

    async Task<JsonObject> Next()
    {
        int length = -1;
        while (true)
        {
            var line = await ReadLine();
            if (line.Length == 0) break;
            if (line.StartsWith("Content-Length: ", StringComparison.Ordinal)) length = int.Parse(line["Content-Length: ".Length..]);
        }
        var body = new byte[length];
        await _out.ReadExactlyAsync(body);
        return JsonNode.Parse(body)!.AsObject();
    }

    async Task<string> ReadLine()
    {
        var line = new StringBuilder();
        while (true)
        {
            await _out.ReadExactlyAsync(_one);
            if (_one[0] == '\n') return line.ToString().TrimEnd('\r');
            line.Append((char)_one[0]);
        }
    }

    /// <summary>Closes the host's stdin, as an editor that dies does.</summary>
    public void CloseInput() => _in.Close();

    /// <summary>How long the process took to end, or null when it was still running after <paramref name="limit"/>.</summary>
    public TimeSpan? TimeToExit(Stopwatch since, TimeSpan limit)
    {
        if (!_process.WaitForExit(limit - since.Elapsed is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero)) return null;
        return since.Elapsed;
    }

    public int ExitCode => _process.ExitCode;

    public void Dispose()
    {
        if (!_process.HasExited) { _process.Kill(entireProcessTree: true); _process.WaitForExit(); }
        _process.Dispose();
    }
}
