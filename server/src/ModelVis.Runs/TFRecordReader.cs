using System.Buffers;
using System.Buffers.Binary;

namespace ModelVis.Runs;

/// <summary>A record that could not be read, with its byte offset in the file.</summary>
public sealed record RecordProblem(string File, long Offset, string Message)
{
    public override string ToString() => $"{System.IO.Path.GetFileName(File)} at byte {Offset}: {Message}";
}

/// <summary>What a scan of a TFRecord file found besides the records themselves.</summary>
/// <param name="End">The offset just past the last whole record: where to resume when the file grows.</param>
/// <param name="TruncatedAt">Where an incomplete last record starts (a writer still writing), or null.</param>
public sealed record TFRecordScan(long End, long? TruncatedAt, int Records, IReadOnlyList<RecordProblem> Problems);

/// <summary>
/// TFRecord framing, as TensorFlow writes event files: each record is
/// <c>uint64 length</c>, <c>uint32 masked_crc32c(length bytes)</c>, <c>length</c> bytes of data,
/// <c>uint32 masked_crc32c(data)</c>, all little-endian.
/// </summary>
/// <remarks>
/// Both CRCs are checked. A record whose data CRC fails is reported with its offset and skipped (its length was
/// vouched for by the header CRC). A header whose CRC fails is reported and the reader looks for the next
/// place where a whole, valid record starts. A last record cut short by the end of the file is not an error: it
/// is what a run that is still writing looks like, and <see cref="TFRecordScan.End"/> says where to resume.
/// </remarks>
public static class TFRecordReader
{
    const int HeaderSize = 12, FooterSize = 4;

    /// <summary>Largest record accepted; larger lengths are treated as corruption (event records are small).</summary>
    public static long MaxRecordLength { get; set; } = 1L << 30;

    /// <summary>Reads every whole record of <paramref name="path"/> from byte <paramref name="start"/> on.</summary>
    public static TFRecordScan Read(string path, long start, Action<long, ReadOnlySpan<byte>> onRecord, CancellationToken cancel = default)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        return Read(stream, path, start, onRecord, cancel);
    }

    public static TFRecordScan Read(Stream stream, string name, long start, Action<long, ReadOnlySpan<byte>> onRecord, CancellationToken cancel = default)
    {
        if (!stream.CanSeek) throw new ArgumentException("a seekable stream is needed", nameof(stream));
        long length = stream.Length;
        var problems = new List<RecordProblem>();
        Span<byte> header = stackalloc byte[HeaderSize];
        Span<byte> footer = stackalloc byte[FooterSize];
        byte[] data = ArrayPool<byte>.Shared.Rent(4096);
        int records = 0;
        long pos = start;
        try
        {
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                if (pos >= length) return new TFRecordScan(pos, null, records, problems);
                if (length - pos < HeaderSize) return new TFRecordScan(pos, pos, records, problems);
                stream.Position = pos;
                stream.ReadExactly(header);
                ulong len = BinaryPrimitives.ReadUInt64LittleEndian(header);
                uint lenCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
                if (Crc32C.Masked(header[..8]) != lenCrc || len > (ulong)MaxRecordLength)
                {
                    long next = FindNextRecord(stream, pos + 1, length);
                    if (next < 0)
                    {
                        // Nothing valid follows. A header torn by a writer would be shorter than 12 bytes, so this is damage.
                        problems.Add(new RecordProblem(name, pos, $"record header fails its CRC check and no valid record follows ({length - pos} bytes skipped)"));
                        return new TFRecordScan(length, null, records, problems);
                    }
                    problems.Add(new RecordProblem(name, pos, $"record header fails its CRC check; skipped {next - pos} bytes to the next valid record"));
                    pos = next;
                    continue;
                }
                long total = HeaderSize + (long)len + FooterSize;
                if (length - pos < total) return new TFRecordScan(pos, pos, records, problems);
                if ((long)len > data.Length)
                {
                    ArrayPool<byte>.Shared.Return(data);
                    data = ArrayPool<byte>.Shared.Rent((int)len);
                }
                var body = data.AsSpan(0, (int)len);
                stream.ReadExactly(body);
                stream.ReadExactly(footer);
                if (Crc32C.Masked(body) != BinaryPrimitives.ReadUInt32LittleEndian(footer))
                    problems.Add(new RecordProblem(name, pos, $"record data ({len} bytes) fails its CRC check; record skipped"));
                else
                {
                    records++;
                    onRecord(pos, body);
                }
                pos += total;
            }
        }
        finally { ArrayPool<byte>.Shared.Return(data); }
    }

    /// <summary>The first offset at or after <paramref name="from"/> where a whole record with both CRCs valid starts, or -1.</summary>
    static long FindNextRecord(Stream stream, long from, long length)
    {
        const int Window = 1 << 20;
        var buffer = new byte[Window + HeaderSize];
        for (long windowStart = from; windowStart + HeaderSize <= length; windowStart += Window)
        {
            int n = (int)Math.Min(buffer.Length, length - windowStart);
            stream.Position = windowStart;
            stream.ReadExactly(buffer.AsSpan(0, n));
            for (int i = 0; i + HeaderSize <= n && i < Window; i++)
            {
                var h = buffer.AsSpan(i, HeaderSize);
                if (Crc32C.Masked(h[..8]) != BinaryPrimitives.ReadUInt32LittleEndian(h[8..])) continue;
                ulong len = BinaryPrimitives.ReadUInt64LittleEndian(h);
                long at = windowStart + i;
                if (len > (ulong)MaxRecordLength || at + HeaderSize + (long)len + FooterSize > length) continue;
                if (DataCrcValid(stream, at, (int)len)) return at;
            }
        }
        return -1;
    }

    static bool DataCrcValid(Stream stream, long at, int len)
    {
        long saved = stream.Position;
        var body = ArrayPool<byte>.Shared.Rent(len + FooterSize);
        try
        {
            stream.Position = at + HeaderSize;
            stream.ReadExactly(body.AsSpan(0, len + FooterSize));
            return Crc32C.Masked(body.AsSpan(0, len)) == BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(len, FooterSize));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
            stream.Position = saved;
        }
    }

    /// <summary>Frames one record (for writers and tests).</summary>
    public static void Write(Stream stream, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        stream.Write(header);
        stream.Write(data);
        Span<byte> footer = stackalloc byte[FooterSize];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        stream.Write(footer);
    }
}
