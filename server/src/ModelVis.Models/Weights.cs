using ModelVis.Checkpoints;
using ModelVis.Tensors;

namespace ModelVis.Models;

/// <summary>
/// Reads a family's tensors out of a checkpoint by name, checking each shape against what config.json implies.
/// Matrices stored in float32 are packed for the kernels at load; matrices stored in F16, BF16 or GGUF blocks stay
/// as stored in the checkpoint (<see cref="StoredRowsMatrix"/>) and are widened inside each product, so a model
/// costs about its file size and opening it reads only what small vectors it needs. Set
/// <see cref="WidenToFloat32"/> for the old behaviour (every matrix widened and packed at load), the baseline the
/// benchmark compares against.
/// </summary>
sealed class Weights(ICheckpoint checkpoint, string modelType, string prefix = "") : IDisposable
{
    const int ChunkElements = 1 << 20;

    /// <summary>Widen every matrix to packed float32 at load instead of keeping it as stored (MODELVIS_WIDEN_WEIGHTS=1).</summary>
    public static bool WidenToFloat32 { get; set; } = Environment.GetEnvironmentVariable("MODELVIS_WIDEN_WEIGHTS") == "1";

    public ICheckpoint Checkpoint => checkpoint;
    /// <summary>Where the products run: every matrix read for a product is placed there (uploaded once).</summary>
    public ComputeDevice Device { get; init; } = ComputeDevice.Cpu;
    public string Prefix { get; set; } = prefix;

    string FileName => Path.GetFileName(checkpoint.Path);

    /// <summary>The first of <paramref name="prefixes"/> under which <paramref name="probe"/> exists, or null.</summary>
    public string? FindPrefix(string probe, params string[] prefixes) =>
        prefixes.FirstOrDefault(p => checkpoint.TryGet(p + probe, out _));

    public bool Has(string name) => checkpoint.TryGet(Prefix + name, out _);
    public bool HasExact(string name) => checkpoint.TryGet(name, out _);

    TensorInfo Info(string fullName, params long[] shape)
    {
        if (!checkpoint.TryGet(fullName, out var t))
            throw new ModelException($"{FileName}: missing tensor `{fullName}`, which a {modelType} model needs (is this checkpoint for a different architecture?)");
        if (!t.Shape.SequenceEqual(shape))
            throw new ModelException($"{FileName}: tensor `{fullName}` has shape {t.ShapeText} but config.json implies [{string.Join(", ", shape)}]; the weights do not belong to this config");
        if (!t.DType.IsReadableAsFloat())
            throw new ModelException($"{FileName}: tensor `{fullName}` has type {t.DType.Name()}, which ModelVis cannot read as numbers (it reads {DTypes.ReadableAsFloatNames})");
        return t;
    }

    /// <summary>A vector or small matrix as floats (norm gains, biases, position tables).</summary>
    public float[] Floats(string name, params long[] shape) => checkpoint.ReadFloats(Info(Prefix + name, shape));

    public float[]? OptionalFloats(string name, params long[] shape) => Has(name) ? Floats(name, shape) : null;

    /// <summary>Rows <paramref name="which"/> of a stored [rows, cols] table, widened to floats [which.Length, cols]: embedding lookups, unembedding rows.</summary>
    public float[] Rows(string name, int rows, int cols, IReadOnlyList<int> which)
    {
        var t = Info(Prefix + name, rows, cols);
        var data = new float[which.Count * cols];
        for (int i = 0; i < which.Count; i++)
        {
            if ((uint)which[i] >= (uint)rows) throw new ModelException($"token id {which[i]} is outside the vocabulary of {rows}");
            checkpoint.ReadFloats(t, (long)which[i] * cols, data.AsSpan(i * cols, cols));
        }
        return data;
    }

    /// <summary>An nn.Linear weight W [out, in] as the product's B = Wᵀ [in, out].</summary>
    public WeightMatrix LinearWeight(string name, int outFeatures, int inFeatures) =>
        FusedLinearWeight(inFeatures, (name, outFeatures));

    /// <summary>An embedding table [vocab, d] whose rows are looked up (<see cref="WeightMatrix.CopyColumn"/>); never packed, never widened as a whole.</summary>
    public WeightMatrix EmbeddingRows(string name, int vocab, int dim)
    {
        var t = Info(Prefix + name, vocab, dim);
        return new StoredRowsMatrix(dim, Segment(t, vocab, dim));
    }

    /// <summary>Several nn.Linear weights with the same input, side by side in one matrix (q|k|v, gate|up).</summary>
    public WeightMatrix FusedLinearWeight(int inFeatures, params (string Name, int Out)[] parts) =>
        Place(ReadFusedLinearWeight(inFeatures, parts));

