namespace ModelVis.Tensors;

/// <summary>
/// A dense row-major float32 tensor: a flat array and a shape. Deliberately small: the kernels work on
/// spans, and this type only carries a result (a captured activation, a logits matrix) with its shape.
/// </summary>
public sealed class Tensor
{
    public float[] Data { get; }
    public int[] Shape { get; }

    public Tensor(float[] data, params int[] shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(", ", shape)}]");
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"{data.Length} values do not fill shape [{string.Join(", ", shape)}] ({count})");
        Data = data;
        Shape = shape;
    }

    public static Tensor Zeros(params int[] shape)
    {
        long count = 1;
        foreach (var d in shape) count *= d;
        return new Tensor(new float[checked((int)count)], shape);
    }

    public int Rank => Shape.Length;
    public int Length => Data.Length;
    public Span<float> Span => Data;

    /// <summary>The last dimension's length: the width of one row.</summary>
    public int RowLength => Shape.Length == 0 ? 1 : Shape[^1];

    /// <summary>Row <paramref name="i"/> of the tensor seen as a [Length / RowLength, RowLength] matrix.</summary>
    public Span<float> Row(int i) => Data.AsSpan(i * RowLength, RowLength);

    public long[] LongShape => Array.ConvertAll(Shape, d => (long)d);

    public override string ToString() => $"Tensor[{string.Join(", ", Shape)}]";
}
