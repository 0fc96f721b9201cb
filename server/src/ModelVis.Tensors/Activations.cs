using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelVis.Tensors;

/// <summary>Element-wise activation functions, in place. Large spans are split over the cores.</summary>
public static class Activations
{
    const int Chunk = 16384;

    /// <summary>GELU with the exact error function (BERT's "gelu"): x · ½(1 + erf(x/√2)).</summary>
    public static void GeluExact(Span<float> x) => Chunked(x, static c => Map(c, new GeluExactOp()));

    /// <summary>GELU, tanh approximation (GPT-2's "gelu_new"): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    public static void GeluTanh(Span<float> x) => Chunked(x, static c => Map(c, new GeluTanhOp()));

    /// <summary>SiLU (swish): x · σ(x).</summary>
    public static void Silu(Span<float> x) => Chunked(x, static c => Map(c, new SiluOp()));

    /// <summary>
    /// The SwiGLU gate: rows of <c>[gate | up]</c> (2 × <paramref name="width"/> each) → <c>silu(gate) · up</c> [rows, width].
    /// </summary>
    public static unsafe void SiluGate(ReadOnlySpan<float> gateUp, int rows, int width, Span<float> output)
    {
        if (gateUp.Length < (long)rows * 2 * width || output.Length < (long)rows * width) throw new ArgumentException("gate/up and output sizes do not match");
        fixed (float* pg = gateUp)
        fixed (float* po = output)
        {
            nint g = (nint)pg, o = (nint)po;
            int rowsPerItem = Math.Max(1, Chunk / Math.Max(1, width));
            int items = (rows + rowsPerItem - 1) / rowsPerItem;
            void Body(int item)
            {
                int r1 = Math.Min(rows, (item + 1) * rowsPerItem);
                for (int r = item * rowsPerItem; r < r1; r++)
                {
                    var gate = new ReadOnlySpan<float>((float*)g + (long)r * 2 * width, width);
                    var up = new ReadOnlySpan<float>((float*)g + (long)r * 2 * width + width, width);
                    SiluGate(gate, up, new Span<float>((float*)o + (long)r * width, width));
                }
            }
            if (items == 1 || Parallelism.Threads == 1 || (long)rows * width < 2 * Chunk) for (int i = 0; i < items; i++) Body(i);
            else Parallelism.ForEach(items, Body);
        }
    }

    /// <summary>
    /// A gated MLP's middle: rows of <c>[gate | up]</c> (2 × <paramref name="width"/> each) → <c>act(gate) · up</c> [rows, width],
    /// <paramref name="activation"/> by its Hugging Face name (SwiGLU fused; others apply the activation to the gate in place).
    /// </summary>
    public static void Gate(string activation, Span<float> gateUp, int rows, int width, Span<float> output)
    {
        if (activation is "silu" or "swish")
        {
            SiluGate(gateUp, rows, width, output);
            return;
        }
        for (int i = 0; i < rows; i++)
        {
            var gate = gateUp.Slice(i * 2 * width, width);
            Apply(activation, gate);
            TensorPrimitives.Multiply(gate, gateUp.Slice(i * 2 * width + width, width), output.Slice(i * width, width));
        }
    }

    // ---------------------------------------------------------------- fused element-wise kernels

    interface IUnaryOp
    {
        float Invoke(float x);
        Vector512<float> Invoke(Vector512<float> x);
        Vector256<float> Invoke(Vector256<float> x);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Map<TOp>(Span<float> x, TOp op) where TOp : struct, IUnaryOp
    {
        int i = 0;
        ref float start = ref MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= x.Length; i += 16)
                op.Invoke(Vector512.LoadUnsafe(ref start, (nuint)i)).StoreUnsafe(ref start, (nuint)i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= x.Length; i += 8)
                op.Invoke(Vector256.LoadUnsafe(ref start, (nuint)i)).StoreUnsafe(ref start, (nuint)i);
        for (; i < x.Length; i++) x[i] = op.Invoke(x[i]);
    }

