namespace ModelVis.Checkpoints;

/// <summary>
/// Every checkpoint format behind one face: list tensors (name, dtype, shape, file) and read their
/// bytes lazily. Implementations are thread-safe for reads.
/// </summary>
public interface ICheckpoint : IDisposable
{
    /// <summary>The file or folder that was opened.</summary>
    string Path { get; }

    /// <summary>All tensors, in file order.</summary>
    IReadOnlyList<TensorInfo> Tensors { get; }

    bool TryGet(string name, out TensorInfo info);

    /// <summary>Copies the raw little-endian bytes of a tensor (or a byte range of it) into <paramref name="destination"/>.</summary>
    void ReadBytes(TensorInfo tensor, long byteOffset, Span<byte> destination);
}

public static class CheckpointExtensions
{
    public static TensorInfo Get(this ICheckpoint ckpt, string name) =>
        ckpt.TryGet(name, out var t) ? t
        : throw new CheckpointException($"{System.IO.Path.GetFileName(ckpt.Path)}: no tensor named `{name}`");

    /// <summary>Reads a whole tensor widened to float32 (F32, F16, BF16, F64, and GGUF block types dequantized).</summary>
    public static float[] ReadFloats(this ICheckpoint ckpt, TensorInfo t)
    {
        if (t.ElementCount > Array.MaxLength)
            throw new CheckpointException($"{System.IO.Path.GetFileName(t.File)}: tensor `{t.Name}` {t.ShapeText} has {t.ElementCount} elements, more than one array holds; read it in ranges");
        var result = new float[t.ElementCount];
        ReadFloats(ckpt, t, 0, result);
        return result;
    }

    public static float[] ReadFloats(this ICheckpoint ckpt, string name) => ckpt.ReadFloats(ckpt.Get(name));

    /// <summary>Reads <c>destination.Length</c> elements starting at element <paramref name="start"/>, widened to
    /// float32. Block-quantized tensors are dequantized: any element range works, decoding the whole blocks around it.</summary>
    public static void ReadFloats(this ICheckpoint ckpt, TensorInfo t, long start, Span<float> destination)
    {
        if (!t.DType.IsReadableAsFloat())
        {
            string what = t.DType.IsQuantized() ? "which ModelVis cannot dequantize" : "which is not read as floats";
            throw new CheckpointException($"{System.IO.Path.GetFileName(t.File)}: tensor `{t.Name}` has type {t.DType.Name()}, {what} (supported: {DTypes.ReadableAsFloatNames})");
        }
        if (start < 0 || start > t.ElementCount - destination.Length)
            throw new ArgumentOutOfRangeException(nameof(start));
        if (t.DType.IsQuantized()) { ReadDequantized(ckpt, t, start, destination); return; }
        int size = t.DType.Size();
        const int chunk = 1 << 16;
        var buffer = new byte[Math.Min(destination.Length, chunk) * size];
        for (int done = 0; done < destination.Length;)
        {
            int n = Math.Min(chunk, destination.Length - done);
            var bytes = buffer.AsSpan(0, n * size);
            ckpt.ReadBytes(t, (start + done) * size, bytes);
            FloatConversion.Widen(t.DType, bytes, destination.Slice(done, n));
            done += n;
        }
    }

    /// <summary>Reads the whole blocks that cover [start, start + destination.Length) a chunk at a time and
    /// dequantizes them: straight into <paramref name="destination"/> where a chunk lies inside the range,
    /// through a scratch buffer at the ends, where the range starts or stops inside a block.</summary>
    static void ReadDequantized(ICheckpoint ckpt, TensorInfo t, long start, Span<float> destination)
    {
        var (perBlock, blockBytes) = t.DType.Block();
        const int chunkElements = 1 << 16;
        int chunkBlocks = Math.Max(1, chunkElements / perBlock);
        long end = start + destination.Length;
        long firstBlock = start / perBlock, endBlock = (end + perBlock - 1) / perBlock;
        if (firstBlock >= endBlock) return;
        var bytes = new byte[(int)Math.Min(chunkBlocks, endBlock - firstBlock) * blockBytes];
        float[]? scratch = null;
        for (long block = firstBlock; block < endBlock; block += chunkBlocks)
        {
            int blocks = (int)Math.Min(chunkBlocks, endBlock - block);
            var raw = bytes.AsSpan(0, blocks * blockBytes);
            ckpt.ReadBytes(t, block * blockBytes, raw);
            long from = block * perBlock, to = from + (long)blocks * perBlock;
            if (from >= start && to <= end)
            {
                GgmlQuantization.DequantizeBlocks(t.DType, raw, destination.Slice((int)(from - start), blocks * perBlock));
                continue;
            }
            scratch ??= new float[chunkBlocks * perBlock];
            var decoded = scratch.AsSpan(0, blocks * perBlock);
            GgmlQuantization.DequantizeBlocks(t.DType, raw, decoded);
            long lo = Math.Max(from, start), hi = Math.Min(to, end);
            decoded.Slice((int)(lo - from), (int)(hi - lo)).CopyTo(destination.Slice((int)(lo - start)));
        }
    }

    public static long[] ReadInt64s(this ICheckpoint ckpt, TensorInfo t)
    {
        if (t.ByteLength > Array.MaxLength)
            throw new CheckpointException($"{System.IO.Path.GetFileName(t.File)}: tensor `{t.Name}` {t.ShapeText} is {t.ByteLength} bytes, more than one array holds; read it in ranges");
        var bytes = new byte[t.ByteLength];
        ckpt.ReadBytes(t, 0, bytes);
        return t.DType switch
        {
            DType.I64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes).ToArray(),
            DType.I32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes).ToArray().Select(x => (long)x).ToArray(),
            _ => throw new CheckpointException($"tensor `{t.Name}` has dtype {t.DType.Name()}, not an integer type"),
        };
    }
}
