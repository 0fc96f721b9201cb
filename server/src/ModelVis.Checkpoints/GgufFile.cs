using System.Text;
using ModelVis.IO;
using Microsoft.Win32.SafeHandles;

namespace ModelVis.Checkpoints;

/// <summary>
/// A GGUF file (llama.cpp), versions 2 and 3: magic <c>GGUF</c>, version, tensor count, metadata key/value
/// pairs, tensor infos (name, dimensions innermost first, ggml type, offset), then the tensor data, aligned
/// to <c>general.alignment</c> (default 32). Opening reads only the header. F32, F16, BF16 and F64 tensors are
/// read like any other checkpoint's; block-quantized tensors (Q4_K, Q8_0, …) keep their raw bytes, and
/// <c>ReadFloats</c> dequantizes the types <see cref="GgmlQuantization"/> supports (others, IQ* and TQ*, are listed only).
/// </summary>
public sealed class GgufFile : ICheckpoint
{
    const uint Magic = 0x46554747; // "GGUF" little-endian
    const int MaxDims = 4;
    const long MaxItems = 1 << 20;          // tensors or metadata pairs: far above any real model (a few thousand)
    const long MaxStringBytes = 1 << 26;    // 64 MB for one string
    /// <summary>
    /// Items of all metadata arrays together. Each item is kept as an object (a boxed number or a string, 24–40 bytes),
    /// so a file of a few MB of one-byte items would otherwise hold gigabytes; the largest real vocabularies
    /// (tokens, scores, types and merges of a 262k-token model) take about 1.5 million.
    /// </summary>
    internal const long MaxMetadataItems = 1 << 23;

    long _metadataItems;

    readonly SafeFileHandle _handle;
    readonly Dictionary<string, TensorInfo> _byName = new(StringComparer.Ordinal);

    public string Path { get; }
    public IReadOnlyList<TensorInfo> Tensors { get; }
    public uint Version { get; }
    /// <summary>Metadata values: long/ulong/double/bool/string, or object[] for arrays.</summary>
    public IReadOnlyDictionary<string, object> Metadata { get; }
    public long Alignment { get; }
    public long DataStart { get; }

    string FileName => System.IO.Path.GetFileName(Path);

    enum ValueType : uint { U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64 }

    static readonly Dictionary<uint, DType> GgmlTypes = new()
    {
        [0] = DType.F32, [1] = DType.F16, [2] = DType.Q4_0, [3] = DType.Q4_1, [6] = DType.Q5_0, [7] = DType.Q5_1,
        [8] = DType.Q8_0, [9] = DType.Q8_1, [10] = DType.Q2_K, [11] = DType.Q3_K, [12] = DType.Q4_K, [13] = DType.Q5_K,
        [14] = DType.Q6_K, [15] = DType.Q8_K, [16] = DType.IQ2_XXS, [17] = DType.IQ2_XS, [18] = DType.IQ3_XXS,
        [19] = DType.IQ1_S, [20] = DType.IQ4_NL, [21] = DType.IQ3_S, [22] = DType.IQ2_S, [23] = DType.IQ4_XS,
        [24] = DType.I8, [25] = DType.I16, [26] = DType.I32, [27] = DType.I64, [28] = DType.F64, [29] = DType.IQ1_M,
        [30] = DType.BF16, [34] = DType.TQ1_0, [35] = DType.TQ2_0, [39] = DType.MXFP4,
        [40] = DType.NVFP4, [41] = DType.Q1_0, [42] = DType.Q2_0,
    };

