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
        // Requests run concurrently: the answers may come in either order.
        var answers = new[] { await client.Receive(), await client.Receive() }.ToDictionary(r => (int)r["id"]!, r => (string)r["result"]!);
        Assert.Equal("héllo ✓ 🙂", answers[1]);
        Assert.Equal("second", answers[2]);
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
    public async Task A_large_body_is_checked_for_utf8_across_its_buffer_segments()
    {
        await using var client = EchoServer();
        client.Start();
        // 3-byte characters over many pipe segments: some straddle two, and the body is still valid.
        var wide = string.Concat(Enumerable.Repeat("✓", 100_000));
        Assert.Equal(wide, (string)(await client.Call(1, "echo", $"{{\"text\":\"{wide}\"}}"))["result"]!);
        // One byte that is not UTF-8, deep in a large body: refused with its offset, and the server reads on.
        var body = Encoding.UTF8.GetBytes(Echo(2, new string('q', 200_000)));
        int at = body.Length - 1_000;
        body[at] = 0xFF;
        await client.SendBytes([.. Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n"), .. body]);
        var refused = await client.Receive();
        Assert.Equal(RpcErrorCodes.ParseError, (int)refused["error"]!["code"]!);
        Assert.Equal($"message is not valid UTF-8 (byte {at} of its body)", (string)refused["error"]!["message"]!);
        Assert.Equal("next", (string)(await client.Call(3, "echo", "{\"text\":\"next\"}"))["result"]!);
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
    [InlineData("Content-Length: abc\r\n\r\n", "Content-Length must be a positive integer, not \"abc\"")]
    [InlineData("Content-Length: -5\r\n\r\n", "Content-Length must be a positive integer, not \"-5\"")]
    [InlineData("X-Other: 1\r\n\r\n", "no Content-Length header")]
    [InlineData("X-Other: 1\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"echo\"}", "no Content-Length header")]
    [InlineData("Content-Type: x\r\n\r\n", "no Content-Length header")]
    [InlineData("Content-Length: 0\r\n\r\n", "Content-Length must be positive")]
    [InlineData("Content-Length: 1099511627776\r\n\r\n{}", "Content-Length 1,099,511,627,776 is over the host's limit of 268,435,456 bytes")]
    [InlineData("Content-Length: 2147483647\r\n\r\n{}", "Content-Length 2,147,483,647 is over the host's limit")]
    [InlineData("Content-Length: 99999999999999999999999\r\n\r\n", "Content-Length must be a positive integer")]
    [InlineData("Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-16\r\n\r\n{}", "the host reads utf-8 only")]
    [InlineData("garbage line\r\n\r\n", "header line \"garbage line\" is not \"Name: value\"")]
    [InlineData("{\"a\": 1}\r\n\r\n", "is not a header name")]
    [InlineData("Content-Length: 12\r\nX-Long: " + "yyyyyyyyyyyyyyyy" + "\nno-cr\r\n\r\n", "header lines must end in \\r\\n")]
    public async Task Bad_header_is_answered_once_and_the_next_message_still_reads(string bad, string expected)
    {
        await using var client = EchoServer();
        client.Start();
        await client.SendBytes(Encoding.UTF8.GetBytes(bad));
        var r = await client.Receive();
        Assert.Equal(RpcErrorCodes.ParseError, (int)r["error"]!["code"]!);
        Assert.Null(r["id"]);
        Assert.StartsWith("bad message frame: ", (string)r["error"]!["message"]!);
        Assert.Contains(expected, (string)r["error"]!["message"]!);
        // The very next message is the answer to the next request: nothing else was made of the damaged input.
        var next = await client.Call(2, "echo", "{\"text\":\"next\"}");
        Assert.Equal(2, (int)next["id"]!);
        Assert.Equal("next", (string)next["result"]!);
    }

    public static TheoryData<string, byte[]> DamagedInputs() => new()
    {
        // A Content-Length shorter than its body: the body's start is not JSON (-32700), its rest is skipped.
        { "short Content-Length", Encoding.UTF8.GetBytes("Content-Length: 5\r\n\r\n" + Echo(9, "lost")) },
        { "random bytes", RandomBytes(300, 1) },
        { "random bytes with CRLFs", [.. RandomBytes(100, 2), .. "\r\n\r\n"u8, .. RandomBytes(100, 3), .. "\r\n"u8] },
        { "a header with no end", Encoding.ASCII.GetBytes("X-Pad: " + new string('z', 20_000)) },
        { "a body with no header", Encoding.UTF8.GetBytes(Echo(9, "no header")) },
    };

    static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        // No accidental frame inside the noise.
        for (int i = 0; i < n; i++) if (b[i] == (byte)'C') b[i] = (byte)'c';
        return b;
    }

    [Theory]
    [MemberData(nameof(DamagedInputs))]
    public async Task After_damaged_input_the_host_resynchronises_at_the_next_content_length(string what, byte[] damage)
    {
        await using var client = EchoServer();
        client.Start();
        await client.SendBytes(damage);
        await client.Send(Echo(1, "first"));  // right behind the damage
        var replies = new List<JsonObject>();
        while (true)
        {
            var r = await client.Receive();
            replies.Add(r);
            if (r["id"]?.GetValue<int>() == 1) break;
        }
        Assert.Equal("first", (string)replies[^1]["result"]!);
        // At most one error for the damaged stretch, none after it.
        Assert.True(replies.Count <= 2, $"{what}: {string.Join(" | ", replies.Select(x => x.ToJsonString()))}");
        foreach (var e in replies.SkipLast(1)) Assert.Equal(RpcErrorCodes.ParseError, (int)e["error"]!["code"]!);
        Assert.Equal("second", (string)(await client.Call(2, "echo", "{\"text\":\"second\"}"))["result"]!);
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
