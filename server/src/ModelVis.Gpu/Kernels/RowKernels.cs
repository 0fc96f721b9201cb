using ILGPU;
using ILGPU.Algorithms;

namespace ModelVis.Gpu.Kernels;

/// <summary>RMSNorm of vectors of <see cref="Dim"/> values from <see cref="Offset"/> in rows of <see cref="Width"/> (ModelVis.Tensors.RowNorm).</summary>
public struct RowNormShape
{
    public int Width, Offset, Dim;
    public float Eps;
}

/// <summary>Rotary embedding on <see cref="Heads"/> heads from <see cref="Offset"/> in rows of <see cref="Width"/>, heads <see cref="HeadStride"/> apart, over their first <see cref="RotaryDim"/> values.</summary>
public struct RotaryShape
{
    public int Width, Offset, Heads, HeadStride, RotaryDim;
}

/// <summary>The per-row steps of the attention sublayer that run between its products on the device.</summary>
public static class RowKernels
{
    /// <summary>y = w · x / √(mean(x²) + eps), in place, one thread per (row, vector); x·(1/√…) first, then the gain, as HF.</summary>
    public static void RmsNorm(Index2D index, RowNormShape s, ArrayView<float> rows, ArrayView<float> gain)
    {
        long start = (long)index.X * s.Width + s.Offset + (long)index.Y * s.Dim;
        float sumOfSquares = 0;
        for (int i = 0; i < s.Dim; i++) sumOfSquares += rows[start + i] * rows[start + i];
        float inverse = 1f / XMath.Sqrt(sumOfSquares / s.Dim + s.Eps);
        for (int i = 0; i < s.Dim; i++) rows[start + i] = rows[start + i] * inverse * gain[i];
    }

    /// <summary>
    /// HF rotate_half, one thread per (row, head · half + j): (x₁, x₂) → (x₁ cos − x₂ sin, x₂ cos + x₁ sin) with the row's
    /// tables [rotary_dim] (cos and sin of position row), two products then the sum, as torch.
    /// </summary>
    public static void Rotate(Index2D index, RotaryShape s, ArrayView<float> rows, ArrayView<float> cos, ArrayView<float> sin)
    {
        int half = s.RotaryDim / 2, head = index.Y / half, j = index.Y % half;
        long at = (long)index.X * s.Width + s.Offset + (long)head * s.HeadStride + j, table = (long)index.X * s.RotaryDim;
        float x1 = rows[at], x2 = rows[at + half];
        rows[at] = x1 * cos[table + j] + -x2 * sin[table + j];
        rows[at + half] = x2 * cos[table + j + half] + x1 * sin[table + j + half];
    }
}
