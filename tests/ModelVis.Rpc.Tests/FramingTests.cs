using System.Text;
using ModelVis.Rpc;
using Xunit;

namespace ModelVis.Rpc.Tests;

public class FramingTests
{
    static byte[] Frame(string json) => Encoding.UTF8.GetBytes($"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}");

    /// <summary>A stream that hands out its bytes in fixed small pieces, as a pipe may.</summary>
    sealed class TricklingStream(byte[] data, int piece) : Stream
    {
        int _pos;
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

    static async Task<List<string>> ReadAll(Stream s)
    {
        var reader = new MessageReader(s);
        var result = new List<string>();
        while (await reader.ReadAsync() is { } body) result.Add(Encoding.UTF8.GetString(body));
        return result;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(100000)]
    public async Task Messages_split_or_merged_in_any_pieces_come_out_whole(int piece)
    {
        var a = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"params\":{\"text\":\"héllo ✓ 🙂\"}}";
        var b = "{\"jsonrpc\":\"2.0\",\"method\":\"b\"}";
        var data = Frame(a).Concat(Frame(b)).Concat(Frame(a)).ToArray();
        var messages = await ReadAll(new TricklingStream(data, piece));
        Assert.Equal([a, b, a], messages);
    }

    [Fact]
    public async Task Large_message_over_the_buffer_size_is_read_whole()
    {
        var big = "{\"x\":\"" + new string('q', 3_000_000) + "\"}";
        var messages = await ReadAll(new TricklingStream(Frame(big), 65536));
        Assert.Equal(big, Assert.Single(messages));
    }

    [Fact]
    public async Task Extra_headers_and_lowercase_names_are_accepted()
    {
        var json = "{\"id\":1}";
        var data = Encoding.UTF8.GetBytes($"content-length: {json.Length}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{json}");
        Assert.Equal(json, Assert.Single(await ReadAll(new MemoryStream(data))));
    }

    [Theory]
    [InlineData("Content-Length: abc\r\n\r\n", "not a non-negative integer")]
    [InlineData("Content-Type: x\r\n\r\n", "no Content-Length")]
    [InlineData("garbage line\r\n\r\n", "malformed header line")]
    public async Task Bad_header_is_reported_and_the_next_message_still_reads(string bad, string expected)
    {
        var good = "{\"id\":2}";
        var data = Encoding.UTF8.GetBytes(bad).Concat(Frame(good)).ToArray();
        var reader = new MessageReader(new MemoryStream(data));
        var e = await Assert.ThrowsAsync<FramingException>(() => reader.ReadAsync());
        Assert.Contains(expected, e.Message);
        Assert.Equal(good, Encoding.UTF8.GetString((await reader.ReadAsync())!));
        Assert.Null(await reader.ReadAsync());
    }

    [Fact]
    public async Task Stream_ending_inside_a_body_is_an_error()
    {
        var data = Encoding.UTF8.GetBytes("Content-Length: 50\r\n\r\n{\"id\":");
        var e = await Assert.ThrowsAsync<FramingException>(() => new MessageReader(new MemoryStream(data)).ReadAsync());
        Assert.Contains("6 of 50", e.Message);
    }

    [Fact]
    public async Task Oversized_message_is_refused_and_skipped()
    {
        var big = "{\"x\":\"" + new string('q', 5000) + "\"}";
        var small = "{\"id\":3}";
        var reader = new MessageReader(new MemoryStream(Frame(big).Concat(Frame(small)).ToArray()), maxMessageBytes: 1000);
        var e = await Assert.ThrowsAsync<FramingException>(() => reader.ReadAsync());
        Assert.Contains("limit", e.Message);
        Assert.Equal(small, Encoding.UTF8.GetString((await reader.ReadAsync())!));
    }

    [Fact]
    public async Task Writer_frames_with_the_utf8_byte_length()
    {
        var ms = new MemoryStream();
        await new MessageWriter(ms).WriteAsync(Encoding.UTF8.GetBytes("{\"t\":\"é🙂\"}"));
        var text = Encoding.UTF8.GetString(ms.ToArray());
        Assert.StartsWith("Content-Length: 14\r\n\r\n", text);
    }
}
