using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace ModelVis.Checkpoints.PyTorch;

/// <summary>
/// The entries of a zip archive, read from its central directory (ZIP64 included), with the absolute
/// file offset of each entry's data. Stored (uncompressed) entries — what <c>torch.save</c> writes — are read
/// in place by offset, without inflating anything; deflated entries (an archive re-zipped by hand) go through
/// <see cref="ZipArchive"/> and are inflated once, on first read.
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
        internal byte[]? Inflated;
    }

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
        Inflate(entry).AsSpan((int)offset, destination.Length).CopyTo(destination);
    }

    public byte[] ReadAll(Entry entry)
    {
        if (entry.Length > int.MaxValue) throw new CheckpointException($"{_fileName}: zip entry `{entry.Name}` is over 2 GB");
        var bytes = new byte[entry.Length];
        Read(entry, 0, bytes);
        return bytes;
    }

    byte[] Inflate(Entry entry)
    {
        lock (_inflateLock)
        {
            if (entry.Inflated != null) return entry.Inflated;
            if (entry.Length > int.MaxValue)
                throw new CheckpointException($"{_fileName}: zip entry `{entry.Name}` is compressed and over 2 GB; re-save the checkpoint with torch.save (which stores entries uncompressed)");
            using var fs = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            try
            {
                using var zip = new ZipArchive(fs, ZipArchiveMode.Read);
                var z = zip.GetEntry(entry.Name) ?? throw Corrupt($"entry `{entry.Name}` not found by the zip reader");
                var bytes = new byte[entry.Length];
                using (var s = z.Open()) s.ReadExactly(bytes);
                return entry.Inflated = bytes;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
            {
                throw Corrupt($"entry `{entry.Name}` does not inflate ({e.Message})");
            }
        }
    }

    public void Dispose() => _handle.Dispose();
}
