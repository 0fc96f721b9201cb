using System.Text;

namespace ModelVis.Rpc;

/// <summary>
/// Language Server Protocol framing: <c>Content-Length: N\r\n</c> (other headers ignored), a blank line,
/// then N bytes of UTF-8 JSON. A bad header is reported and the reader resynchronises on the next header.
/// </summary>
public sealed class MessageReader(Stream input, int maxMessageBytes = 256 << 20)
{
    readonly Stream _input = input;
    readonly byte[] _buffer = new byte[64 * 1024];
    int _start, _end;

    /// <summary>The next message body, or null at end of stream. Throws <see cref="FramingException"/> for a bad header (the stream stays usable).</summary>
    public async Task<byte[]?> ReadAsync(CancellationToken ct = default)
    {
        long? contentLength = null;
        bool sawHeader = false;
        while (true)
        {
            var line = await ReadLineAsync(ct);
            if (line == null)
            {
                if (sawHeader) throw new FramingException("stream ended inside a message header");
                return null;
            }
            if (line.Length == 0)
            {
                if (!sawHeader) continue; // stray blank line between messages
                break;
            }
            sawHeader = true;
            int colon = line.IndexOf(':');
            if (colon <= 0) { await SkipToBlankLineAsync(ct); throw new FramingException($"malformed header line \"{Truncate(line)}\" (expected \"Name: value\")"); }
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, out var n) || n < 0) { await SkipToBlankLineAsync(ct); throw new FramingException($"Content-Length \"{Truncate(value)}\" is not a non-negative integer"); }
                contentLength = n;
            }
        }
        if (contentLength == null) throw new FramingException("message header has no Content-Length");
        if (contentLength > maxMessageBytes)
        {
            await SkipBytesAsync(contentLength.Value, ct);
            throw new FramingException($"message of {contentLength} bytes is over the {maxMessageBytes}-byte limit");
        }
        var body = new byte[contentLength.Value];
        int filled = 0;
        int buffered = Math.Min(_end - _start, body.Length);
        Buffer.BlockCopy(_buffer, _start, body, 0, buffered);
        _start += buffered; filled += buffered;
        while (filled < body.Length)
        {
            int n = await _input.ReadAsync(body.AsMemory(filled), ct);
            if (n == 0) throw new FramingException($"stream ended after {filled} of {body.Length} body bytes");
            filled += n;
        }
        return body;
    }

    static string Truncate(string s) => s.Length > 60 ? s[..60] + "…" : s;

    async Task SkipToBlankLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var line = await ReadLineAsync(ct);
            if (line == null || line.Length == 0) return;
        }
    }

    async Task SkipBytesAsync(long count, CancellationToken ct)
    {
        while (count > 0)
        {
            if (_start == _end && !await FillAsync(ct)) return;
            int n = (int)Math.Min(count, _end - _start);
            _start += n; count -= n;
        }
    }

    async Task<bool> FillAsync(CancellationToken ct)
    {
        if (_start > 0 && _start == _end) { _start = _end = 0; }
        if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start; _start = 0;
        }
        int n = await _input.ReadAsync(_buffer.AsMemory(_end), ct);
        _end += n;
        return n > 0;
    }

    /// <summary>A header line without its CRLF (or LF), or null at end of stream.</summary>
    async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            int nl = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (nl >= 0)
            {
                int len = nl - _start;
                if (len > 0 && _buffer[nl - 1] == '\r') len--;
                var s = Encoding.ASCII.GetString(_buffer, _start, len);
                _start = nl + 1;
                return s;
            }
            if (_end - _start >= 8192)
            {
                _start = _end; // absurd header line: drop it
                throw new FramingException("header line longer than 8 KB");
            }
            if (!await FillAsync(ct))
            {
                if (_end > _start) { _start = _end; throw new FramingException("stream ended inside a header line"); }
                return null;
            }
        }
    }
}

public sealed class MessageWriter(Stream output)
{
    readonly Stream _output = output;
    readonly SemaphoreSlim _lock = new(1, 1);

    public async Task WriteAsync(ReadOnlyMemory<byte> json, CancellationToken ct = default)
    {
        var header = Encoding.ASCII.GetBytes($"Content-Length: {json.Length}\r\n\r\n");
        await _lock.WaitAsync(ct);
        try
        {
            await _output.WriteAsync(header, ct);
            await _output.WriteAsync(json, ct);
            await _output.FlushAsync(ct);
        }
        finally { _lock.Release(); }
    }
}

public sealed class FramingException(string message) : Exception(message);
