using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelVis.Rpc.Tests;

/// <summary>
/// A client of a real <see cref="RpcServer"/> over in-memory pipes that speaks raw bytes, so tests can send what a
/// well-behaved library never would (bad headers, bad JSON), and reads the server's frames itself.
/// </summary>
public sealed class TestClient : IAsyncDisposable
{
    readonly Pipe _toServer = new(), _fromServer = new();
    readonly Stream _responses;
    readonly byte[] _one = new byte[1];
    public StringWriter Log { get; } = new();
    public RpcServer Server { get; }
    public Task<int>? Run { get; private set; }

    /// <param name="input">The server's input, when a test supplies its own stream instead of the pipe.</param>
    public TestClient(Stream? input = null)
    {
        Server = new RpcServer(input ?? _toServer.Reader.AsStream(), _fromServer.Writer.AsStream(), TextWriter.Synchronized(Log));
        _responses = _fromServer.Reader.AsStream();
    }

    public void Start() => Run = Server.RunAsync();

    public static byte[] Frame(string json) => Encoding.UTF8.GetBytes($"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}");

    public async Task SendBytes(byte[] bytes) => await _toServer.Writer.WriteAsync(bytes);

    public Task Send(string json) => SendBytes(Frame(json));

    /// <summary>Closes the server's input, as a client that dies does.</summary>
    public ValueTask EndInput() => _toServer.Writer.CompleteAsync();

    public static string Request(object id, string method, string paramsJson = "null") =>
        $"{{\"jsonrpc\":\"2.0\",\"id\":{System.Text.Json.JsonSerializer.Serialize(id)},\"method\":\"{method}\",\"params\":{paramsJson}}}";

    public static string CancelRequest(object id) =>
        $"{{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{{\"id\":{System.Text.Json.JsonSerializer.Serialize(id)}}}}}";

    public async Task<JsonObject> Call(int id, string method, string paramsJson = "null")
    {
        await Send($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"{method}\",\"params\":{paramsJson}}}");
        return await Receive();
    }

    /// <summary>The next message from the server, parsed.</summary>
    public async Task<JsonObject> Receive(TimeSpan? within = null) => JsonNode.Parse((await ReceiveFrame(within)).Body)!.AsObject();

    /// <summary>The next frame from the server: its header lines and its body.</summary>
    public async Task<(List<string> Headers, byte[] Body)> ReceiveFrame(TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(10));
        var headers = new List<string>();
        while (true)
        {
            var line = await ReadLine(timeout.Token);
            if (line.Length == 0) break;
            headers.Add(line);
        }
        var length = int.Parse(headers.Single(h => h.StartsWith("Content-Length: ", StringComparison.Ordinal))["Content-Length: ".Length..]);
        var body = new byte[length];
        await _responses.ReadExactlyAsync(body, timeout.Token);
        return (headers, body);
    }

    async Task<string> ReadLine(CancellationToken ct)
    {
        var line = new StringBuilder();
        while (true)
        {
            await _responses.ReadExactlyAsync(_one, ct);
            if (_one[0] == '\n') return line.ToString().TrimEnd('\r');
            line.Append((char)_one[0]);
        }
    }

    public async Task<int> Exit()
    {
        await Send("{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}");
        return await Run!.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public async ValueTask DisposeAsync()
    {
        if (Run is { IsCompleted: false }) await Exit();
    }
}
