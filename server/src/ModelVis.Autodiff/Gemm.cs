using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ModelVis.Tensors;

namespace ModelVis.Autodiff;

/// <summary>
/// Row-major matrix products in the three layouts of a linear layer's forward and backward (A·B, A·Bᵀ, Aᵀ·B).
/// Float (training) goes through <see cref="MatMul"/>, the engine's one float GEMM, with B packed on each call;
/// double (the gradient checks) through the plain kernel below.
/// Deterministic: each output element is written by one thread and summed over k in the same order whatever
/// the number of threads.
/// </summary>
public static class Gemm
{
    const int RowBlock = 4;

    /// <summary>C[n×m] (+)= A[n×k] · B[k×m].</summary>
    public static void NN<T>(T[] a, int aOff, T[] b, int bOff, T[] c, int cOff, int n, int k, int m, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Empty(c, cOff, n, k, m, accumulate)) return;
        if (typeof(T) == typeof(float))
        {
            var bf = (float[])(object)b;
            Multiply((float[])(object)a, aOff, new RowMajorMatrix(bf.AsMemory(bOff, k * m), k, m), (float[])(object)c, cOff, n, accumulate);
            return;
        }
        GenericNN(a, aOff, b, bOff, c, cOff, n, k, m, accumulate);
    }

    /// <summary>C[n×m] (+)= A[n×k] · B[m×k]ᵀ — a linear layer's forward, y = x·Wᵀ.</summary>
    public static void NT<T>(T[] a, int aOff, T[] b, int bOff, T[] c, int cOff, int n, int k, int m, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Empty(c, cOff, n, k, m, accumulate)) return;
        if (typeof(T) == typeof(float))
        {
            var bf = (float[])(object)b;
            Multiply((float[])(object)a, aOff, new TransposedMatrix(bf.AsMemory(bOff, m * k), m, k), (float[])(object)c, cOff, n, accumulate);
            return;
        }
        var bt = ArrayPool<T>.Shared.Rent(k * m);
        try
        {
            Transpose(b, bOff, m, k, bt, 0);
            GenericNN(a, aOff, bt, 0, c, cOff, n, k, m, accumulate);
        }
        finally { ArrayPool<T>.Shared.Return(bt); }
    }

    /// <summary>C[k×m] (+)= A[n×k]ᵀ · B[n×m] — a linear layer's weight gradient, dW = dYᵀ·X.</summary>
    public static void TN<T>(T[] a, int aOff, T[] b, int bOff, T[] c, int cOff, int n, int k, int m, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Empty(c, cOff, k, n, m, accumulate)) return;
        var at = ArrayPool<T>.Shared.Rent(k * n);
        try
        {
            Transpose(a, aOff, n, k, at, 0);
            NN(at, 0, b, bOff, c, cOff, k, n, m, accumulate);
        }
        finally { ArrayPool<T>.Shared.Return(at); }
    }

    /// <summary>True when there is nothing to multiply (C is cleared for an empty inner dimension).</summary>
    static bool Empty<T>(T[] c, int cOff, int rows, int inner, int cols, bool accumulate)
    {
        if (rows == 0 || cols == 0) return true;
        if (inner > 0) return false;
        if (!accumulate) Array.Clear(c, cOff, rows * cols);
        return true;
    }

    static void Multiply(float[] a, int aOff, WeightMatrix b, float[] c, int cOff, int rows, bool accumulate) =>
        MatMul.Multiply(a.AsSpan(aOff, rows * b.K), rows, b, c.AsSpan(cOff, rows * b.N), accumulate: accumulate);

    /// <summary>C[n×m] (+)= A[n×k] · B[k×m] for any floating-point type (the gradient checks run in double).</summary>
    static void GenericNN<T>(T[] a, int aOff, T[] b, int bOff, T[] c, int cOff, int n, int k, int m, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int blocks = (n + RowBlock - 1) / RowBlock;
        void Blocks(int b0, int b1)
        {
            for (int blk = b0; blk < b1; blk++) RowBlockKernel(a, aOff, b, bOff, c, cOff, blk * RowBlock, Math.Min(n, blk * RowBlock + RowBlock), k, m, accumulate);
        }
        if ((long)n * k * m < 1 << 17) Blocks(0, blocks);
        else Parallelism.ForRanges(blocks, Blocks);
    }

    /// <summary>dst[cols×rows] = src[rows×cols]ᵀ, in tiles so both sides stay in cache.</summary>
    public static void Transpose<T>(T[] src, int srcOff, int rows, int cols, T[] dst, int dstOff)
    {
        const int Tile = 32;
        for (int r0 = 0; r0 < rows; r0 += Tile)
        for (int c0 = 0; c0 < cols; c0 += Tile)
        {
            int r1 = Math.Min(rows, r0 + Tile), c1 = Math.Min(cols, c0 + Tile);
            for (int r = r0; r < r1; r++)
            {
                int s = srcOff + r * cols;
                for (int cc = c0; cc < c1; cc++) dst[dstOff + cc * rows + r] = src[s + cc];
            }
        }
    }

    /// <summary>Rows [i0, i1) of C (at most 4): 4×(2 vectors) accumulators held in registers across k.</summary>
    static void RowBlockKernel<T>(T[] a, int aOff, T[] b, int bOff, T[] c, int cOff, int i0, int i1, int k, int m, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T A = ref MemoryMarshal.GetArrayDataReference(a);
        ref T B = ref MemoryMarshal.GetArrayDataReference(b);
        ref T C = ref MemoryMarshal.GetArrayDataReference(c);
        int W = Vector<T>.Count;
        int rows = i1 - i0;
        int j = 0;
        if (rows == RowBlock && Vector.IsHardwareAccelerated)
        {
            nuint a0 = (nuint)(aOff + i0 * k), a1 = a0 + (nuint)k, a2 = a1 + (nuint)k, a3 = a2 + (nuint)k;
            nuint c0 = (nuint)(cOff + i0 * m), c1 = c0 + (nuint)m, c2 = c1 + (nuint)m, c3 = c2 + (nuint)m;
            for (; j + 2 * W <= m; j += 2 * W)
            {
                Vector<T> x00, x01, x10, x11, x20, x21, x30, x31;
                if (accumulate)
                {
                    x00 = Vector.LoadUnsafe(ref C, c0 + (nuint)j); x01 = Vector.LoadUnsafe(ref C, c0 + (nuint)(j + W));
                    x10 = Vector.LoadUnsafe(ref C, c1 + (nuint)j); x11 = Vector.LoadUnsafe(ref C, c1 + (nuint)(j + W));
                    x20 = Vector.LoadUnsafe(ref C, c2 + (nuint)j); x21 = Vector.LoadUnsafe(ref C, c2 + (nuint)(j + W));
                    x30 = Vector.LoadUnsafe(ref C, c3 + (nuint)j); x31 = Vector.LoadUnsafe(ref C, c3 + (nuint)(j + W));
                }
                else x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = Vector<T>.Zero;
                nuint bp = (nuint)(bOff + j);
                for (int p = 0; p < k; p++, bp += (nuint)m)
                {
                    var b0 = Vector.LoadUnsafe(ref B, bp);
                    var b1 = Vector.LoadUnsafe(ref B, bp + (nuint)W);
                    var v0 = new Vector<T>(Unsafe.Add(ref A, a0 + (nuint)p));
                    x00 = Fma(v0, b0, x00); x01 = Fma(v0, b1, x01);
                    var v1 = new Vector<T>(Unsafe.Add(ref A, a1 + (nuint)p));
                    x10 = Fma(v1, b0, x10); x11 = Fma(v1, b1, x11);
                    var v2 = new Vector<T>(Unsafe.Add(ref A, a2 + (nuint)p));
                    x20 = Fma(v2, b0, x20); x21 = Fma(v2, b1, x21);
                    var v3 = new Vector<T>(Unsafe.Add(ref A, a3 + (nuint)p));
                    x30 = Fma(v3, b0, x30); x31 = Fma(v3, b1, x31);
                }
                x00.StoreUnsafe(ref C, c0 + (nuint)j); x01.StoreUnsafe(ref C, c0 + (nuint)(j + W));
                x10.StoreUnsafe(ref C, c1 + (nuint)j); x11.StoreUnsafe(ref C, c1 + (nuint)(j + W));
                x20.StoreUnsafe(ref C, c2 + (nuint)j); x21.StoreUnsafe(ref C, c2 + (nuint)(j + W));
                x30.StoreUnsafe(ref C, c3 + (nuint)j); x31.StoreUnsafe(ref C, c3 + (nuint)(j + W));
            }
        }
        // Remaining columns (and short row blocks): one row, one vector at a time, then scalars.
        for (int i = i0; i < i1; i++)
        {
            nuint ai = (nuint)(aOff + i * k), ci = (nuint)(cOff + i * m);
            int jj = j;
            if (Vector.IsHardwareAccelerated)
                for (; jj + W <= m; jj += W)
                {
                    var x = accumulate ? Vector.LoadUnsafe(ref C, ci + (nuint)jj) : Vector<T>.Zero;
                    nuint bp = (nuint)(bOff + jj);
                    for (int p = 0; p < k; p++, bp += (nuint)m)
                        x = Fma(new Vector<T>(Unsafe.Add(ref A, ai + (nuint)p)), Vector.LoadUnsafe(ref B, bp), x);
                    x.StoreUnsafe(ref C, ci + (nuint)jj);
                }
            for (; jj < m; jj++)
            {
                T s = accumulate ? Unsafe.Add(ref C, ci + (nuint)jj) : T.Zero;
                nuint bp = (nuint)(bOff + jj);
                for (int p = 0; p < k; p++, bp += (nuint)m) s += Unsafe.Add(ref A, ai + (nuint)p) * Unsafe.Add(ref B, bp);
                Unsafe.Add(ref C, ci + (nuint)jj) = s;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector<T> Fma<T>(Vector<T> a, Vector<T> b, Vector<T> acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            return Vector.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), acc.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), acc.As<T, double>()).As<double, T>();
        return a * b + acc;
    }
}
