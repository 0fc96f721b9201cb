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

    /// <summary>Reads a whole tensor widened to float32 (F32, F16, BF16, F64).</summary>
    public static float[] ReadFloats(this ICheckpoint ckpt, TensorInfo t)
    {
        if (t.ElementCount > Array.MaxLength)
            throw new CheckpointException($"{System.IO.Path.GetFileName(t.File)}: tensor `{t.Name}` {t.ShapeText} has {t.ElementCount} elements, more than one array holds; read it in ranges");
        var result = new float[t.ElementCount];
        ReadFloats(ckpt, t, 0, result);
        return result;
    }

    public static float[] ReadFloats(this ICheckpoint ckpt, string name) => ckpt.ReadFloats(ckpt.Get(name));

    /// <summary>Reads <c>destination.Length</c> elements starting at element <paramref name="start"/>, widened to float32.</summary>
    public static void ReadFloats(this ICheckpoint ckpt, TensorInfo t, long start, Span<float> destination)
    {
        if (!t.DType.IsReadableAsFloat())
            throw new CheckpointException($"{System.IO.Path.GetFileName(t.File)}: tensor `{t.Name}` has dtype {t.DType.Name()}, which is not read as floats (F32, F16, BF16 and F64 are)");
        if (start < 0 || start > t.ElementCount - destination.Length)
            throw new ArgumentOutOfRangeException(nameof(start));
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
