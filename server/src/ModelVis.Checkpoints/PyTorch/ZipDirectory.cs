using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace ModelVis.Checkpoints.PyTorch;

/// <summary>
/// The entries of a zip archive, read from its central directory (ZIP64 included), with the absolute
/// file offset of each entry's data. Stored (uncompressed) entries — what <c>torch.save</c> writes — are read
/// in place by offset, without inflating anything; deflated entries (an archive re-zipped by hand) are inflated
/// as a stream, front to back, each time they are read, and never kept: a 4 MB archive of deflated zeros declares
/// gigabytes, and keeping what it inflates to would hold them for as long as the checkpoint is open. A deflated
/// entry must inflate to exactly its declared size, which may not exceed <see cref="MaxInflatedEntryBytes"/>.
/// </summary>
internal sealed class ZipDirectory : IDisposable
{
    public sealed class Entry
    {
        public required string Name { get; init; }
        public required long Length { get; init; }
        public required long CompressedLength { get; init; }
        public required ushort Method { get; init; }
        public required long LocalHeaderOffset { get; init; }
        /// <summary>Absolute offset of the entry's bytes (for stored entries, the data itself).</summary>
        public long DataOffset { get; set; }
        public bool IsStored => Method == 0;
    }

    /// <summary>The largest deflated entry read (torch.save stores entries uncompressed; only hand-zipped archives deflate).</summary>
    internal long MaxInflatedEntryBytes { get; set; } = 1L << 30;

    /// <summary>The one deflated entry being read front to back, where the last read stopped; null when none is.</summary>
    sealed class InflateCursor(Entry entry, Stream stream) : IDisposable
    {
        public Entry Entry { get; } = entry;
        public Stream Stream { get; } = stream;
        public long Position;
        public void Dispose() => Stream.Dispose();
    }
    InflateCursor? _cursor;

    readonly SafeFileHandle _handle;
    readonly string _fileName;
    readonly object _inflateLock = new();
    public string Path { get; }
    public long FileLength { get; }
    public IReadOnlyDictionary<string, Entry> Entries { get; }

