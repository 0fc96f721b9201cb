using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace ModelVis.Rpc;

/// <summary>
/// LSP frames (<c>Content-Length: N\r\n\r\n</c> + N bytes) from a pipe, checked before anything is buffered: the header
/// must fit in <see cref="MaxHeaderBytes"/>, its lines end in CRLF, Content-Length is a positive integer no larger than
/// <see cref="MaxBodyBytes"/>. After a bad frame the reader resynchronises: it drops input up to the next
/// <c>Content-Length:</c>, so one damaged frame costs one error, never the messages after it.
/// </summary>
sealed class FrameReader(PipeReader input)
{
    public const int MaxHeaderBytes = 8 << 10;
    /// <summary>The largest message body the host reads (a picture sent as data is the largest legitimate one).</summary>
    public const int MaxBodyBytes = 256 << 20;

    static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();
    static readonly byte[] LengthField = "Content-Length:"u8.ToArray();

    /// <summary>After a bad frame: skip to the next Content-Length before reading; quiet until a frame reads whole.</summary>
    bool _resyncing;
    ReadOnlySequence<byte> _buffer;
    SequencePosition _bodyEnd;

    /// <summary>
    /// The next frame's body (valid until <see cref="Consume"/>), or null at the end of the input. A bad frame gives an
    /// error message instead (one per damaged stretch of input; the bytes are already skipped).
    /// </summary>
    public async ValueTask<(ReadOnlySequence<byte>? Body, string? Error)> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (_resyncing && !SkipToLengthField(ref buffer))
            {
                if (result.IsCompleted) return End(buffer);
                // Keep a possible partial "Content-Length:" at the end.
                input.AdvanceTo(buffer.Length > LengthField.Length ? buffer.GetPosition(buffer.Length - LengthField.Length) : buffer.Start, buffer.End);
                continue;
            }
            var headerEnd = Find(buffer, HeaderEnd, MaxHeaderBytes + HeaderEnd.Length);
            if (headerEnd < 0)
            {
                if (buffer.Length >= MaxHeaderBytes + HeaderEnd.Length) return Bad(buffer, $"header is longer than {MaxHeaderBytes:N0} bytes");
                if (result.IsCompleted) return End(buffer);
                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }
            var (length, error) = ParseHeader(buffer.Slice(0, headerEnd));
            if (error != null) return Bad(buffer, error);
            long bodyStart = headerEnd + HeaderEnd.Length;
            while (buffer.Length < bodyStart + length)
            {
                if (result.IsCompleted) return End(buffer);
                input.AdvanceTo(buffer.Start, buffer.End);
                result = await input.ReadAsync(cancellationToken);
                buffer = result.Buffer;
            }
            _resyncing = false;
            _buffer = buffer;
            _bodyEnd = buffer.GetPosition(bodyStart + length);
            return (buffer.Slice(bodyStart, length), null);
        }
    }

    /// <summary>
    /// The last body was not JSON, so its Content-Length was probably wrong: read on from the next Content-Length, and
    /// say nothing of the rest of it (its error has been answered).
    /// </summary>
    public void Resync() => _resyncing = true;

    /// <summary>Done with the body <see cref="ReadAsync"/> returned.</summary>
    public void Consume() => input.AdvanceTo(_bodyEnd, _bodyEnd);

    (ReadOnlySequence<byte>?, string?) End(ReadOnlySequence<byte> buffer)
    {
        input.AdvanceTo(buffer.End);
        return (null, null);
    }

    /// <summary>Steps one byte past the bad frame's start and resynchronises from there; reports only the first of a run.</summary>
    (ReadOnlySequence<byte>?, string?) Bad(ReadOnlySequence<byte> buffer, string error)
    {
        input.AdvanceTo(buffer.GetPosition(1));
        bool first = !_resyncing;
        _resyncing = true;
        return (null, first ? error : "");
    }

    /// <summary>Drops input before the next "Content-Length:"; false (everything but a possible partial match dropped) when there is none yet.</summary>
    bool SkipToLengthField(ref ReadOnlySequence<byte> buffer)
    {
        var at = Find(buffer, LengthField, long.MaxValue);
        if (at < 0) return false;
        buffer = buffer.Slice(at);
        return true;
    }

    static long Find(ReadOnlySequence<byte> buffer, ReadOnlySpan<byte> value, long within)
    {
        var reader = new SequenceReader<byte>(buffer.Length > within ? buffer.Slice(0, within) : buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> before, value, advancePastDelimiter: false) ? before.Length : -1;
    }

    /// <summary>The header's Content-Length, or why the header is not one the host reads.</summary>
    static (long Length, string? Error) ParseHeader(ReadOnlySequence<byte> header)
    {
        var text = Encoding.ASCII.GetString(header);
        long length = -1;
        foreach (var line in text.Split("\r\n"))
        {
            if (line.Contains('\n') || line.Contains('\r')) return (0, "header lines must end in \\r\\n");
            int colon = line.IndexOf(':');
            if (colon <= 0) return (0, $"header line \"{Printable(line)}\" is not \"Name: value\"");
            var name = line[..colon];
            if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')) return (0, $"\"{Printable(name)}\" is not a header name");
            var value = line[(colon + 1)..].Trim(' ', '\t');
            switch (name)
            {
                case "Content-Length":
                    if (length >= 0) return (0, "Content-Length is given twice");
                    if (value.Length == 0 || value.Length > 19 || !value.All(char.IsAsciiDigit) || !long.TryParse(value, out length))
                        return (0, $"Content-Length must be a positive integer, not \"{Printable(value)}\"");
                    if (length == 0) return (0, "Content-Length must be positive");
                    if (length > MaxBodyBytes) return (0, $"Content-Length {length:N0} is over the host's limit of {MaxBodyBytes:N0} bytes");
                    break;
                case "Content-Type":
                    var charset = value.Split(';').Skip(1).Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("charset=", StringComparison.OrdinalIgnoreCase));
                    if (charset != null && charset["charset=".Length..].Trim('"').ToLowerInvariant() is not ("utf-8" or "utf8"))
                        return (0, $"Content-Type {Printable(value)}: the host reads utf-8 only");
                    break;
            }
        }
        return length < 0 ? (0, "no Content-Length header") : (length, null);
    }

    static string Printable(string s)
    {
        var cut = s.Length > 40 ? s[..40] + "…" : s;
        return new string(cut.Select(c => c is >= ' ' and < (char)127 || c == '…' ? c : '?').ToArray());
    }
}
