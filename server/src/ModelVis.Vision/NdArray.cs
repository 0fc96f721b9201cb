namespace ModelVis.Vision;

/// <summary>
/// A dense row-major array: float32 values (activations, weights) or int64 values (shapes, indices,
/// the small integer tensors ONNX graphs compute shapes with). Whichever kind is asked for is converted on demand.
/// </summary>
public sealed class NdArray
{
    float[]? _floats;
    long[]? _longs;

    public int[] Shape { get; }
    public int Length { get; }
    /// <summary>Whether the values are int64 by nature (shapes, indices); fixed at construction, whatever views are asked for later.</summary>
    public bool IsInteger { get; }
    public int Rank => Shape.Length;

    NdArray(int[] shape, float[]? floats, long[]? longs)
    {
        Shape = shape;
        Length = ElementCount(shape);
        int have = floats?.Length ?? longs!.Length;
        if (have != Length) throw new VisionException($"internal: {have} values for shape {ShapeText(shape)}");
        _floats = floats;
        _longs = longs;
        IsInteger = floats == null;
    }

    public static NdArray Of(float[] data, params int[] shape) => new(shape, data, null);
    public static NdArray OfLongs(long[] data, params int[] shape) => new(shape, null, data);
    public static NdArray Zeros(params int[] shape) => new(shape, new float[ElementCount(shape)], null);
    public static NdArray Scalar(float v) => new([], [v], null);

    /// <summary>The float32 values (the array itself for a float array; a converted copy for an integer one).</summary>
    public float[] Floats => _floats ??= Array.ConvertAll(_longs!, v => (float)v);

    /// <summary>The int64 values (truncating floats).</summary>
    public long[] Longs => _longs ??= Array.ConvertAll(_floats!, v => (long)v);

    /// <summary>Same values, another shape (no copy).</summary>
    public NdArray Reshaped(params int[] shape)
    {
        if (ElementCount(shape) != Length) throw new VisionException($"cannot reshape {ShapeText(Shape)} to {ShapeText(shape)}");
        return IsInteger ? new(shape, null, _longs) : new(shape, _floats, null);
    }

    public static int ElementCount(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new VisionException($"negative dimension {d}");
            n *= d;
            if (n > int.MaxValue) throw new VisionException($"a tensor of shape {ShapeText(shape.ToArray())} is too large (over 2^31 elements)");
        }
        return (int)n;
    }

    public static string ShapeText(int[] shape) => "[" + string.Join(", ", shape) + "]";
    public string ShapeString => ShapeText(Shape);
    public override string ToString() => $"{(IsInteger ? "int64" : "float32")}{ShapeString}";
}
