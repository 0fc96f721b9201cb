using System.Numerics.Tensors;

namespace ModelVis.Tensors;

/// <summary>Row-wise normalisations over the last dimension.</summary>
public static class Norms
{
    /// <summary>
    /// LayerNorm: y = (x − mean) / sqrt(var + eps) · gamma + beta for each row of <paramref name="dim"/> values
    /// (biased variance, as torch). <paramref name="y"/> may be <paramref name="x"/>.
    /// </summary>
    public static void LayerNorm(ReadOnlySpan<float> x, int rows, int dim, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> y)
    {
        Span<float> centered = dim <= 4096 ? stackalloc float[dim] : new float[dim];
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var yr = y.Slice(r * dim, dim);
            float mean = TensorPrimitives.Sum(xr) / dim;
            TensorPrimitives.Subtract(xr, mean, centered);
            float variance = TensorPrimitives.SumOfSquares(centered) / dim;
            float inv = 1f / MathF.Sqrt(variance + eps);
            TensorPrimitives.Multiply(centered, inv, centered);
            if (beta.IsEmpty) TensorPrimitives.Multiply(centered, gamma, yr);
            else TensorPrimitives.FusedMultiplyAdd(centered, gamma, beta, yr);
        }
    }

    /// <summary>RMSNorm (Llama): y = w · x / sqrt(mean(x²) + eps). <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void RmsNorm(ReadOnlySpan<float> x, int rows, int dim, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var yr = y.Slice(r * dim, dim);
            float meanSquare = TensorPrimitives.SumOfSquares(xr) / dim;
            float inv = 1f / MathF.Sqrt(meanSquare + eps);
            // HF multiplies x by rsqrt first, then by the weight: keep that order for bit-closeness.
            TensorPrimitives.Multiply(xr, inv, yr);
            TensorPrimitives.Multiply(yr, weight, yr);
        }
    }
}
