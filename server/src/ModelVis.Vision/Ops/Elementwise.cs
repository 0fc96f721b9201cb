using System.Numerics.Tensors;

namespace ModelVis.Vision.Ops;

public enum BinaryOp { Add, Sub, Mul, Div, Pow, Max, Min, PRelu }

/// <summary>Element-wise operators: activations and numpy-broadcasting binary arithmetic.</summary>
public static class Elementwise
{
    public static NdArray Map(NdArray x, Action<ReadOnlySpan<float>, Span<float>> op)
    {
        var result = new float[x.Length];
        op(x.Floats, result);
        return NdArray.Of(result, x.Shape);
    }

    public static NdArray Relu(NdArray x) => Map(x, (s, d) => TensorPrimitives.Max(s, 0f, d));

    public static NdArray LeakyRelu(NdArray x, float alpha) => Map(x, (s, d) =>
    {
        for (int i = 0; i < s.Length; i++) d[i] = s[i] >= 0 ? s[i] : s[i] * alpha;
    });

    public static NdArray Sigmoid(NdArray x) => Map(x, (s, d) => TensorPrimitives.Sigmoid(s, d));
    public static NdArray Tanh(NdArray x) => Map(x, (s, d) => TensorPrimitives.Tanh(s, d));
    public static NdArray Exp(NdArray x) => Map(x, (s, d) => TensorPrimitives.Exp(s, d));
    public static NdArray Sqrt(NdArray x) => Map(x, (s, d) => TensorPrimitives.Sqrt(s, d));
    public static NdArray Abs(NdArray x) => Map(x, (s, d) => TensorPrimitives.Abs(s, d));
    public static NdArray Neg(NdArray x) => Map(x, (s, d) => TensorPrimitives.Negate(s, d));

    public static NdArray Clip(NdArray x, float min, float max) => Map(x, (s, d) =>
    {
        TensorPrimitives.Max(s, min, d);
        TensorPrimitives.Min(d, max, d);
    });

    public static NdArray HardSigmoid(NdArray x, float alpha, float beta) => Map(x, (s, d) =>
    {
        for (int i = 0; i < s.Length; i++) d[i] = Math.Clamp(alpha * s[i] + beta, 0f, 1f);
    });

    public static NdArray HardSwish(NdArray x) => Map(x, (s, d) =>
    {
        for (int i = 0; i < s.Length; i++) d[i] = s[i] * Math.Clamp(s[i] / 6f + 0.5f, 0f, 1f);
    });

    /// <summary>Output shape of numpy broadcasting (right-aligned; a dimension of 1 stretches).</summary>
    public static int[] BroadcastShape(int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new VisionException($"shapes {NdArray.ShapeText(a)} and {NdArray.ShapeText(b)} do not broadcast");
            shape[i] = da == 1 ? db : da;
        }
        return shape;
    }

    /// <summary>Strides of <paramref name="shape"/> seen through the broadcast <paramref name="outShape"/> (0 where stretched).</summary>
    public static int[] BroadcastStrides(int[] shape, int[] outShape)
    {
        var strides = new int[outShape.Length];
        int stride = 1;
        for (int i = outShape.Length - 1; i >= 0; i--)
        {
            int k = i - (outShape.Length - shape.Length);
            int d = k >= 0 ? shape[k] : 1;
            strides[i] = d == 1 ? 0 : stride;
            stride *= d;
        }
        return strides;
    }

    public static NdArray Binary(BinaryOp op, NdArray a, NdArray b)
    {
        var shape = BroadcastShape(a.Shape, b.Shape);
        if (a.IsInteger && b.IsInteger && op != BinaryOp.PRelu) return BinaryLongs(op, a, b, shape);
        var x = a.Floats; var y = b.Floats;
        var result = new float[NdArray.ElementCount(shape)];
        if (result.Length == 0) return NdArray.Of(result, shape);
        if (x.Length == result.Length && y.Length == result.Length) { Inner(op, x, 1, y, 1, result); return NdArray.Of(result, shape); }
        int rank = shape.Length;
        var sa = BroadcastStrides(a.Shape, shape);
        var sb = BroadcastStrides(b.Shape, shape);
        int inner = shape[rank - 1];
        int outer = result.Length / inner;
        var index = new int[rank];
        for (int o = 0; o < outer; o++)
        {
            int offA = 0, offB = 0, rem = o;
            for (int d = rank - 2; d >= 0; d--)
            {
                int i = rem % shape[d]; rem /= shape[d];
                offA += i * sa[d]; offB += i * sb[d];
            }
            Inner(op, x.AsSpan(offA), sa[rank - 1], y.AsSpan(offB), sb[rank - 1], result.AsSpan(o * inner, inner));
        }
        return NdArray.Of(result, shape);
    }

    /// <summary>One row: each operand either runs along it (stride 1) or stays fixed (stride 0).</summary>
    static void Inner(BinaryOp op, ReadOnlySpan<float> a, int strideA, ReadOnlySpan<float> b, int strideB, Span<float> d)
    {
        int n = d.Length;
        if (strideA == 1 && strideB == 1)
        {
            a = a[..n]; b = b[..n];
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(a, b, d); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, d); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, d); return;
                case BinaryOp.Div: TensorPrimitives.Divide(a, b, d); return;
            }
        }
        else if (strideA == 1 && strideB == 0)
        {
            a = a[..n]; float s = b[0];
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(a, s, d); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(a, s, d); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(a, s, d); return;
                case BinaryOp.Div: TensorPrimitives.Divide(a, s, d); return;
            }
        }
        for (int i = 0; i < n; i++) d[i] = Apply(op, a[i * strideA], b[i * strideB]);
    }

    static float Apply(BinaryOp op, float x, float y) => op switch
    {
        BinaryOp.Add => x + y,
        BinaryOp.Sub => x - y,
        BinaryOp.Mul => x * y,
        BinaryOp.Div => x / y,
        BinaryOp.Pow => MathF.Pow(x, y),
        BinaryOp.Max => Math.Max(x, y),
        BinaryOp.Min => Math.Min(x, y),
        BinaryOp.PRelu => x >= 0 ? x : x * y,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    static NdArray BinaryLongs(BinaryOp op, NdArray a, NdArray b, int[] shape)
    {
        var x = a.Longs; var y = b.Longs;
        var result = new long[NdArray.ElementCount(shape)];
        var sa = BroadcastStrides(a.Shape, shape);
        var sb = BroadcastStrides(b.Shape, shape);
        for (int o = 0; o < result.Length; o++)
        {
            int offA = 0, offB = 0, rem = o;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                int i = rem % shape[d]; rem /= shape[d];
                offA += i * sa[d]; offB += i * sb[d];
            }
            long u = x[offA], v = y[offB];
            result[o] = op switch
            {
                BinaryOp.Add => u + v,
                BinaryOp.Sub => u - v,
                BinaryOp.Mul => u * v,
                BinaryOp.Div => v == 0 ? throw new VisionException("integer division by zero") : u / v,
                BinaryOp.Max => Math.Max(u, v),
                BinaryOp.Min => Math.Min(u, v),
                BinaryOp.Pow => (long)Math.Pow(u, v),
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            };
        }
        return NdArray.OfLongs(result, shape);
    }
}