    /// <summary>The SwiGLU gate on separate spans: <c>output = silu(gate) · up</c>, element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SiluGate(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> output)
    {
        if (up.Length < gate.Length || output.Length < gate.Length) throw new ArgumentException("gate, up and output sizes do not match");
        var op = new SiluOp();
        int i = 0;
        ref float g = ref MemoryMarshal.GetReference(gate);
        ref float u = ref MemoryMarshal.GetReference(up);
        ref float o = ref MemoryMarshal.GetReference(output);
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= gate.Length; i += 16)
                (op.Invoke(Vector512.LoadUnsafe(ref g, (nuint)i)) * Vector512.LoadUnsafe(ref u, (nuint)i)).StoreUnsafe(ref o, (nuint)i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= gate.Length; i += 8)
                (op.Invoke(Vector256.LoadUnsafe(ref g, (nuint)i)) * Vector256.LoadUnsafe(ref u, (nuint)i)).StoreUnsafe(ref o, (nuint)i);
        for (; i < gate.Length; i++) output[i] = op.Invoke(gate[i]) * up[i];
    }

    /// <summary>x·σ(x) = x / (1 + e^(−x)).</summary>
    readonly struct SiluOp : IUnaryOp
    {
        public float Invoke(float x) => x / (1f + MathF.Exp(-x));
        public Vector512<float> Invoke(Vector512<float> x) => x / (Vector512<float>.One + Vector512.Exp(-x));
        public Vector256<float> Invoke(Vector256<float> x) => x / (Vector256<float>.One + Vector256.Exp(-x));
    }

    /// <summary>½x(1 + tanh u) = x·σ(2u) = x / (1 + e^(−2u)), u = √(2/π)(x + 0.044715x³): one exponential, no cancellation.</summary>
    readonly struct GeluTanhOp : IUnaryOp
    {
        const float A = -2f * 0.7978845608028654f, B = -2f * 0.7978845608028654f * 0.044715f;
        public float Invoke(float x) => x / (1f + MathF.Exp(x * (A + B * x * x)));
        public Vector512<float> Invoke(Vector512<float> x) =>
            x / (Vector512<float>.One + Vector512.Exp(x * (Vector512.Create(A) + Vector512.Create(B) * x * x)));
        public Vector256<float> Invoke(Vector256<float> x) =>
            x / (Vector256<float>.One + Vector256.Exp(x * (Vector256.Create(A) + Vector256.Create(B) * x * x)));
    }

    /// <summary>
    /// x·½(1 + erf(x/√2)) written with erfc so neither tail cancels: x − ½x·erfc(x/√2) for x ≥ 0, ½x·erfc(−x/√2) below.
    /// erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2), the Chebyshev fit of Numerical Recipes (relative error &lt; 1.2e-7).
    /// </summary>
    readonly struct GeluExactOp : IUnaryOp
    {
        public float Invoke(float x)
        {
            float z = MathF.Abs(x) * 0.70710678f;
            float t = 1f / (1f + 0.5f * z);
            float e = t * MathF.Exp(-z * z + Poly(t));
            return x >= 0 ? x - 0.5f * x * e : 0.5f * x * e;
        }

        public Vector512<float> Invoke(Vector512<float> x)
        {
            var z = Vector512.Abs(x) * Vector512.Create(0.70710678f);
            var t = Vector512<float>.One / (Vector512<float>.One + Vector512.Create(0.5f) * z);
            var p = Vector512.Create(0.17087277f);
            foreach (var c in Coefficients) p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(c));
            var half = Vector512.Create(0.5f) * x * (t * Vector512.Exp(p - z * z));
            return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), x - half, half);
        }

        public Vector256<float> Invoke(Vector256<float> x)
        {
            var z = Vector256.Abs(x) * Vector256.Create(0.70710678f);
            var t = Vector256<float>.One / (Vector256<float>.One + Vector256.Create(0.5f) * z);
            var p = Vector256.Create(0.17087277f);
            foreach (var c in Coefficients) p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(c));
            var half = Vector256.Create(0.5f) * x * (t * Vector256.Exp(p - z * z));
            return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), x - half, half);
        }

        static float Poly(float t)
        {
            float p = 0.17087277f;
            foreach (var c in Coefficients) p = p * t + c;
            return p;
        }

        /// <summary>P(t) from the highest power down (after 0.17087277).</summary>
        static ReadOnlySpan<float> Coefficients => [-0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f];
    }

    /// <summary>Soft-capping (Gemma 2): x ← cap · tanh(x / cap), in place; bounds x to (−cap, cap), near-identity for small x.</summary>
    public static void SoftCap(Span<float> x, float cap)
    {
        TensorPrimitives.Divide(x, cap, x);
        TensorPrimitives.Tanh(x, x);
        TensorPrimitives.Multiply(x, cap, x);
    }

    /// <summary>Applies an activation by its Hugging Face name (hidden_act / activation_function).</summary>
    public static void Apply(string name, Span<float> x)
    {
        switch (name)
        {
            case "gelu": GeluExact(x); break;
            case "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast": GeluTanh(x); break;
            case "silu" or "swish": Silu(x); break;
            case "relu": TensorPrimitives.Max(x, 0f, x); break;
            default: throw new ArgumentException($"unknown activation \"{name}\"");
        }
    }

    public static bool IsKnown(string name) => name is "gelu" or "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" or "silu" or "swish" or "relu";

    /// <summary>erf(x) in double precision (references, gradient checks, the exact GELU of training in double).</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        double ax = Math.Abs(x);
        return Math.Sign(x) * (ax < 3 ? ErfSeries(ax) : 1 - ErfcFraction(ax));
    }

    /// <summary>erfc(x) = 1 − erf(x), without the cancellation of 1 − erf in the upper tail.</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        double ax = Math.Abs(x);
        if (ax < 3) return 1 - Math.Sign(x) * ErfSeries(ax);
        double tail = ErfcFraction(ax);
        return x >= 0 ? tail : 2 - tail;
    }

    /// <summary>The Maclaurin series erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n!(2n+1)), for 0 ≤ x &lt; 3.</summary>
    static double ErfSeries(double x)
    {
        double sum = x, term = x, x2 = x * x;
        for (int n = 1; n < 200; n++)
        {
            term *= -x2 / n;
            double add = term / (2 * n + 1);
            sum += add;
            if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
        }
        return 1.1283791670955126 * sum;
    }

    /// <summary>erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated bottom-up, for x ≥ 3.</summary>
    static double ErfcFraction(double x)
    {
        double f = x;
        for (int n = 60; n >= 1; n--) f = x + n * 0.5 / f;
        return Math.Exp(-x * x) / 1.7724538509055160 / f;
    }

    delegate void SpanAction(Span<float> chunk);

    static unsafe void Chunked(Span<float> x, SpanAction body)
    {
        if (x.Length < 2 * Chunk || Parallelism.Threads == 1)
        {
            body(x);
            return;
        }
        fixed (float* p = x)
        {
            nint ptr = (nint)p;
            int length = x.Length, chunks = (length + Chunk - 1) / Chunk;
            Parallelism.ForEach(chunks, i =>
            {
                int start = i * Chunk;
                body(new Span<float>((float*)ptr + start, Math.Min(Chunk, length - start)));
            });
        }
    }
}
