using System.Numerics.Tensors;
using ModelVis.Tensors;

namespace ModelVis.Vision.Ops;

/// <summary>Fully connected layers: ONNX Gemm and numpy-style MatMul.</summary>
public static class Linear
{
    /// <summary>Y = alpha · A' · B' + beta · C, where A' = transA ? Aᵀ : A and B' likewise.</summary>
    public static NdArray Gemm(NdArray a, NdArray b, NdArray? c, float alpha, float beta, bool transA, bool transB)
    {
        if (a.Rank != 2 || b.Rank != 2) throw new VisionException($"Gemm expects 2-D operands, got {a.ShapeString} and {b.ShapeString}");
        var rowsA = transA ? Transpose2D(a.Floats, a.Shape[0], a.Shape[1]) : a.Floats;
        int m = transA ? a.Shape[1] : a.Shape[0], k = transA ? a.Shape[0] : a.Shape[1];
        int kb = transB ? b.Shape[1] : b.Shape[0], n = transB ? b.Shape[0] : b.Shape[1];
        if (k != kb) throw new VisionException($"Gemm: inner dimensions differ ({k} vs {kb}) for A {a.ShapeString}{(transA ? "ᵀ" : "")} and B {b.ShapeString}{(transB ? "ᵀ" : "")}");
        var y = new float[m * n];
        if (m > 0 && n > 0 && k > 0)
            Tensors.MatMul.Multiply(rowsA, m, transB ? new TransposedMatrix(b.Floats, n, k) : new RowMajorMatrix(b.Floats, k, n), y);
        if (alpha != 1) TensorPrimitives.Multiply(y, alpha, y);
        if (c != null && beta != 0)
        {
            var cv = Elementwise.Binary(BinaryOp.Add, NdArray.Zeros(m, n), c).Floats; // C broadcast to [M, N]
            if (cv.Length != y.Length) throw new VisionException($"Gemm: C {c.ShapeString} does not broadcast to [{m}, {n}]");
            if (beta == 1) TensorPrimitives.Add(y, cv, y);
            else TensorPrimitives.MultiplyAdd(cv, beta, y, y);
        }
        return NdArray.Of(y, m, n);
    }

    /// <summary>numpy matmul: 1-D operands are promoted, leading (batch) dimensions broadcast.</summary>
    public static NdArray MatMul(NdArray a, NdArray b)
    {
        var sa = a.Rank == 1 ? new[] { 1, a.Shape[0] } : a.Shape;
        var sb = b.Rank == 1 ? new[] { b.Shape[0], 1 } : b.Shape;
        int m = sa[^2], k = sa[^1], kb = sb[^2], n = sb[^1];
        if (k != kb) throw new VisionException($"MatMul: inner dimensions differ for {a.ShapeString} and {b.ShapeString}");
        var batchA = sa[..^2]; var batchB = sb[..^2];
        var batch = Elementwise.BroadcastShape(batchA, batchB);
        int count = NdArray.ElementCount(batch);
        var stA = Elementwise.BroadcastStrides(batchA, batch);
        var stB = Elementwise.BroadcastStrides(batchB, batch);
        var x = a.Floats; var w = b.Floats;
        var y = new float[count * m * n];
        for (int i = 0; i < count && m > 0 && n > 0 && k > 0; i++)
        {
            int offA = 0, offB = 0, rem = i;
            for (int d = batch.Length - 1; d >= 0; d--)
            {
                int idx = rem % batch[d]; rem /= batch[d];
                offA += idx * stA[d]; offB += idx * stB[d];
            }
            Tensors.MatMul.Multiply(x.AsSpan(offA * m * k, m * k), m, new RowMajorMatrix(w.AsMemory(offB * k * n, k * n), k, n), y.AsSpan(i * m * n, m * n));
        }
        var shape = new List<int>(batch);
        if (a.Rank != 1) shape.Add(m);
        if (b.Rank != 1) shape.Add(n);
        return NdArray.Of(y, shape.ToArray());
    }

    public static float[] Transpose2D(ReadOnlySpan<float> src, int rows, int cols)
    {
        var dst = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
        return dst;
    }
}
