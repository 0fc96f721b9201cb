using System.Numerics.Tensors;

namespace ModelVis.Tensors;

/// <summary>Element-wise activation functions, in place. Large spans are split over the cores.</summary>
public static class Activations
{
    const int Chunk = 16384;

    /// <summary>GELU with the exact error function (BERT's "gelu"): x · ½(1 + erf(x/√2)).</summary>
    public static void GeluExact(Span<float> x) => Chunked(x, static c =>
    {
        for (int i = 0; i < c.Length; i++)
        {
            double v = c[i];
            c[i] = (float)(0.5 * v * (1.0 + Erf(v * 0.70710678118654752440)));
        }
    });

    /// <summary>GELU, tanh approximation (GPT-2's "gelu_new"): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    public static void GeluTanh(Span<float> x) => Chunked(x, static c =>
    {
        const float s = 0.7978845608028654f; // sqrt(2/pi)
        Span<float> inner = stackalloc float[Math.Min(c.Length, 1024)];
        for (int start = 0; start < c.Length; start += inner.Length)
        {
            var xs = c.Slice(start, Math.Min(inner.Length, c.Length - start));
            var t = inner[..xs.Length];
            // Same order of operations as the reference: 0.5·x · (1 + tanh(s · (x + 0.044715·x³))).
            TensorPrimitives.Multiply(xs, xs, t);
            TensorPrimitives.Multiply(t, xs, t);                  // x³
            TensorPrimitives.Multiply(t, 0.044715f, t);
            TensorPrimitives.Add(t, xs, t);
            TensorPrimitives.Multiply(t, s, t);
            TensorPrimitives.Tanh(t, t);
            TensorPrimitives.Add(t, 1f, t);
            TensorPrimitives.Multiply(xs, 0.5f, xs);
            TensorPrimitives.Multiply(xs, t, xs);
        }
    });

    /// <summary>SiLU (swish): x · σ(x).</summary>
    public static void Silu(Span<float> x) => Chunked(x, static c =>
    {
        Span<float> sig = stackalloc float[Math.Min(c.Length, 1024)];
        for (int start = 0; start < c.Length; start += sig.Length)
        {
            var xs = c.Slice(start, Math.Min(sig.Length, c.Length - start));
            var s = sig[..xs.Length];
            TensorPrimitives.Sigmoid(xs, s);
            TensorPrimitives.Multiply(xs, s, xs);
        }
    });

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

    /// <summary>
    /// erf(x) to double precision's float needs: Abramowitz–Stegun 7.1.28-class accuracy is not enough for a
    /// 1e-6 check, so this uses the series for small |x| and a continued fraction (via erfc) for large |x|.
    /// </summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax < 2.5)
        {
            // Maclaurin series: erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)); converges fast for |x| < 2.5.
            double sum = x, term = x, x2 = x * x;
            for (int n = 1; n < 60; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            return 1.1283791670955126 * sum;
        }
        if (ax > 6) return Math.Sign(x);
        // erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz-free backward evaluation).
        double f = 0;
        for (int k = 60; k >= 1; k--) f = k / 2.0 / (ax + f);
        double erfc = Math.Exp(-ax * ax) / 1.7724538509055160 / (ax + f);
        return Math.Sign(x) * (1 - erfc);
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