    /// <summary>Whether a file is GGUF by its name or, for names without the extension (Ollama's blobs), by its magic.</summary>
    public static bool IsGgufFile(string path)
    {
        if (!File.Exists(path)) return false;
        if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) return true;
        try
        {
            // Only regular files with content are sniffed: a FIFO would block the open, and reports length 0.
            if (new FileInfo(path).Length < 4) return false;
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            Span<byte> head = stackalloc byte[4];
            return fs.Length >= 4 && fs.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && BitConverter.ToUInt32(head) == Magic;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    public GgufFile(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        InputFile.RequireRegular(Path, m => new CheckpointException(m));
        _handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            long length = RandomAccess.GetLength(_handle);
            using var fs = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var r = new Reader(fs, length, FileName);
            if (length < 4 || r.U32() != Magic)
                throw new CheckpointException($"{FileName}: not a GGUF file (no `GGUF` magic at the start)");
            Version = r.U32();
            if (Version == 1)
                throw new CheckpointException($"{FileName}: GGUF version 1 (2023) is not supported; convert it with llama.cpp's current tools to version 3");
            if (Version is not (2 or 3))
                throw new CheckpointException($"{FileName}: GGUF version {Version} is not supported (versions 2 and 3 are)");
            long tensorCount = r.Count("tensor count", 8 + 4 + 4 + 8, MaxItems);
            long kvCount = r.Count("metadata count", 8 + 4, MaxItems);

            var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
            for (long i = 0; i < kvCount; i++)
            {
                var key = r.String("metadata key");
                var type = (ValueType)r.U32();
                var value = ReadValue(r, type, key, 0);
                if (!metadata.TryAdd(key, value)) throw new CheckpointException($"{FileName}: metadata key `{key}` appears twice");
            }
            Metadata = metadata;
            Alignment = 32;
            if (metadata.TryGetValue("general.alignment", out var a))
            {
                long al = a switch { ulong u => (long)Math.Min(u, long.MaxValue), long l => l, _ => -1 };
                if (al <= 0 || (al & (al - 1)) != 0) throw new CheckpointException($"{FileName}: general.alignment {a} is not a positive power of two");
                Alignment = al;
            }

            var raw = new List<(string Name, long[] Dims, DType Type, ulong Offset)>();
            for (long i = 0; i < tensorCount; i++)
            {
                var name = r.String("tensor name");
                uint nd = r.U32();
                if (nd > MaxDims) throw new CheckpointException($"{FileName}: tensor `{name}` has {nd} dimensions; GGUF allows at most {MaxDims}");
                var dims = new long[nd];
                for (int d = 0; d < nd; d++)
                {
                    ulong v = r.U64();
                    if (v > long.MaxValue) throw new CheckpointException($"{FileName}: tensor `{name}` has an impossible dimension {v}");
                    dims[d] = (long)v;
                }
                uint gt = r.U32();
                if (!GgmlTypes.TryGetValue(gt, out var dtype))
                    throw new CheckpointException($"{FileName}: tensor `{name}` has ggml type {gt}, which ModelVis does not know");
                raw.Add((name, dims, dtype, r.U64()));
            }
            DataStart = (r.Position + Alignment - 1) / Alignment * Alignment;
            long dataLength = length - DataStart;

            var tensors = new List<TensorInfo>(raw.Count);
            foreach (var (name, dims, dtype, offset) in raw)
            {
                string where = $"{FileName}: tensor `{name}`";
                // GGUF lists dimensions innermost first; row-major shape is the reverse.
                var shape = dims.Reverse().ToArray();
                long count, bytes;
                try
                {
                    count = shape.Aggregate(1L, (x, y) => checked(x * y));
                    bytes = dtype.ByteLength(count);
                }
                catch (OverflowException) { throw new CheckpointException($"{where}: shape [{string.Join(", ", shape)}] is too large"); }
                if (dtype.IsQuantized() && dims.Length > 0 && dims[0] % dtype.Block().Elements != 0)
                    throw new CheckpointException($"{where}: {dtype.Name()} rows of {dims[0]} elements are not whole blocks of {dtype.Block().Elements}");
                if (offset % (ulong)Alignment != 0)
                    throw new CheckpointException($"{where}: data offset {offset} is not a multiple of the alignment {Alignment} (corrupt file)");
                if (offset > (ulong)Math.Max(0, dataLength) || bytes > dataLength - (long)offset)
                    throw new CheckpointException($"{where}: data (bytes {offset}–{(decimal)offset + bytes} of the data section) runs past the end of the file, which has {Math.Max(0, dataLength)} data bytes (truncated?)");
                if (_byName.ContainsKey(name)) throw new CheckpointException($"{where} appears twice");
                var info = new TensorInfo(name, dtype, shape, Path, DataStart + (long)offset, bytes);
                _byName[name] = info;
                tensors.Add(info);
            }
            var ordered = tensors.OrderBy(t => t.Offset).ToList();
            for (int i = 1; i < ordered.Count; i++)
                if (ordered[i].Offset < ordered[i - 1].Offset + ordered[i - 1].ByteLength)
                    throw new CheckpointException($"{FileName}: tensors `{ordered[i - 1].Name}` and `{ordered[i].Name}` overlap");
            Tensors = tensors;
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    object ReadValue(Reader r, ValueType type, string key, int depth) => type switch
    {
        ValueType.U8 => (long)r.Bytes(1)[0],
        ValueType.I8 => (long)(sbyte)r.Bytes(1)[0],
        ValueType.U16 => (long)BitConverter.ToUInt16(r.Bytes(2)),
        ValueType.I16 => (long)BitConverter.ToInt16(r.Bytes(2)),
        ValueType.U32 => (long)r.U32(),
        ValueType.I32 => (long)BitConverter.ToInt32(r.Bytes(4)),
        ValueType.F32 => (double)BitConverter.ToSingle(r.Bytes(4)),
        ValueType.Bool => r.Bytes(1)[0] != 0,
        ValueType.String => r.String($"value of `{key}`"),
        ValueType.U64 => r.U64(),
        ValueType.I64 => BitConverter.ToInt64(r.Bytes(8)),
        ValueType.F64 => BitConverter.ToDouble(r.Bytes(8)),
        ValueType.Array when depth < 4 => ReadArray(r, key, depth),
        ValueType.Array => throw new CheckpointException($"{FileName}: metadata `{key}` nests arrays more than 4 deep (corrupt file)"),
        _ => throw new CheckpointException($"{FileName}: metadata `{key}` has unknown value type {(uint)type} (corrupt file)"),
    };

    object[] ReadArray(Reader r, string key, int depth)
    {
        var type = (ValueType)r.U32();
        // Each item takes at least its encoded size in the file (a string its 8-byte length, an array its type and count).
        long itemBytes = type switch
        {
            ValueType.U8 or ValueType.I8 or ValueType.Bool => 1,
            ValueType.U16 or ValueType.I16 => 2,
            ValueType.U32 or ValueType.I32 or ValueType.F32 => 4,
            ValueType.U64 or ValueType.I64 or ValueType.F64 or ValueType.String => 8,
            ValueType.Array => 12,
            _ => throw new CheckpointException($"{FileName}: metadata `{key}` is an array of unknown value type {(uint)type} (corrupt file)"),
        };
        long n = r.Count($"length of array `{key}`", itemBytes, MaxMetadataItems);
        _metadataItems += n;
        if (_metadataItems > MaxMetadataItems)
            throw new CheckpointException($"{FileName}: metadata arrays hold more than {MaxMetadataItems:N0} items in all (at `{key}`); no model's metadata is that large, so the file is refused as corrupt or hostile");
        var items = new object[n];
        for (long i = 0; i < n; i++) items[i] = ReadValue(r, type, key, depth + 1);
        return items;
    }

    /// <summary>Little-endian header reader that refuses to run past the end of the file.</summary>
    sealed class Reader(Stream s, long length, string file)
    {
        readonly byte[] _buf = new byte[8];
        public long Position { get; private set; }

        CheckpointException Truncated(string what) =>
            new($"{file}: the header ends early while reading {what} at byte {Position} of {length} (truncated or corrupt)");

        public byte[] Bytes(int n, string what = "a value")
        {
            if (Position + n > length) throw Truncated(what);
            var b = n <= 8 ? _buf : new byte[n];
            s.ReadExactly(b, 0, n);
            Position += n;
            return b;
        }

        public uint U32() => BitConverter.ToUInt32(Bytes(4));
        public ulong U64() => BitConverter.ToUInt64(Bytes(8));

        /// <summary>A count of items each taking at least <paramref name="minBytes"/> bytes: checked against the file size.</summary>
        public long Count(string what, long minBytes, long max)
        {
            ulong n = U64();
            if (n > (ulong)max) throw new CheckpointException($"{file}: {what} {n} is over the limit of {max} (corrupt header)");
            if (n > (ulong)((length - Position) / Math.Max(1, minBytes) + 1))
                throw new CheckpointException($"{file}: {what} {n} cannot fit in the {length}-byte file (corrupt header)");
            return (long)n;
        }

        public string String(string what)
        {
            ulong n = U64();
            if (n > (ulong)(length - Position)) throw Truncated(what);
            if (n > MaxStringBytes) throw new CheckpointException($"{file}: {what} is {n} bytes long, over the 64 MB limit (corrupt header)");
            if (n == 0) return "";
            var b = new byte[n];
            s.ReadExactly(b);
            Position += (long)n;
            return Encoding.UTF8.GetString(b);
        }
    }

    public bool TryGet(string name, out TensorInfo info) => _byName.TryGetValue(name, out info!);

    public void ReadBytes(TensorInfo tensor, long byteOffset, Span<byte> destination)
    {
        if (!_byName.TryGetValue(tensor.Name, out var t)) throw new CheckpointException($"{FileName}: no tensor named `{tensor.Name}`");
        if (byteOffset < 0 || byteOffset + destination.Length > t.ByteLength) throw new ArgumentOutOfRangeException(nameof(byteOffset));
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[done..], t.Offset + byteOffset + done);
            if (n <= 0) throw new CheckpointException($"{FileName}: tensor `{t.Name}`: the file ended while reading (truncated?)");
            done += n;
        }
    }

    public void Dispose() => _handle.Dispose();
}