    WeightMatrix ReadFusedLinearWeight(int inFeatures, (string Name, int Out)[] parts)
    {
        var infos = parts.Select(p => Info(Prefix + p.Name, p.Out, inFeatures)).ToArray();
        if (!WidenToFloat32 && infos.Any(t => t.DType != DType.F32))
            return new StoredRowsMatrix(inFeatures, infos.Select((t, i) => Segment(t, parts[i].Out, inFeatures)).ToArray());
        var packed = new PackedMatrix(inFeatures, parts.Sum(p => p.Out));
        int column = 0;
        foreach (var (name, outFeatures) in parts)
        {
            var t = Info(Prefix + name, outFeatures, inFeatures);
            StreamRows(t, outFeatures, inFeatures, (row, data) => packed.SetColumns(column + row, data));
            column += outFeatures;
        }
        return packed;
    }

    /// <summary>A Conv1D weight (GPT-2) stored [in, out]: already B.</summary>
    public WeightMatrix Conv1DWeight(string name, int inFeatures, int outFeatures)
    {
        var t = Info(Prefix + name, inFeatures, outFeatures);
        var packed = new PackedMatrix(inFeatures, outFeatures);
        StreamRows(t, inFeatures, outFeatures, (row, data) => packed.SetRows(row, data));
        return Place(packed);
    }

    /// <summary>Concatenated biases for a fused weight (all present or all absent).</summary>
    public float[]? FusedBias(params (string Name, int Out)[] parts)
    {
        if (!parts.Any(p => Has(p.Name))) return null;
        return parts.SelectMany(p => Floats(p.Name, p.Out)).ToArray();
    }

    readonly List<IDisposable> _placed = [];

    /// <summary>The matrix on <see cref="Device"/>; copies made there are freed with these weights (when the model closes).</summary>
    WeightMatrix Place(WeightMatrix matrix)
    {
        var placed = Device.Place(matrix);
        if (placed is IDisposable copy) _placed.Add(copy);
        return placed;
    }

    public void Dispose()
    {
        foreach (var copy in _placed) copy.Dispose();
        _placed.Clear();
    }

    [ThreadStatic] static byte[]? t_bytes;

    /// <summary>Rows of a stored [rows, cols] tensor as one segment: decoded on demand, or read as raw bytes by an accelerator.</summary>
    RowSegment Segment(TensorInfo t, int rows, int cols)
    {
        long rowBytes = t.DType.ByteLength(cols);
        return new RowSegment(rows, RowDecoder(t, cols), t.DType.Name(), rowBytes,
            (first, count, destination) => checkpoint.ReadBytes(t, first * rowBytes, destination[..checked((int)(rowBytes * count))]));
    }

    /// <summary>
    /// Rows of a stored [rows, cols] tensor widened to float32 on demand, straight from the checkpoint (a copy out of
    /// the memory map, or a read the OS serves from its page cache), through a per-thread byte buffer.
    /// </summary>
    RowDecoder RowDecoder(TensorInfo t, int cols)
    {
        long rowBytes = t.DType.ByteLength(cols);
        return (first, count, destination) =>
        {
            int bytes = checked((int)(rowBytes * count));
            var buffer = t_bytes is { } b && b.Length >= bytes ? b : t_bytes = new byte[bytes];
            checkpoint.ReadBytes(t, first * rowBytes, buffer.AsSpan(0, bytes));
            // A row of a quantized tensor is whole blocks (GgufFile checks it), so rows decode on their own.
            if (t.DType.IsQuantized()) GgmlQuantization.DequantizeBlocks(t.DType, buffer.AsSpan(0, bytes), destination[..(count * cols)]);
            else FloatConversion.Widen(t.DType, buffer.AsSpan(0, bytes), destination[..(count * cols)]);
        };
    }

    void StreamRows(TensorInfo t, int rows, int cols, Action<int, float[]> sink)
    {
        int chunkRows = Math.Max(1, ChunkElements / cols);
        var buffer = new float[Math.Min(rows, chunkRows) * cols];
        for (int r = 0; r < rows; r += chunkRows)
        {
            int count = Math.Min(chunkRows, rows - r);
            var data = count * cols == buffer.Length ? buffer : new float[count * cols];
            checkpoint.ReadFloats(t, (long)r * cols, data);
            sink(r, data);
        }
    }
}

/// <summary>LayerNorm parameters: y = (x − mean)/√(var + eps) · γ + β.</summary>
sealed record LayerNormWeights(float[] Gamma, float[] Beta, float Eps)
{
    public void Apply(ReadOnlySpan<float> x, int rows, Span<float> y) => Norms.LayerNorm(x, rows, Gamma.Length, Gamma, Beta, Eps, y);

    public static LayerNormWeights Read(Weights w, string name, int dim, float eps) =>
        new(w.Floats(name + ".weight", dim), w.Floats(name + ".bias", dim), eps);
}
