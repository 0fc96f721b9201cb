using ILGPU;

namespace ModelVis.Gpu.Kernels;

/// <summary>What one product launch computes: C[:, offset .. offset + columns) of an [M, Ldc] output from A [M, K] and weight rows of RowBytes bytes.</summary>
public struct ProductShape
{
    public int M, K, Columns, Ldc, ColumnOffset;
    public long RowBytes;
    /// <summary>1: add bias[offset + j]; 1: add to what C holds instead (C += A·B).</summary>
    public int HasBias, Accumulate;
}

public static class Products
{
    /// <summary>Output rows and columns per thread: each weight element read serves four rows of A.</summary>
    public const int Tile = 4;

    /// <summary>
    /// C[i, j] = Σ_k A[i, k] · W[j, k] (+ bias[j]) for a 4 × 4 tile per thread (<paramref name="tile"/>: row tile, column tile),
    /// W's row j read in its stored type by <typeparamref name="TRows"/>. No shared memory and no barriers, so the same
    /// kernel runs on CUDA and on ILGPU's CPU accelerator (where the tests run it); edge tiles clamp their reads and skip
    /// their writes.
    /// </summary>
    public static void Multiply<TRows>(Index2D tile, ProductShape s, ArrayView<float> a, ArrayView<byte> w, ArrayView<float> bias, ArrayView<float> c)
        where TRows : struct, IStoredRows
    {
        var rows = default(TRows);
        int i0 = tile.X * Tile, j0 = tile.Y * Tile;
        int lastRow = s.M - 1, lastColumn = s.Columns - 1;
        long a0 = (long)i0 * s.K, a1 = (long)XMin(i0 + 1, lastRow) * s.K, a2 = (long)XMin(i0 + 2, lastRow) * s.K, a3 = (long)XMin(i0 + 3, lastRow) * s.K;
        long w0 = (long)j0 * s.RowBytes, w1 = XMin(j0 + 1, lastColumn) * s.RowBytes, w2 = XMin(j0 + 2, lastColumn) * s.RowBytes, w3 = XMin(j0 + 3, lastColumn) * s.RowBytes;
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int k = 0; k < s.K; k++)
        {
            float b0 = rows.At(w, w0, k), b1 = rows.At(w, w1, k), b2 = rows.At(w, w2, k), b3 = rows.At(w, w3, k);
            float x0 = a[a0 + k], x1 = a[a1 + k], x2 = a[a2 + k], x3 = a[a3 + k];
            c00 += x0 * b0; c01 += x0 * b1; c02 += x0 * b2; c03 += x0 * b3;
            c10 += x1 * b0; c11 += x1 * b1; c12 += x1 * b2; c13 += x1 * b3;
            c20 += x2 * b0; c21 += x2 * b1; c22 += x2 * b2; c23 += x2 * b3;
            c30 += x3 * b0; c31 += x3 * b1; c32 += x3 * b2; c33 += x3 * b3;
        }
        Store(s, bias, c, i0, j0, c00, c01, c02, c03);
        Store(s, bias, c, i0 + 1, j0, c10, c11, c12, c13);
        Store(s, bias, c, i0 + 2, j0, c20, c21, c22, c23);
        Store(s, bias, c, i0 + 3, j0, c30, c31, c32, c33);
    }

    static int XMin(int a, int b) => a < b ? a : b;

    static void Store(ProductShape s, ArrayView<float> bias, ArrayView<float> c, int i, int j0, float v0, float v1, float v2, float v3)
    {
        if (i >= s.M) return;
        Store(s, bias, c, i, j0, v0);
        Store(s, bias, c, i, j0 + 1, v1);
        Store(s, bias, c, i, j0 + 2, v2);
        Store(s, bias, c, i, j0 + 3, v3);
    }

    static void Store(ProductShape s, ArrayView<float> bias, ArrayView<float> c, int i, int j, float v)
    {
        if (j >= s.Columns) return;
        int column = s.ColumnOffset + j;
        long at = (long)i * s.Ldc + column;
        // As the CPU kernel: C += A·B ignores the bias (it starts from C, not from the bias).
        if (s.Accumulate != 0) v += c[at];
        else if (s.HasBias != 0) v += bias[column];
        c[at] = v;
    }
}
