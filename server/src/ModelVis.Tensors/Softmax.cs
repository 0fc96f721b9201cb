using System.Numerics.Tensors;

namespace ModelVis.Tensors;

public static class Softmax
{
    /// <summary>softmax over one row, in place: exp(x − max) / Σ exp(x − max).</summary>
    public static void InPlace(Span<float> row)
    {
        if (row.IsEmpty) return;
        float max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, row);
        TensorPrimitives.Exp(row, row);
        float sum = TensorPrimitives.Sum(row);
        TensorPrimitives.Divide(row, sum, row);
    }

    /// <summary>softmax over each row of a [rows, cols] matrix, in place.</summary>
    public static void Rows(Span<float> x, int rows, int cols)
    {
        for (int r = 0; r < rows; r++) InPlace(x.Slice(r * cols, cols));
    }
}