    public ZipDirectory(string path)
    {
        Path = path;
        _fileName = System.IO.Path.GetFileName(path);
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            FileLength = RandomAccess.GetLength(_handle);
            Entries = ReadCentralDirectory();
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    CheckpointException Corrupt(string what) =>
        new($"{_fileName}: not a readable zip archive: {what} (the file is truncated or corrupt; re-save it with torch.save)");

    void ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > FileLength)
            throw Corrupt($"a record at byte {offset} runs past the end of the {FileLength}-byte file");
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[done..], offset + done);
            if (n <= 0) throw Corrupt($"the file ended at byte {offset + done} while reading");
            done += n;
        }
    }

    Dictionary<string, Entry> ReadCentralDirectory()
    {
        // End of central directory: 22 bytes plus a comment of up to 65,535 bytes, at the very end.
        int tailLength = (int)Math.Min(FileLength, 22 + 65535);
        if (FileLength < 22) throw Corrupt($"the file is only {FileLength} bytes");
        var tail = new byte[tailLength];
        ReadAt(FileLength - tailLength, tail);
        int eocd = -1;
        for (int i = tailLength - 22; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == 0x06054b50) { eocd = i; break; }
        if (eocd < 0) throw Corrupt("no end-of-central-directory record");
        var e = tail.AsSpan(eocd);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
        long eocdAbsolute = FileLength - tailLength + eocd;

        if (count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF)
        {
            // ZIP64: a locator sits right before the end record and points at the ZIP64 end record.
            if (eocdAbsolute < 20) throw Corrupt("ZIP64 locator missing");
            Span<byte> loc = stackalloc byte[20];
            ReadAt(eocdAbsolute - 20, loc);
            if (BinaryPrimitives.ReadUInt32LittleEndian(loc) != 0x07064b50) throw Corrupt("ZIP64 locator missing");
            long z64 = (long)BinaryPrimitives.ReadUInt64LittleEndian(loc[8..]);
            Span<byte> rec = stackalloc byte[56];
            ReadAt(z64, rec);
            if (BinaryPrimitives.ReadUInt32LittleEndian(rec) != 0x06064b50) throw Corrupt("ZIP64 end record missing");
            count = (long)BinaryPrimitives.ReadUInt64LittleEndian(rec[32..]);
            cdSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(rec[40..]);
            cdOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(rec[48..]);
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset + cdSize > FileLength || cdSize > int.MaxValue)
            throw Corrupt($"the central directory (bytes {cdOffset}–{cdOffset + cdSize}) lies outside the file");

        var cd = new byte[cdSize];
        ReadAt(cdOffset, cd);
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        int p = 0;
        for (long i = 0; i < count; i++)
        {
            if (p + 46 > cd.Length || BinaryPrimitives.ReadUInt32LittleEndian(cd.AsSpan(p)) != 0x02014b50)
                throw Corrupt($"central directory entry {i} is damaged");
            var h = cd.AsSpan(p);
            ushort method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long length = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            if (p + 46 + nameLen + extraLen + commentLen > cd.Length) throw Corrupt($"central directory entry {i} is damaged");
            string name = Encoding.UTF8.GetString(h.Slice(46, nameLen));
            // ZIP64 extended information: 64-bit values for the fields that were saturated, in this order.
            var extra = h.Slice(46 + nameLen, extraLen);
            while (extra.Length >= 4)
            {
                ushort id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
                int size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
                if (4 + size > extra.Length) break;
                if (id == 0x0001)
                {
                    var z = extra.Slice(4, size);
                    if (length == 0xFFFFFFFF && z.Length >= 8) { length = (long)BinaryPrimitives.ReadUInt64LittleEndian(z); z = z[8..]; }
                    if (compressed == 0xFFFFFFFF && z.Length >= 8) { compressed = (long)BinaryPrimitives.ReadUInt64LittleEndian(z); z = z[8..]; }
                    if (local == 0xFFFFFFFF && z.Length >= 8) { local = (long)BinaryPrimitives.ReadUInt64LittleEndian(z); }
                }
                extra = extra[(4 + size)..];
            }
            if (length < 0 || compressed < 0 || local < 0)
                throw Corrupt($"central directory entry `{name}` has impossible sizes");
            entries[name] = new Entry { Name = name, Length = length, CompressedLength = compressed, Method = method, LocalHeaderOffset = local };
            p += 46 + nameLen + extraLen + commentLen;
        }
        return entries;
    }

    /// <summary>Finds where an entry's data starts (from its local header) and checks it lies inside the file.</summary>
    public void Locate(Entry entry)
    {
        if (entry.DataOffset > 0) return;
        Span<byte> local = stackalloc byte[30];
        ReadAt(entry.LocalHeaderOffset, local);
        if (BinaryPrimitives.ReadUInt32LittleEndian(local) != 0x04034b50)
            throw Corrupt($"the local header of `{entry.Name}` is missing");
        int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(local[26..]);
        int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(local[28..]);
        long data = entry.LocalHeaderOffset + 30 + nameLen + extraLen;
        long stored = entry.IsStored ? entry.Length : entry.CompressedLength;
        if (data + stored > FileLength)
            throw new CheckpointException($"{_fileName}: zip entry `{entry.Name}` needs bytes {data}–{data + stored} but the file has {FileLength} (truncated?)");
        if (entry.Method != 0 && entry.Method != 8)
            throw new CheckpointException($"{_fileName}: zip entry `{entry.Name}` uses compression method {entry.Method}; only stored and deflated entries are read");
        entry.DataOffset = data;
    }

    /// <summary>Copies bytes <paramref name="offset"/>.. of an entry's uncompressed content.</summary>
    public void Read(Entry entry, long offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > entry.Length)
            throw new CheckpointException($"{_fileName}: read of bytes {offset}–{offset + destination.Length} is outside zip entry `{entry.Name}` ({entry.Length} bytes)");
        Locate(entry);
        if (entry.IsStored)
        {
            ReadAt(entry.DataOffset + offset, destination);
            return;
        }
        ReadDeflated(entry, offset, destination);
    }

    public byte[] ReadAll(Entry entry)
    {
        if (entry.Length > int.MaxValue) throw new CheckpointException($"{_fileName}: zip entry `{entry.Name}` is over 2 GB");
        var bytes = new byte[entry.Length];
        Read(entry, 0, bytes);
        return bytes;
    }

    void ReadDeflated(Entry entry, long offset, Span<byte> destination)
    {
        if (entry.Length > MaxInflatedEntryBytes)
            throw new CheckpointException($"{_fileName}: zip entry `{entry.Name}` is compressed and declares {entry.Length} bytes, over the {MaxInflatedEntryBytes >> 20} MB limit for compressed entries; re-save the checkpoint with torch.save (which stores entries uncompressed)");
        lock (_inflateLock)
        {
            try
            {
                if (_cursor == null || _cursor.Entry != entry || _cursor.Position > offset)
                {
                    _cursor?.Dispose();
                    _cursor = null;
                    _cursor = new InflateCursor(entry, new DeflateStream(new RangeStream(_handle, entry.DataOffset, entry.CompressedLength), CompressionMode.Decompress));
                }
                var c = _cursor;
                if (offset > c.Position)
                {
                    var skip = new byte[(int)Math.Min(1 << 16, offset - c.Position)];
                    while (c.Position < offset)
                    {
                        int n = (int)Math.Min(skip.Length, offset - c.Position);
                        c.Stream.ReadExactly(skip, 0, n);
                        c.Position += n;
                    }
                }
                c.Stream.ReadExactly(destination);
                c.Position += destination.Length;
                if (c.Position == entry.Length)
                {
                    // The whole entry is read: it must end here, and nothing of it is kept.
                    bool more = c.Stream.ReadByte() >= 0;
                    c.Dispose();
                    _cursor = null;
                    if (more) throw Corrupt($"entry `{entry.Name}` inflates past its declared {entry.Length} bytes");
                }
            }
            catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
            {
                _cursor?.Dispose();
                _cursor = null;
                throw Corrupt(e is EndOfStreamException
                    ? $"entry `{entry.Name}` inflates to fewer than its declared {entry.Length} bytes"
                    : $"entry `{entry.Name}` does not inflate ({e.Message})");
            }
        }
    }

    /// <summary>A read-only window [start, start + length) of the archive, read by offset (no shared file position).</summary>
    sealed class RangeStream(SafeFileHandle handle, long start, long length) : Stream
    {
        long _pos;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            int n = (int)Math.Min(buffer.Length, length - _pos);
            if (n <= 0) return 0;
            n = RandomAccess.Read(handle, buffer[..n], start + _pos);
            _pos += n;
            return n;
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    public void Dispose()
    {
        lock (_inflateLock)
        {
            _cursor?.Dispose();
            _cursor = null;
        }
        _handle.Dispose();
    }
}
