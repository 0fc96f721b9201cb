using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace ModelVis.Rpc.Tests;

/// <summary>LSP framing as the server reads and writes it (StreamJsonRpc's HeaderDelimitedMessageHandler underneath).</summary>
public class FramingTests
{
    /// <summary>A stream that hands out its bytes in fixed small pieces, as a pipe may, then ends when <paramref name="end"/> completes.</summary>
    sealed class TricklingStream(byte[] data, int piece, Task end) : Stream
    {
        int _pos;
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_pos == data.Length) await end.WaitAsync(cancellationToken);
            return Read(buffer.Span);
        }
        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(Math.Min(buffer.Length, piece), data.Length - _pos);
            data.AsSpan(_pos, n).CopyTo(buffer);
            _pos += n;
            return n;
        }
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, piece), data.Length - _pos);
            Array.Copy(data, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }
        public override bool CanRead => true; public override bool CanSeek => false; public override bool CanWrite => false;
        public override long Length => data.Length; public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { } public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
        public override void SetLength(long v) => throw new NotSupportedException(); public override void Write(byte[] b, int o, int c) => throw new NotSupportedException();
    }

    static TestClient EchoServer(Stream? input = null)
    {
        var client = new TestClient(input);
        client.Server.Register<EchoParams, string>("echo", (p, _) => p.Text);
        return client;
    }

    public sealed record EchoParams(string Text);

    static string Echo(int id, string text) =>
        $"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"echo\",\"params\":{{\"text\":{JsonValue.Create(text).ToJsonString()}}}}}";

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(100000)]
    public async Task Messages_split_or_merged_in_any_pieces_come_out_whole(int piece)
    {
        var data = TestClient.Frame(Echo(1, "héllo ✓ 🙂"))
            .Concat(TestClient.Frame("{\"jsonrpc\":\"2.0\",\"method\":\"$/setTrace\",\"params\":{\"value\":\"off\"}}"))
            .Concat(TestClient.Frame(Echo(2, "second"))).ToArray();
        var end = new TaskCompletionSource();
        await using var client = EchoServer(new TricklingStream(data, piece, end.Task));
        client.Start();
        Assert.Equal("héllo ✓ 🙂", (string)(await client.Receive())["result"]!);
        Assert.Equal("second", (string)(await client.Receive())["result"]!);
        end.SetResult();
        Assert.Equal(1, await client.Run!.WaitAsync(TimeSpan.FromSeconds(10))); // input ended without shutdown
    }

    [Fact]
    public async Task Large_messages_in_both_directions_are_read_whole()
    {
        await using var client = EchoServer();
        client.Start();
        var big = new string('q', 3_000_000) + "é";
        var r = await client.Call(1, "echo", $"{{\"text\":\"{big}\"}}");
        Assert.Equal(big, (string)r["result"]!);
    }

    [Fact]
    public async Task Content_type_header_is_accepted()
    {
        await using var client = EchoServer();
        client.Start();
        var json = Echo(1, "typed");
        await client.SendBytes(Encoding.UTF8.GetBytes(
            $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{json}"));
        Assert.Equal("typed", (string)(await client.Receive())["result"]!);
    }

    [Theory]
    [InlineData("Content-Length: abc\r\n\r\n", "Content-Length")]
    [InlineData("X-Other: 1\r\n\r\n", "No Content-Length")]
    [InlineData("Content-Type: x\r\n\r\n", "The format of value 'x' is invalid")]
    [InlineData("Content-Length: 0\r\n\r\n", "Content-Length must be positive")]
    [InlineData("garbage line\r\n\r\n", "Colon not found")]
    [InlineData("Content-Length: 12\r\nX-Long: " + "yyyyyyyyyyyyyyyy" + "\nno-cr\r\n\r\n", "\\r\\n")]
    public async Task Bad_header_is_reported_and_the_next_message_still_reads(string bad, string expected)
    {
        await using var client = EchoServer();
        client.Start();
        await client.SendBytes(Encoding.UTF8.GetBytes(bad));
        var r = await client.Receive();
        Assert.Equal(RpcErrorCodes.ParseError, (int)r["error"]!["code"]!);
        Assert.StartsWith("bad message frame: ", (string)r["error"]!["message"]!);
        Assert.Contains(expected, (string)r["error"]!["message"]!);
        Assert.Equal("next", (string)(await client.Call(2, "echo", "{\"text\":\"next\"}"))["result"]!);
    }

    [Fact]
    public async Task Stream_ending_inside_a_body_ends_the_server()
    {
        var data = Encoding.UTF8.GetBytes("Content-Length: 50\r\n\r\n{\"id\":");
        await using var client = EchoServer(new MemoryStream(data));
        client.Start();
        Assert.Equal(1, await client.Run!.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Responses_are_framed_with_the_utf8_byte_length()
    {
        await using var client = EchoServer();
        client.Start();
        await client.Send(Echo(1, "é🙂"));
        var (headers, body) = await client.ReceiveFrame();
        Assert.Equal([$"Content-Length: {body.Length}"], headers);
        // As the protocol's serializer options write it: BMP letters as they are, others escaped.
        Assert.Equal("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"é\\uD83D\\uDE42\"}", Encoding.UTF8.GetString(body));
    }
}
