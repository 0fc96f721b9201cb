using System.IO.MemoryMappedFiles;
using System.Text.Json;
using ModelVis.IO;

namespace ModelVis.Checkpoints;

/// <summary>
/// A <c>.safetensors</c> file: an 8-byte little-endian header length, a JSON header
/// (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}</c>),
/// then the data. Opening reads only the header; tensor bytes are memory-mapped on first use.
/// Every header inconsistency is reported with the file and tensor it concerns.
/// </summary>
public sealed unsafe class SafetensorsFile : ICheckpoint
{
    const long MaxHeaderBytes = 100L << 20; // the reference implementation refuses headers over 100 MB

    readonly Dictionary<string, TensorInfo> _byName;
    readonly object _mapLock = new();
    MemoryMappedFile? _map;
    MemoryMappedViewAccessor? _view;
    byte* _base;

    public string Path { get; }
    public IReadOnlyList<TensorInfo> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public long DataStart { get; }
    public long FileLength { get; }

    string FileName => System.IO.Path.GetFileName(Path);

    public SafetensorsFile(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        byte[] header;
        InputFile.RequireRegular(Path, m => new CheckpointException(m));
        using (var fs = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            FileLength = fs.Length;
            if (FileLength < 8)
                throw new CheckpointException($"{FileName}: file is {FileLength} bytes, too short for a safetensors header (8-byte length prefix)");
            Span<byte> prefix = stackalloc byte[8];
            fs.ReadExactly(prefix);
            ulong n = BitConverter.ToUInt64(prefix);
            if (n > (ulong)MaxHeaderBytes)
                throw new CheckpointException($"{FileName}: header length {n} is over the 100 MB limit; this is not a safetensors file or it is corrupt");
            if ((long)n > FileLength - 8)
                throw new CheckpointException($"{FileName}: header length {n} runs past the end of the {FileLength}-byte file (truncated?)");
            header = new byte[n];
            fs.ReadExactly(header);
            DataStart = 8 + (long)n;
        }

        var tensors = new List<TensorInfo>();
        var metadata = new Dictionary<string, string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(header);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{FileName}: header is not a JSON object");
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in prop.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                if (!seen.Add(prop.Name)) throw new CheckpointException($"{FileName}: tensor `{prop.Name}` appears twice in the header");
                tensors.Add(ParseEntry(prop.Name, prop.Value));
            }
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{FileName}: header is not valid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            throw new CheckpointException($"{FileName}: header is not valid UTF-8 JSON ({e.Message})", e);
        }

        long dataLength = FileLength - DataStart;
        foreach (var t in tensors)
        {
            long end = t.Offset - DataStart + t.ByteLength;
            if (end > dataLength)
                throw new CheckpointException($"{FileName}: tensor `{t.Name}` ends at byte {end} of the data but the file has {dataLength} data bytes (truncated?)");
        }
        var ordered = tensors.OrderBy(t => t.Offset).ToList();
        for (int i = 1; i < ordered.Count; i++)
        {
            var a = ordered[i - 1]; var b = ordered[i];
            if (b.Offset < a.Offset + a.ByteLength)
                throw new CheckpointException($"{FileName}: tensors `{a.Name}` and `{b.Name}` overlap (bytes {a.Offset - DataStart}–{a.Offset - DataStart + a.ByteLength} and {b.Offset - DataStart}–{b.Offset - DataStart + b.ByteLength})");
        }

        Tensors = ordered;
        Metadata = metadata;
        _byName = ordered.ToDictionary(t => t.Name);
    }

    TensorInfo ParseEntry(string name, JsonElement e)
    {
        string where = $"{FileName}: tensor `{name}`";
        if (e.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{where}: entry is not an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new CheckpointException($"{where}: missing \"dtype\"");
        if (!DTypes.TryParse(dt.GetString()!, out var dtype))
            throw new CheckpointException($"{where}: unknown dtype \"{dt.GetString()}\"");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new CheckpointException($"{where}: missing \"shape\"");
        var shape = new long[sh.GetArrayLength()];
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var v) || v < 0)
                throw new CheckpointException($"{where}: shape {sh.GetRawText()} is not a list of non-negative integers");
            shape[i++] = v;
        }
        long begin = 0, end = 0;
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2
            || off[0].ValueKind != JsonValueKind.Number || off[1].ValueKind != JsonValueKind.Number
            || !off[0].TryGetInt64(out begin) || !off[1].TryGetInt64(out end) || begin < 0 || end < begin)
            throw new CheckpointException($"{where}: \"data_offsets\" must be [begin, end] with 0 ≤ begin ≤ end");
        long expected;
        // Checked: a shape like [2^62] of F32 would otherwise wrap to 0 bytes and pass the span check.
        try { expected = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * dtype.Size()); }
        catch (OverflowException) { throw new CheckpointException($"{where}: shape {sh.GetRawText()} of {dtype.Name()} is too large (its byte size overflows 64 bits)"); }
        if (end - begin != expected)
            throw new CheckpointException($"{where}: data_offsets span {end - begin} bytes but shape {sh.GetRawText()} of {dtype.Name()} needs {expected}");
        return new TensorInfo(name, dtype, shape, Path, DataStart + begin, end - begin);
    }

    public bool TryGet(string name, out TensorInfo info) => _byName.TryGetValue(name, out info!);

    void EnsureMapped()
    {
        if (_base != null) return;
        lock (_mapLock)
        {
            if (_base != null) return;
            ObjectDisposedException.ThrowIf(_disposed, this);
            _map = MemoryMappedFile.CreateFromFile(Path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _base = p + _view.PointerOffset;
        }
    }

    /// <summary>The tensor's bytes in place in the mapped file (no copy). Valid until the file is disposed.</summary>
    public ReadOnlySpan<byte> Bytes(TensorInfo t)
    {
        if (t.ByteLength == 0) return ReadOnlySpan<byte>.Empty;
        if (t.ByteLength > int.MaxValue) throw new CheckpointException($"{FileName}: tensor `{t.Name}` is over 2 GB; read it in ranges");
        EnsureMapped();
        return new ReadOnlySpan<byte>(_base + t.Offset, (int)t.ByteLength);
    }

    public void ReadBytes(TensorInfo t, long byteOffset, Span<byte> destination)
    {
        if (byteOffset < 0 || byteOffset + destination.Length > t.ByteLength) throw new ArgumentOutOfRangeException(nameof(byteOffset));
        if (destination.Length == 0) return;
        EnsureMapped();
        new ReadOnlySpan<byte>(_base + t.Offset + byteOffset, destination.Length).CopyTo(destination);
    }

    bool _disposed;
    public void Dispose()
    {
        lock (_mapLock)
        {
            if (_disposed) return;
            _disposed = true;
            if (_base != null) _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _base = null;
            _view?.Dispose();
            _map?.Dispose();
        }
    }
}
